"""Disguised-hiring risk (section 十三): tell purchased services apart from a payroll in disguise."""
