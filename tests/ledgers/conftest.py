"""The ledger tests use the small county of the dashboard tests."""

from tests.dashboards.conftest import county  # noqa: F401 — a fixture, shared
