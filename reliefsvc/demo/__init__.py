"""The demo county: Kangle County (康乐县), built step by step in dependency order.

Each step is a function ``step(ctx)`` in a module of this package; later issues add their
steps to ``STEPS``. Everything is drawn from one seeded ``random.Random`` so that two
loads give the same county.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sqlalchemy as sa

from reliefsvc.extensions import db

DEFAULT_SEED = 20261127
#: Every demo login has this password; it is printed by ``demo load`` and ``make run``.
DEMO_PASSWORD = "Kangle@2026demo"  # noqa: S105 — public by design: the demo county only


@dataclass
class DemoContext:
    rng: random.Random
    #: objects created by earlier steps, for later ones: ctx.made["villages"], ...
    made: dict = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    #: "full" (half a year of records) or "small" (a month, fewer a day: tests, quick looks)
    scale: str = "full"


def _steps():
    from reliefsvc.demo import (
        accounts,
        assessments,
        cases,
        contracts,
        evaluations,
        hiring,
        integrity,
        payments,
        providers,
        records,
        regions,
        spotchecks,
    )

    return [("regions", regions.step), ("accounts", accounts.step), ("providers", providers.step),
            ("contracts", contracts.step), ("cases", cases.step), ("records", records.step),
            ("integrity", integrity.step), ("hiring", hiring.step), ("assessments", assessments.step),
            ("payments", payments.step),
            ("spotchecks", spotchecks.step),
            ("evaluations", evaluations.step)]


def database_is_empty() -> bool:
    from reliefsvc.regions.models import Region
    from reliefsvc.security.models import User

    return (db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
            and db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0)


def load(seed: int = DEFAULT_SEED, echo=lambda _msg: None, scale: str = "full") -> DemoContext:
    """Run every step in order inside the caller's transaction."""
    from reliefsvc import audit
    from reliefsvc.audit.events import DemoLoaded

    ctx = DemoContext(rng=random.Random(seed), scale=scale)
    for name, step in _steps():
        step(ctx)
        db.session.flush()
        echo(f"demo: {name} done")
    audit.record(DemoLoaded(seed=seed, regions=1 + len(ctx.made["townships"]) + len(ctx.made["villages"]),
                            accounts=len(ctx.logins)))
    return ctx
