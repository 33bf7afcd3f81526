"""The docs stay true to the code: every setting the code reads is in the operator's guide."""

import re
from pathlib import Path

from reliefsvc.config import Defaults

ROOT = Path(__file__).resolve().parent.parent
#: app.config["X"], config.get("X"), config.setdefault("X", ...) anywhere in the package
READ = re.compile(r"config(?:\.get|\.setdefault)?\(?\[?\s*\"([A-Z][A-Z0-9_]{2,})\"")


def _settings_the_code_reads() -> set[str]:
    found = {name for name in vars(Defaults) if name.isupper()}
    for path in (ROOT / "reliefsvc").rglob("*.py"):
        found |= set(READ.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_setting_is_in_the_operators_guide():
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", guide))
    missing = sorted(_settings_the_code_reads() - documented)
    assert missing == [], "add to docs/operations.md (Settings): " + ", ".join(missing)


def test_the_reader_finds_settings_written_every_way():
    sample = 'a = app.config["ONE_X"]; b = current_app.config.get("TWO_X", 1); app.config.setdefault("THREE_X", 2)'
    assert set(READ.findall(sample)) == {"ONE_X", "TWO_X", "THREE_X"}


def test_every_screenshot_the_readme_shows_is_in_the_repository():
    """They are taken by tests/e2e/test_tours.py; a new one must be taken before it is shown."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"\((docs/screenshots/[\w.-]+\.png)\)", readme)
    assert [name for name in shown if not (ROOT / name).is_file()] == []
