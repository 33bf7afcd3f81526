"""Operations on regions. They flush, never commit."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.common.tabular import ImportReport, RowError, TableError, read_table
from reliefsvc.extensions import db
from reliefsvc.regions import rules
from reliefsvc.regions.events import RegionsImported
from reliefsvc.regions.models import Level, Region


def import_regions(data: bytes, *, filename: str = "", encoding: str = "utf-8",
                   partial: bool = False) -> ImportReport:
    """Import a region file; all-or-nothing unless ``partial``. Idempotent by code."""
    report = ImportReport()
    try:
        rows, errors = read_table(data, rules.COLUMNS, encoding=encoding, filename=filename)
    except TableError as exc:
        report.errors = exc.errors
        report.rejected = 0
        return report

    existing = {r.code: r for r in db.session.scalars(sa.select(Region))}
    known_levels = {code: r.level.value for code, r in existing.items()}
    good, tree_errors = rules.check_tree(rows, known_levels)
    errors = sorted(errors + tree_errors, key=lambda e: (e.row, e.column or ""))
    report.errors = errors
    report.rejected = len({e.row for e in errors})
    if errors and not partial:
        return report

    for row in good:
        v = row.values
        parent = None
        if v["parent_code"]:
            parent = existing.get(v["parent_code"])
            if parent is None:  # its own row was rejected in a partial import
                report.errors.append(RowError(row.number, "parent_code",
                                              f"上级代码 {v['parent_code']} 所在行未能导入",
                                              f"the row of parent {v['parent_code']} was rejected"))
                report.rejected += 1
                continue
        region = existing.get(v["code"])
        if region is None:
            region = Region(code=v["code"])
            db.session.add(region)
            existing[v["code"]] = region
            report.imported += 1
        else:
            report.updated += 1
        region.name = v["name"]
        region.level = Level(v["level"])
        region.parent = parent
        region.lat, region.lon = v["lat"], v["lon"]
        region.office_lat, region.office_lon = v["office_lat"], v["office_lon"]
    db.session.flush()
    report.written = True
    audit.record(RegionsImported(filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                 imported=report.imported, updated=report.updated,
                                 rejected=report.rejected))
    return report


def tree() -> list[Region]:
    """All counties with their townships and villages loaded in one query."""
    regions = db.session.scalars(sa.select(Region).order_by(Region.code)).all()
    by_parent: dict[int | None, list[Region]] = {}
    for r in regions:
        by_parent.setdefault(r.parent_id, []).append(r)
    for r in regions:
        sa.orm.attributes.set_committed_value(r, "children", by_parent.get(r.id, []))
    return by_parent.get(None, [])


def counts() -> dict[str, int]:
    rows = db.session.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level)).all()
    return {level.value: n for level, n in rows}
