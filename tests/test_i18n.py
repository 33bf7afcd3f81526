"""Every word a user reads has its Chinese translation."""

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "reliefsvc" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def _source_messages() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for folder, method in (("reliefsvc", "python"), ("templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[(pattern, method)], keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_chinese_translation():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    missing = sorted(m for m in _source_messages() if not translated.get(m))
    assert missing == [], "run `make translations` and translate: " + "; ".join(missing)


def test_pages_switch_to_english(client):
    client.post("/locale", data={"locale": "en"})
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in page and "Log in" in page and "登录" not in page
