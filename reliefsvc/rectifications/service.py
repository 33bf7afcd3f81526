"""Rectification notices: raise, answer with evidence, accept or send back, overdue.

Other domains raise notices through ``raise_notice`` (spot checks, field inspections,
assessments); assessments read ``on_time_counts`` for the indicator "rectifications closed
on time". Everything flushes; the caller commits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from reliefsvc import audit
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import today_local
from reliefsvc.contracts.models import Contract
from reliefsvc.db import utcnow
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.providers.models import Provider
from reliefsvc.rectifications.events import (
    RectificationAnswered,
    RectificationDecided,
    RectificationRaised,
)
from reliefsvc.rectifications.models import (
    SOURCES,
    ItemStatus,
    NoticeStatus,
    RectificationAnswer,
    RectificationItem,
    RectificationNotice,
)
from reliefsvc.security.models import BUREAU_ROLES, Role, User

#: An evidence file of an answer is at most this large (a scanned PDF or a photo).
MAX_EVIDENCE_BYTES = 15 * 1024 * 1024


class RectificationError(BilingualError):
    pass


@dataclass(frozen=True)
class Evidence:
    data: bytes
    filename: str


def provider_managers(contract: Contract) -> list[int]:
    return db.session.scalars(sa.select(User.id).where(
        User.organisation_id == contract.provider.organisation_id, User.role == Role.PROVIDER_MANAGER,
        User.is_enabled.is_(True))).all()


def officers() -> list[int]:
    return db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICER, User.is_enabled.is_(True))).all()


def _link(notice: RectificationNotice) -> str:
    return f"/rectifications/{notice.id}"


def raise_notice(contract, items: list[tuple[str, str]], due: date, source: str, by_user,
                 record=None) -> RectificationNotice:
    """Issue a notice to the provider of ``contract``: each item is (what to put right, the
    rule it breaks); ``source`` is a short code ("spotcheck", "inspection", "assessment",
    "officer"); ``record`` the service record concerned, if any."""
    cleaned = [((what or "").strip(), (rule or "").strip()) for what, rule in items]
    cleaned = [(what, rule) for what, rule in cleaned if what]
    if not cleaned:
        raise RectificationError("整改通知至少需要一项整改内容", "a notice needs at least one item", "items")
    if any(not rule for _what, rule in cleaned):
        raise RectificationError("每项整改内容都要写明违反的规定或合同条款",
                                 "each item must name the rule or clause it breaks", "items")
    source = (source or "").strip()
    if not source or len(source) > 20:
        raise RectificationError("整改来源无效", "unknown source of the notice", "source")
    if due is None:
        raise RectificationError("请填写整改期限", "please give the deadline", "due")
    notice = RectificationNotice(contract=contract, source=source, record_id=getattr(record, "id", record),
                                 due_on=due, issued_by=by_user, issued_at=utcnow(),
                                 items=[RectificationItem(position=i, what=what, rule=rule)
                                        for i, (what, rule) in enumerate(cleaned)])
    db.session.add(notice)
    db.session.flush()
    audit.record(RectificationRaised(notice_id=notice.id, contract_id=contract.id, source=source,
                                     record_id=notice.record_id, due_on=due.isoformat(),
                                     items=[[w, r] for w, r in cleaned]), actor=by_user)
    notifications.notify(provider_managers(contract), "rectification.raised",
                         f"整改通知：合同 {contract.contract_no} 有 {len(cleaned)} 项需要整改，"
                         f"期限 {due.year}年{due.month}月{due.day}日",
                         "\n".join(f"{i + 1}. {w}（{r}）" for i, (w, r) in enumerate(cleaned)), link=_link(notice))
    return notice


def _store(evidence: Evidence) -> tuple[str, str]:
    from reliefsvc.evidence import EvidenceTooLarge, get_storage
    from reliefsvc.evidence.content import ContentError, check_document

    if len(evidence.data) > MAX_EVIDENCE_BYTES:
        raise RectificationError("证明材料超过 15 MB", "the evidence file is larger than 15 MB", "file")
    try:
        kind = check_document(evidence.data)
    except ContentError as exc:
        raise RectificationError(exc.zh, exc.en, "file") from exc
    try:
        stored = get_storage().put(io.BytesIO(evidence.data), max_bytes=MAX_EVIDENCE_BYTES)
    except EvidenceTooLarge as exc:
        raise RectificationError("证明材料超过 15 MB", "the evidence file is larger than 15 MB", "file") from exc
    return stored.sha256, kind


def answer_item(item: RectificationItem, text: str, evidence: Evidence | None, by_user) -> RectificationAnswer:
    """The provider's answer to one item: what it did, with a file that shows it."""
    if item.status not in (ItemStatus.OPEN, ItemStatus.SENT_BACK):
        raise RectificationError("该项已答复待审核或已整改完毕", "this item is awaiting review or already put right")
    text = (text or "").strip()
    if not text:
        raise RectificationError("请说明整改情况", "please say what was done", "text")
    sha256 = kind = None
    if evidence is not None and evidence.data:
        sha256, kind = _store(evidence)
    elif not item.answers:
        raise RectificationError("首次答复须附证明材料（PDF、JPEG 或 PNG）",
                                 "the first answer needs an evidence file (PDF, JPEG or PNG)", "file")
    answer = RectificationAnswer(item=item, text=text, sha256=sha256, content_type=kind,
                                 filename=(evidence.filename[:200] if sha256 else None),
                                 answered_by=by_user, answered_at=utcnow())
    item.status = ItemStatus.ANSWERED
    db.session.add(answer)
    db.session.flush()
    notice = item.notice
    audit.record(RectificationAnswered(notice_id=notice.id, item_id=item.id, answer_id=answer.id, text=text,
                                       sha256=sha256), actor=by_user)
    notifications.notify(officers(), "rectification.answered",
                         f"整改答复待审核：合同 {notice.contract.contract_no} 第 {item.position + 1} 项",
                         text[:500], link=_link(notice))
    return answer


