"""Annual evaluation (年度评估) of each contract and execution year, and its report."""
