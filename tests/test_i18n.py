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


def test_templates_follow_the_locale_of_the_moment(app):
    """The templates' quick catalogue lookup (web.translations) obeys the request's language
    and force_locale inside it, as Flask-Babel's own lookup does."""
    from flask import render_template_string, session
    from flask_babel import force_locale, refresh

    with app.test_request_context("/"):
        session["locale"] = "zh_CN"
        assert render_template_string("{{ _('Contracts') }}") == "合同"
        with force_locale("en"):
            assert render_template_string("{{ _('Contracts') }}") == "Contracts"
        assert render_template_string("{{ _('Contracts') }}") == "合同"
        session["locale"] = "en"
        refresh()
        assert render_template_string("{{ _('Contracts') }}") == "Contracts"


def test_the_menu_marks_the_page_it_is_on(client, login, create_user):
    """The main menu is kept rendered (web.nav_html); the page's own entry, and the group it is
    in, are marked active on each page, and only they."""
    import re

    login(create_user("officer"))
    for path, endpoint in (("/records/", "records.index"), ("/contracts/", "contracts.index"),
                           ("/spotchecks/", "spotchecks.index")):
        page = client.get(path).get_data(as_text=True)
        nav = re.search(r'<ul class="navbar-nav[^"]*" data-testid="nav">.*?\n      </ul>', page, re.S).group(0)
        active = re.findall(r'data-endpoint="([^"]+)" class="(?:nav-link|dropdown-item) active"', nav)
        assert active == [endpoint], (path, active)
    # spot checks sit in a group: its toggle is marked, and no other
    assert len(re.findall(r'class="nav-link dropdown-toggle btn btn-link active"', page)) == 1
