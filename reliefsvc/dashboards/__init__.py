"""Dashboards by role (the home page): fixed aggregate queries, SVG charts (issue 13)."""
