"""Assessment standards, periodic assessments and field inspections (section 十四)."""