def decide_item(item: RectificationItem, accept: bool, note: str, by_user, on: date | None = None) -> None:
    """The officer accepts the latest answer (the item is put right) or sends it back with a reason."""
    if item.status is not ItemStatus.ANSWERED or not item.answers:
        raise RectificationError("该项没有待审核的答复", "this item has no answer awaiting review")
    note = (note or "").strip()
    if not accept and not note:
        raise RectificationError("退回须写明理由", "sending back needs a reason", "note")
    answer = item.answers[-1]
    answer.verdict = "accepted" if accept else "sent_back"
    answer.verdict_note, answer.decided_by, answer.decided_at = note, by_user, utcnow()
    notice = item.notice
    if accept:
        item.status, item.accepted_on = ItemStatus.ACCEPTED, on or today_local()
    else:
        item.status = ItemStatus.SENT_BACK
    closed = all(i.status is ItemStatus.ACCEPTED for i in notice.items)
    if closed:
        notice.status, notice.closed_at = NoticeStatus.CLOSED, utcnow()
    db.session.flush()
    audit.record(RectificationDecided(notice_id=notice.id, item_id=item.id, answer_id=answer.id,
                                      verdict=answer.verdict, note=note, notice_closed=closed), actor=by_user)
    title = (f"整改项已通过：合同 {notice.contract.contract_no} 第 {item.position + 1} 项" if accept
             else f"整改答复被退回：合同 {notice.contract.contract_no} 第 {item.position + 1} 项")
    notifications.notify(provider_managers(notice.contract), "rectification.decided", title, note, link=_link(notice))


# --- reading ------------------------------------------------------------------------------

