"""Providers (承接主体), their staff rosters, vetting and declared relations."""
