"""How many bytes of uploads each organisation keeps, and its quota (issue 15).

A provider's workers upload photos all day; a faulty phone app or a misuse could fill the
county's disk and stop every other organisation. ``UPLOAD_QUOTA_BYTES_PER_ORG`` caps what
one organisation stores. The usage is counted from the sizes the database records for
each stored file — photos through the records of the organisation's contracts, documents
and receipts through the account that uploaded them — so it needs no counter of its own
that could drift from the files.

Photos are shared by content: a photo attached to two records counts once. Display copies
(a few hundred KB) are not counted; the limit is on what users send.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_login import current_user

from reliefsvc.evidence.content import ContentError
from reliefsvc.extensions import db

MB = 1024 * 1024

#: org id -> (monotonic time, bytes): the sum is recomputed at most every
#: ``UPLOAD_QUOTA_CACHE_SECONDS`` (default 30), so a busy intake does not add up every
#: photo for every photo; an organisation may overshoot by what it uploads in that time.
_cache: dict[int, tuple[float, int]] = {}


class QuotaExceeded(ContentError):
    """The organisation's upload quota would be exceeded; nothing of the upload was kept."""


def usage(organisation_id: int) -> int:
    """Bytes of uploads stored for ``organisation_id``, from the file sizes in the database."""
    from reliefsvc.contracts.models import Contract, ContractDocument
    from reliefsvc.evidence.models import Photo, RecordPhoto, ServiceRecord
    from reliefsvc.payments.models import FundReceipt
    from reliefsvc.providers.models import Provider, ProviderDocument
    from reliefsvc.security.models import User

    photo_ids = (sa.select(RecordPhoto.photo_id)
                 .join(ServiceRecord, ServiceRecord.id == RecordPhoto.record_id)
                 .join(Contract, Contract.id == ServiceRecord.contract_id)
                 .join(Provider, Provider.id == Contract.provider_id)
                 .where(Provider.organisation_id == organisation_id))
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Photo.size), 0))
                              .where(Photo.id.in_(photo_ids))) or 0
    for model in (ProviderDocument, ContractDocument, FundReceipt):
        total += db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(model.size), 0))
            .join(User, User.id == model.uploaded_by_id)
            .where(User.organisation_id == organisation_id)) or 0
    return int(total)


def _cached_usage(organisation_id: int) -> int:
    ttl = current_app.config.get("UPLOAD_QUOTA_CACHE_SECONDS", 30)
    now = time.monotonic()
    hit = _cache.get(organisation_id)
    if ttl and hit is not None and now - hit[0] < ttl:
        return hit[1]
    used = usage(organisation_id)
    _cache[organisation_id] = (now, used)
    return used


def current_organisation_id() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.organisation_id
    return None


def ensure_room(organisation_id: int | None, incoming: int) -> None:
    """Raise ``QuotaExceeded`` (Chinese first) if ``incoming`` more bytes pass the organisation's quota."""
    limit = current_app.config.get("UPLOAD_QUOTA_BYTES_PER_ORG")
    if organisation_id is None or not limit:
        return
    used = _cached_usage(organisation_id)
    if used + incoming > limit:
        raise QuotaExceeded(
            f"本单位的上传空间已满：已用 {used / MB:.1f} MB，上限 {limit / MB:.0f} MB，本次上传 {incoming / MB:.1f} MB。"
            "请联系民政局系统管理员。",
            f"your organisation's upload quota is used up: {used / MB:.1f} MB of {limit / MB:.0f} MB stored, "
            f"this upload has {incoming / MB:.1f} MB",
        )