def board_query(user, status: str = "open", contract_id: int | None = None):
    """Notices the user may see: bureau roles all, a provider's people their own."""
    query = sa.select(RectificationNotice).join(Contract, Contract.id == RectificationNotice.contract_id)
    if user.role not in BUREAU_ROLES:
        query = query.join(Provider, Provider.id == Contract.provider_id).where(
            Provider.organisation_id == user.organisation_id)
    if status in ("open", "closed"):
        query = query.where(RectificationNotice.status == NoticeStatus(status))
    if contract_id:
        query = query.where(RectificationNotice.contract_id == contract_id)
    return query.order_by(RectificationNotice.status, RectificationNotice.due_on, RectificationNotice.id)


def open_notices(contract: Contract) -> list[RectificationNotice]:
    return db.session.scalars(board_query_for_contract(contract).where(
        RectificationNotice.status == NoticeStatus.OPEN)).all()


def board_query_for_contract(contract: Contract):
    return sa.select(RectificationNotice).where(RectificationNotice.contract_id == contract.id).order_by(
        RectificationNotice.due_on, RectificationNotice.id)


@dataclass(frozen=True)
class OnTime:
    """Items due in a period: how many were put right by their deadline."""

    due: int
    on_time: int
    late: int
    still_open: int


def on_time_counts(contract: Contract, day_from: date, day_to: date) -> OnTime:
    """Items of ``contract`` whose deadline fell within [day_from, day_to] (inclusive)."""
    rows = db.session.execute(
        sa.select(RectificationItem.status, RectificationItem.accepted_on, RectificationNotice.due_on)
        .join(RectificationNotice, RectificationNotice.id == RectificationItem.notice_id)
        .where(RectificationNotice.contract_id == contract.id, RectificationNotice.due_on >= day_from,
               RectificationNotice.due_on <= day_to)).all()
    on_time = sum(1 for status, accepted, due in rows if accepted is not None and accepted <= due)
    still_open = sum(1 for status, accepted, due in rows if accepted is None)
    return OnTime(due=len(rows), on_time=on_time, late=len(rows) - on_time - still_open, still_open=still_open)


def overdue_items(on: date, contract: Contract | None = None) -> list[RectificationItem]:
    query = (sa.select(RectificationItem).join(RectificationNotice)
             .where(RectificationItem.status != ItemStatus.ACCEPTED, RectificationNotice.due_on < on))
    if contract is not None:
        query = query.where(RectificationNotice.contract_id == contract.id)
    return db.session.scalars(query.order_by(RectificationNotice.due_on, RectificationItem.id)).all()


def notify_deadlines(on: date, soon_days: int = 3) -> tuple[int, int]:
    """Tell providers of deadlines within ``soon_days``; tell providers and officers, once per
    item, of items past their deadline. Returns (reminded, overdue)."""
    from datetime import timedelta

    soon = db.session.scalars(sa.select(RectificationNotice).where(
        RectificationNotice.status == NoticeStatus.OPEN, RectificationNotice.due_on == on + timedelta(days=soon_days)
    )).all()
    for notice in soon:
        waiting = [i for i in notice.items if i.status in (ItemStatus.OPEN, ItemStatus.SENT_BACK)]
        if waiting:
            notifications.notify(provider_managers(notice.contract), "rectification.due_soon",
                                 f"整改期限将至：合同 {notice.contract.contract_no} 还有 {len(waiting)} 项未答复，"
                                 f"{soon_days} 天后到期", link=_link(notice))
    overdue = [i for i in overdue_items(on) if i.overdue_notified_on is None]
    by_notice: dict[int, list[RectificationItem]] = {}
    for item in overdue:
        item.overdue_notified_on = on
        by_notice.setdefault(item.notice_id, []).append(item)
    for items in by_notice.values():
        notice = items[0].notice
        title = f"整改逾期：合同 {notice.contract.contract_no} 有 {len(items)} 项逾期未完成整改"
        body = "\n".join(f"{i.position + 1}. {i.what}" for i in items)
        notifications.notify(provider_managers(notice.contract) + officers(), "rectification.overdue", title, body,
                             link=_link(notice))
    db.session.flush()
    return len(soon), len(overdue)


def source_choices() -> dict:
    return SOURCES
