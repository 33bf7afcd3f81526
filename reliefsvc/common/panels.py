"""Panels that other domains add to a page they do not own.

The contract page, the record page and the home page belong to their domains, yet
integrity flags, hiring risk and spot checks each have something to show there. A domain
registers a panel (a template and a function that returns its context, or ``None`` to
stay hidden) when its views are imported; the owning view renders whatever is
registered, in ``order``. No page needs to know which domains exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[..., dict | None]
    order: int = 50


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


def register(page: str, name: str, template: str, context: Callable[..., dict | None], order: int = 50) -> None:
    """Add (or replace, by name) a panel on ``page``."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}")
    _PANELS[page][name] = Panel(name, template, context, order)


def render(page: str, *args) -> list[tuple[Panel, dict]]:
    """The panels of ``page`` that have something to show, with their contexts."""
    shown = []
    for panel in sorted(_PANELS[page].values(), key=lambda p: (p.order, p.name)):
        context = panel.context(*args)
        if context is not None:
            shown.append((panel, context))
    return shown
