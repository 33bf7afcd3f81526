"""Blank forms rendered once per web process and put together with each request's CSRF token.

A form a page shows empty (no data, no errors: a failed post redirects back with a flash) is
the same markup for every reader but one value, its CSRF token. WTForms builds such a form
field by field, option by option, each label a lazy translation: the contract page's three
officer forms were 14 000 of its 36 000 Python calls (issue 16). Here a form's markup is
rendered the first time with the request's token, kept with the token cut out, and given
back with the current request's token put in.

The key says everything the markup depends on besides the language and the application
root (both added here): the template and, for example, the contract's id and status. A
template rendered here sees only what it is given (and the environment's globals).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

#: Stands for the token in a kept form (cannot occur in markup: a NUL is refused on input).
HOLE = "\x00csrf\x00"
MAX_ENTRIES = 2048

_lock = threading.Lock()


def _store() -> OrderedDict:
    return current_app.extensions.setdefault("blank_forms", OrderedDict())


def blank(template: str, key: tuple, context: Callable[[], dict]) -> Markup:
    """The markup of ``template`` rendered with ``context()``, kept per ``key`` and language,
    with this request's CSRF token."""
    token = generate_csrf()
    full_key = (template, *key, str(get_locale()), request.script_root)
    store = _store()
    with _lock:
        kept = store.get(full_key)
        if kept is not None:
            store.move_to_end(full_key)
    if kept is None:
        html = current_app.jinja_env.get_template(template).render(**context())
        if token not in html and current_app.config.get("WTF_CSRF_ENABLED", True):
            raise ValueError(f"{template}: a blank form without its CSRF token cannot be kept")
        kept = html.replace(token, HOLE)  # (with CSRF off, as in most tests, there is none)
        with _lock:
            store[full_key] = kept
            while len(store) > MAX_ENTRIES:
                store.popitem(last=False)
    # Our own template, escaped by its autoescape; the token is URL-safe base64 and a dot.
    return Markup(kept.replace(HOLE, token))  # noqa: S704
