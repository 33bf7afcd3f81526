"""Every audit test gets its own anchor file (issue 15).

Each test's entries are rolled back, but a shared ``instance/audit-anchors.log`` would keep
the heads anchored by earlier tests (the jobs tests run ``audit.verify``) and report this
test's shorter log as truncated.
"""

import pytest


@pytest.fixture(autouse=True)
def anchor_file(app, tmp_path):
    path = tmp_path / "audit-anchors.log"
    previous = app.config.get("AUDIT_ANCHOR_FILE")
    app.config["AUDIT_ANCHOR_FILE"] = str(path)
    yield path
    if previous is None:
        app.config.pop("AUDIT_ANCHOR_FILE", None)
    else:
        app.config["AUDIT_ANCHOR_FILE"] = previous
