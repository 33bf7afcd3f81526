"""Panels that other domains add to a page they do not own.

The contract page, the record page and the home page belong to their domains, yet
integrity flags, hiring risk and spot checks each have something to show there. A domain
registers a panel (a template and a function that returns its context, or ``None`` to
stay hidden) when its views are imported; the owning view renders whatever is
registered, in ``order``. No page needs to know which domains exist.

A panel registered ``kept=True`` shows read-only figures (no form, nothing that depends on
the reader beyond their scope — see :mod:`reliefsvc.common.pagecache`): a page that passes
``keep`` (which object it is of) has those panels rendered once and kept a minute per scope,
and its ``_panels.html`` inserts their HTML.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from reliefsvc.common import pagecache


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[..., dict | None]
    order: int = 50
    kept: bool = False


_PANELS: dict[str, dict[str, Panel]] = defaultdict(dict)

#: The pages that take panels, and what their context functions receive.
PAGES = {
    "contract": "context(contract, user)",
    "record": "context(record, user)",
    "home": "context(user)",
    "provider": "context(provider, user)",
    # issue 12: the vetting page, where the provider's signed annual evaluations are seen
    "vetting": "context(vetting, user)",
}


def register(page: str, name: str, template: str, context: Callable[..., dict | None], order: int = 50,
             kept: bool = False) -> None:
    """Add (or replace, by name) a panel on ``page``; ``kept``: its figures may be kept (above)."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}")
    _PANELS[page][name] = Panel(name, template, context, order, kept)


def render(page: str, *args, keep: tuple | None = None) -> list[tuple[Panel, dict]]:
    """The panels of ``page`` that have something to show, with their contexts. With ``keep``
    (the page's object, e.g. ``("contract", 7)``) the ``kept`` panels come rendered, as
    ``{"kept_html": Markup}``, from the cache of the user's scope (the last of ``args``); their
    templates see ``p``, ``panel``, ``current_user`` and the page's object by the page's name
    (``contract``), as when the page includes them."""
    ordered = sorted(_PANELS[page].values(), key=lambda p: (p.order, p.name))
    kept: dict[str, Markup | None] = {}
    if keep is not None:
        user = args[-1]

        def compute() -> dict[str, Markup | None]:
            rendered = {}
            for panel in ordered:
                if panel.kept:
                    context = panel.context(*args)
                    # Our own template, escaped by its autoescape: safe to insert as it is.
                    rendered[panel.name] = None if context is None else Markup(  # noqa: S704
                        current_app.jinja_env.get_template(panel.template).render(
                            p=context, panel=panel, current_user=user, **{page: args[0]}))
            return rendered

        kept = pagecache.cached(user, f"panels:{page}", compute, *keep)[0]
    shown = []
    for panel in ordered:
        if panel.name in kept:
            if kept[panel.name] is not None:
                shown.append((panel, {"kept_html": kept[panel.name]}))
            continue
        context = panel.context(*args)
        if context is not None:
            shown.append((panel, context))
    return shown
