"""Access tokens, idempotent creates and the provincial case synchronisation. They flush,
never commit: the request (or the CLI command) commits once."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.api import events
from reliefsvc.api.models import ApiToken, IdempotencyKey
from reliefsvc.cases import rules as case_rules
from reliefsvc.cases import service as cases
from reliefsvc.cases.models import Case, CaseStatus, DiscoveryStatus
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.tabular import LOCAL_TZ, ImportReport, TableError, read_table
from reliefsvc.db import utcnow  # noqa: F401 - used by the token pages
from reliefsvc.extensions import db
from reliefsvc.security.models import User

TOKEN_PREFIX = "rsv_"  # noqa: S105 - the visible start of every token, not a secret
#: Lifetimes a user may choose, in days; a token never lives longer than a year.
LIFETIMES = (30, 90, 180, 365)


class TokenError(BilingualError):
    """A token that cannot be made or changed as asked."""


def hash_token(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough: nobody can guess their way
    # back from the digest, and a lookup by digest needs no per-row salt.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, days: int, now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token text, which is shown once."""
    name = (name or "").strip()
    if not name:
        raise TokenError("请填写令牌名称", "the token needs a name", "name")
    if days not in LIFETIMES:
        raise TokenError("有效期不在可选范围内", "unknown lifetime", "days")
    now = now or utcnow()
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:100], prefix=text[:12], token_hash=hash_token(text), role=user.role,
                     organisation_id=user.organisation_id, created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record(events.TokenCreated(token_id=token.id, user_id=user.id, name=token.name, prefix=token.prefix,
                                     role=user.role.value, expires_at=token.expires_at.isoformat()))
    return token, text


def revoke_token(token: ApiToken, by_user: User, now: datetime | None = None) -> bool:
    """Revoke ``token``; False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at, token.revoked_by = now or utcnow(), by_user
    db.session.flush()
    audit.record(events.TokenRevoked(token_id=token.id, user_id=token.user_id, prefix=token.prefix,
                                     by_admin=by_user.id != token.user_id))
    return True


def tokens_of(user: User) -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


def all_tokens(limit: int = 500) -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).order_by(ApiToken.revoked_at.is_not(None),
                                                           ApiToken.created_at.desc()).limit(limit)).all()


def authenticate(text: str, now: datetime | None = None) -> ApiToken | None:
    """The token's row when ``text`` is a usable token of an enabled user still in the same post."""
    if not text or not text.startswith(TOKEN_PREFIX) or len(text) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(text)))
    now = now or utcnow()
    if token is None or not token.usable_at(now):
        return None
    user = token.user
    if not user.is_enabled or user.role is not token.role or user.organisation_id != token.organisation_id:
        return None
    # At most one write a day per token: reads stay read-only transactions.
    if token.last_used_at is None or token.last_used_at.astimezone(LOCAL_TZ).date() != now.astimezone(LOCAL_TZ).date():
        token.last_used_at = now
    return token


# --- idempotency ---------------------------------------------------------------------------

class IdempotencyConflict(BilingualError):
    """The key was used before for another request."""


def remembered(user: User, key: str, operation: str, request_hash: str) -> IdempotencyKey | None:
    """The stored first answer for ``key``, or None when the key is new."""
    row = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                            IdempotencyKey.key == key))
    if row is None:
        return None
    if row.operation != operation or row.request_hash != request_hash:
        raise IdempotencyConflict("此幂等键已用于另一个请求", "this Idempotency-Key was used for another request")
    return row


