"""A short cache of the pages' figures (issue 16), per scope, never across scopes.

The officer's and the provider manager's home pages sum counters over a whole province
(about thirty statements and the province's thousand contracts at a million records); a
contract page's panels read the contract's assessments, spot checks, payments, flags and
alert checks. The figures change through the day, but nobody decides anything on a number
that is a minute old, so each web process keeps the figures it computed for at most
``PAGE_FIGURES_SECONDS`` (60 s, never more) and shows when they were computed
("数据更新于 HH:MM"). Forms, buttons and anything the user acts on are never kept: only
the read-only figures beside them.

What may share an entry — the scope — is exactly what the figures are computed from:

* an **officer**: every officer sees the whole county or province (``_scoped`` and
  ``Case.visible_filter`` give the bureau everything), so officers share one entry;
* a **provider manager**: the figures of their organisation's contracts and households
  only, so one entry per organisation — a provider never sees another's figures;
* every other role is computed on each request (its page is small or personal).

The language and the application root are part of the key (the entry holds rendered
text and links).

A user's own changes show at once: after any write request of theirs commits, their
session carries the time (``figures_after``), and an entry computed before it is not
used for them (it is computed again, and the new entry serves the rest of the scope).
Someone else's change shows within the time above. A request's entry is stamped with the
moment that request began, less a second, so an entry whose reads may have started before
a commit counts as older than it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale

from reliefsvc.extensions import db
from reliefsvc.security.models import Role

#: The longest the figures may be kept (the bureau's decision: docs/dashboards-and-ledgers.md).
MAX_SECONDS = 60
#: Default when the configuration does not say (tests run without the cache unless they ask).
DEFAULT_SECONDS = 60
#: The session key holding the time of the user's last committed write request.
MARK = "figures_after"
#: How much earlier than its request's start an entry is stamped (reads that began before).
SLACK = 1.0
#: Entries kept per web process (one per officer language and one per provider organisation).
MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class Entry:
    value: Any
    #: time.time() at the start of the request that computed it, less SLACK
    stamp: float
    #: time.time() when it was computed (shown on the page)
    computed_at: float


class FigureCache:
    """Entries by key, the least recently used dropped beyond ``MAX_ENTRIES``; thread-safe
    (gunicorn's threads share a process)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}
        self.max_entries = max_entries

    def computing(self, key: tuple) -> threading.Lock:
        """The lock a thread holds while it computes ``key`` (the others of its process wait for
        its entry rather than all computing the same figures when an entry runs out). Locks
        not held are let go beyond twice ``max_entries`` keys (the record list's counts are
        kept per filter: their keys have no end); a key whose lock was let go while a thread
        waited for it is at worst computed twice."""
        with self._lock:
            if key not in self._computing and len(self._computing) >= 2 * self.max_entries:
                for idle in [k for k, lock in self._computing.items() if not lock.locked()]:
                    del self._computing[idle]
            return self._computing.setdefault(key, threading.Lock())

    def get(self, key: tuple) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def of_app(app=None) -> FigureCache:
    app = app or current_app
    return app.extensions.setdefault("page_figures", FigureCache())


def seconds() -> float:
    """How long an entry serves: the setting, at most MAX_SECONDS; 0 turns the cache off."""
    app = current_app
    value = app.config.get("PAGE_FIGURES_SECONDS")
    if value is None:
        value = 0 if app.testing else DEFAULT_SECONDS
    return max(0.0, min(float(value), MAX_SECONDS))


def scope_of(user) -> tuple | None:
    """What the user's home figures are computed from, or None: not cached for this user."""
    if user.role is Role.OFFICER:
        return ("officer",)
    if user.role is Role.PROVIDER_MANAGER and user.organisation_id is not None:
        return ("provider_manager", int(user.organisation_id))
    return None


def request_started() -> None:
    """Before each request: the time its entries will be stamped with."""
    g.figures_started = time.time()


def mark_own_change() -> None:
    """After a write request of the signed-in user committed: their next page must not show
    figures computed before it."""
    session[MARK] = time.time()


def cached(user, name: str, compute: Callable[[], Any], *key_parts) -> tuple[Any, float | None]:
    """(value, time it was computed or None when not cached) of ``compute()`` for the user's
    scope; ``key_parts`` say which of the page's objects the figures are of (a contract's id)."""
    ttl = seconds()
    scope = scope_of(user)
    if not ttl or scope is None:
        return compute(), None
    key = (name, *key_parts, *scope, str(get_locale()), request.script_root)
    store = of_app()
    after = float(session.get(MARK, 0.0))

    def usable(entry: Entry | None) -> bool:
        return entry is not None and time.time() - entry.computed_at < ttl and entry.stamp > after

    entry = store.get(key)
    if usable(entry):
        return entry.value, entry.computed_at
    with store.computing(key):
        entry = store.get(key)  # another thread of this process may have just computed it
        if usable(entry):
            return entry.value, entry.computed_at
        started = float(g.get("figures_started", time.time()))
        value = compute()
        done = time.time()
        store.put(key, Entry(value, started - SLACK, done))
    return value, done


def init_app(app) -> None:
    app.before_request(request_started)


@sa.event.listens_for(db.session, "after_commit")
def _own_change(_session) -> None:
    # A write request of the signed-in user committed: their next page computes its figures
    # again. Signed in = Flask-Login's user id in the session (no attribute of the user is
    # read: the transaction is over, a read would query); nothing is marked for an anonymous
    # request or after a logout (which empties the session).
    if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS") and "_user_id" in session:
        mark_own_change()
