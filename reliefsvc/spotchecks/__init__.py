"""Random spot checks (随机抽查): seeded draws, sample sizes, estimates, assignment."""