def remember(user: User, key: str, operation: str, request_hash: str, status_code: int, body: dict,
             location: str | None) -> IdempotencyKey:
    row = IdempotencyKey(user_id=user.id, key=key, operation=operation, request_hash=request_hash,
                         status_code=status_code, body=body, location=location, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


# --- one case from the API, the same way as one row of ``cases import`` --------------------

CASE_FIELDS = [c.name for c in case_rules.COLUMNS]


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CASE_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upsert_case(case_ref: str, values: dict) -> tuple[Case | None, ImportReport, bool]:
    """Create or update the household ``case_ref`` through ``cases.import_cases``, so that the
    API checks, audits and alerts exactly as the file import does. Returns (case, report, created)."""
    row = dict.fromkeys(CASE_FIELDS, "")
    for name in CASE_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        if name == "categories":
            value = ";".join(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        row[name] = str(value)
    row["case_ref"] = case_ref
    existed = cases.get_by_ref(case_ref) is not None
    report = cases.import_cases(_csv([row]), filename="api.csv")
    if report.errors:
        return None, report, False
    return cases.get_by_ref(case_ref), report, not existed


# --- cases sync ----------------------------------------------------------------------------

@dataclass
class SyncReport:
    added: int = 0
    changed: int = 0
    closed: int = 0
    closed_refs: list[str] = field(default_factory=list)
    #: households missing from the export that could not be closed by a file row (no ID number
    #: or no category on record): left as they are, listed for a person to look at
    not_closed: list[str] = field(default_factory=list)
    errors: list = field(default_factory=list)
    rejected: int = 0
    written: bool = False
    refused: str | None = None

    def summary(self) -> str:
        return f"added {self.added}, changed {self.changed}, closed {self.closed}, rejected {self.rejected}"


def _closable(present: set[str]):
    """Households the provincial system knows (imported, or discovered and confirmed under an
    official number) that are still open here but missing from its export."""
    return [c for c in db.session.scalars(
        sa.select(Case).where(Case.status.in_((CaseStatus.ACTIVE, CaseStatus.SUSPENDED)),
                              sa.or_(Case.discovery_status.is_(None),
                                     Case.discovery_status == DiscoveryStatus.CONFIRMED))
        .options(sa.orm.selectinload(Case.category_rows), sa.orm.joinedload(Case.village)))
        if c.case_ref not in present]


def sync_cases(data: bytes, *, filename: str = "", encoding: str = "utf-8", partial: bool = False,
               close_missing: bool = True, max_close_share: float = 0.2, now: datetime | None = None) -> SyncReport:
    """``cases sync``: the provincial export is the whole list of households in assistance.

    Rows are imported exactly as ``cases import`` does (added, changed); an open household
    the provincial system knows but the export no longer lists is closed (停保) as of today,
    through a row of its own. Nothing is closed when the file had any error (a rejected row
    is not a household that left), nor when more than ``max_close_share`` of the open
    households would close (a truncated export must not empty the registry).
    """
    now = now or utcnow()
    report = SyncReport()
    try:
        rows, _errors = read_table(data, case_rules.COLUMNS, encoding=encoding, filename=filename)
    except TableError as exc:
        report.errors = exc.errors
        return report
    imported = cases.import_cases(data, filename=filename, encoding=encoding, partial=partial, now=now)
    report.errors, report.rejected = imported.errors, imported.rejected
    if not imported.written:
        return report
    report.added, report.changed, report.written = imported.imported, imported.updated, True
    if close_missing and not imported.errors:
        present = {str(r.values.get("case_ref")) for r in rows}
        missing = _closable(present)
        open_count = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.status.in_((CaseStatus.ACTIVE, CaseStatus.SUSPENDED))))
        if missing and len(missing) > max_close_share * max(open_count or 0, 1):
            report.refused = (f"the export would close {len(missing)} of {open_count} open households; "
                              f"nothing closed / 导出文件将使 {len(missing)} 户（共 {open_count} 户）停保，未执行停保")
            missing = []
        today = now.astimezone(LOCAL_TZ).date().isoformat()
        close_rows = []
        for c in missing:
            if not c.head_id_number or not c.category_rows:
                report.not_closed.append(c.case_ref)
                continue
            close_rows.append({"case_ref": c.case_ref, "head_name": c.head_name, "id_number": c.head_id_number,
                               "village_code": c.village.code, "household_size": str(c.household_size),
                               "categories": ";".join(cat.value for cat in c.categories), "status": "closed",
                               "status_changed_on": today})
        if close_rows:
            closed = cases.import_cases(_csv(close_rows), filename=f"sync-close:{os.path.basename(filename)}",
                                        now=now)
            if closed.errors:  # cannot happen for rows made from the registry; say so if it does
                report.not_closed.extend(str(e) for e in closed.errors)
            report.closed = closed.updated
            report.closed_refs = sorted(r["case_ref"] for r in close_rows)[:report.closed]
    audit.record(events.CasesSynced(filename=os.path.basename(filename), sha256=hashlib.sha256(data).hexdigest(),
                                    added=report.added, changed=report.changed, closed=report.closed,
                                    closed_refs=report.closed_refs[:1000]))
    return report

