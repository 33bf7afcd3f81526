"""Payments on results and the providers' fund-use reports (sections 六 to 八)."""
