"""Service records: the phone form, the review list, a record with its photos, the ledger."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice

from reliefsvc import audit
from reliefsvc.cases.models import Case
from reliefsvc.common import exportgate, pagecache, panels
from reliefsvc.common.formatting import LOCAL_TZ, now_local
from reliefsvc.contracts import service as contracts
from reliefsvc.contracts.models import Contract, ContractStatus, ServiceType
from reliefsvc.evidence import events, get_storage, ledger, listing, photos, service
from reliefsvc.evidence.content import ContentError
from reliefsvc.evidence.forms import LedgerForm, RecordForm, ReviewForm
from reliefsvc.evidence.models import Photo, RecordPhoto, RecordSource, RecordStatus, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.integrity.models import CODE_LABELS
from reliefsvc.providers.models import Provider, Staff
from reliefsvc.regions.models import Level, Region
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import current_locale, flash_import, in_locale

bp = Blueprint("records", __name__, url_prefix="/records")

url_object("record_id", ServiceRecord, as_="record")
url_object("photo_id", Photo, as_="stored_photo")

PROVIDER_PEOPLE = (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)


@bp.record_once
def _register(state):
    # The household page shows every service the household received (a provider sees
    # only its own organisation's records there), its rows written by evidence/listing.py.
    state.app.extensions["case_timeline"] = lambda case, user: listing.timeline_rows(
        service.timeline(case, user), current_locale())
#: Who may see the original photo with its EXIF position (sensitive personal data).
ORIGINAL_READERS = (Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR)


def _local_input(value: datetime | None):
    return value.replace(tzinfo=LOCAL_TZ) if value is not None else None


def _my_contracts():
    query = (sa.select(Contract).join(Provider).where(Provider.organisation_id == current_user.organisation_id,
                                                       Contract.status == ContractStatus.ACTIVE)
             .order_by(Contract.starts_on.desc()))
    return db.session.scalars(query).all()


def _my_staff(provider_ids):
    return db.session.scalars(sa.select(Staff).where(Staff.provider_id.in_(provider_ids), Staff.left_on.is_(None))
                              .order_by(Staff.name)).all()


def _case_choices(q: str, chosen: int | None):
    """Households the worker may serve: a search, the ones served last, the one chosen."""
    visible = Case.visible_filter(current_user)
    cases = []
    if q:
        like = f"%{q.strip()}%"
        cases = db.session.scalars(sa.select(Case).where(visible, sa.or_(Case.head_name.like(like),
                                                                         Case.case_ref.like(like)))
                                   .order_by(Case.head_name).limit(30)).all()
    recent_ids = db.session.scalars(
        sa.select(ServiceRecord.case_id).where(ServiceRecord.submitted_by_id == current_user.id,
                                               ServiceRecord.case_id.is_not(None))
        .order_by(ServiceRecord.submitted_at.desc()).limit(40)).all()
    recent_ids = list(dict.fromkeys(recent_ids))[:8]
    recent = db.session.scalars(sa.select(Case).where(Case.id.in_(recent_ids), visible)).all() if recent_ids else []
    if chosen and all(c.id != chosen for c in cases + recent):
        picked = db.session.scalar(sa.select(Case).where(Case.id == chosen, visible))
        cases = ([picked] if picked else []) + cases
    seen, out = set(), [SelectChoice(0, _("No household (not tied to a household)"))]
    for c in list(cases) + list(recent):
        if c.id not in seen:
            seen.add(c.id)
            out.append(SelectChoice(c.id, f"{c.head_name} · {c.village.name} · {c.case_ref}"))
    return out


#: Above this many choices a filter is a search field with the matches beside it, not a
#: drop-down of everything (a province has 1 000 contracts, 6 000 workers, 16 000 villages).
LIST_AT_MOST = 200
#: How many matches of a search the drop-down beside it offers.
MATCHES_SHOWN = 50
#: The record list counts its matches up to this many, and says "more than" beyond.
COUNT_AT_MOST = 2000


@bp.route("/")
@restrict_access()
def index():
    args = request.args
    filters = {k: args.get(k) for k in ("status", "service_type", "sort", "flag") if args.get(k)}
    with contextlib.suppress(ValueError):
        filters["min_risk"] = max(0.0, min(100.0, float(args.get("min_risk", ""))))
    for key in ("contract_id", "worker_id", "village_id", "township_id"):
        if args.get(key, "").isdigit():
            filters[key] = int(args[key])
    for key, name in (("contract", "contract_q"), ("worker", "worker_q"), ("township", "township_q")):
        if args.get(key, "").strip():
            filters[name] = args[key].strip()[:50]
    for key, bound in (("from", "day_from"), ("to", "day_to")):
        try:
            day = datetime.strptime(args.get(key, ""), "%Y-%m-%d")
        except ValueError:
            continue
        filters[bound] = (day + timedelta(days=1 if key == "to" else 0)).replace(tzinfo=LOCAL_TZ)
    if filters.get("village_id"):
        # A village brings its township; a village of another township than the one chosen
        # was left over from before the township changed (the form without its script).
        parent = db.session.scalar(sa.select(Region.parent_id).where(Region.id == filters["village_id"]))
        if filters.get("township_id") and parent != filters["township_id"]:
            del filters["village_id"]
        elif parent:
            filters["township_id"] = parent
    matching = service.records_for(current_user, **filters)
    page = RowPage(matching=matching, per_page=current_app.config["PAGE_SIZE"], error_out=False,
                   count_key=tuple(sorted((k, v) for k, v in filters.items() if k != "sort")))
    more = page.total > COUNT_AT_MOST
    if more:
        page.total = COUNT_AT_MOST
    return render_template("records/index.html", page=page, args=args, choices=_filter_choices(filters),
                           rows=listing.record_rows(page.items, current_locale()), more=more)


@functools.cache
def _row_columns() -> sa.Select:
    """What the record list's rows show, for the records ``:ids``, as plain columns: one
    statement, built once (built on each request, its joins, alias and subquery were a
    tenth of the page's Python calls). The names come from correlated subqueries, each a
    primary-key lookup per row: joined, PostgreSQL hashed the whole staff and contract
    tables for 50 rows (2.0 ms a page at a province against 1.1 ms)."""

    def lookup(column, where):
        return sa.select(column).where(where).correlate(ServiceRecord).scalar_subquery()

    photos = lookup(sa.func.count(), RecordPhoto.record_id == ServiceRecord.id)
    village = (sa.select(Region.name).join(Case, Case.village_id == Region.id)
               .where(Case.id == ServiceRecord.case_id).correlate(ServiceRecord).scalar_subquery())
    return sa.select(
        ServiceRecord.id, ServiceRecord.record_ref, ServiceRecord.status, ServiceRecord.review_reason,
        ServiceRecord.risk_score, ServiceRecord.started_at, ServiceRecord.minutes,
        lookup(ServiceType.name_zh, ServiceType.code == ServiceRecord.service_type_code).label("type_name"),
        lookup(Case.head_name, Case.id == ServiceRecord.case_id).label("head_name"),
        village.label("village_name"),
        lookup(Staff.name, Staff.id == ServiceRecord.worker_id).label("worker_name"),
        lookup(Contract.contract_no, Contract.id == ServiceRecord.contract_id).label("contract_no"),
        photos.label("photo_count"),
    ).where(ServiceRecord.id.in_(sa.bindparam("ids", expanding=True)))


class RowPage(Pagination):
    """A page of the record list: the page's ids through the filters, then what its rows show
    as plain columns in one statement (issue 16: 50 ORM records with five relations each
    cost more than the rest of the page); the matches counted up to COUNT_AT_MOST + 1 only
    (a province's 87 000 accepted visits are not counted on every page). Flask-SQLAlchemy's
    Pagination, with the two queries its subclasses provide, so that ``pager`` works as for
    any other list."""

    def _query_items(self) -> list:
        matching: sa.Select = self._query_args["matching"]
        ids = db.session.scalars(matching.with_only_columns(ServiceRecord.id)
                                 .limit(self.per_page).offset(self._query_offset)).all()
        if not ids:
            return []
        rows = db.session.execute(_row_columns(), {"ids": ids}).all()
        order = {record_id: i for i, record_id in enumerate(ids)}
        return sorted(rows, key=lambda r: order[r.id])

    def _query_count(self) -> int:
        """The matches, counted up to COUNT_AT_MOST + 1, kept a minute per scope and filters
        (:mod:`reliefsvc.common.pagecache`, as the filter lists; the user's own changes
        count at once): paging through a list asked the same count on every page, a
        third of the page's statements."""
        matching: sa.Select = self._query_args["matching"]

        def count() -> int:
            return db.session.scalar(sa.select(sa.func.count()).select_from(
                matching.order_by(None).with_only_columns(ServiceRecord.id).limit(COUNT_AT_MOST + 1).subquery()))

        return pagecache.cached(current_user, "record-count", count, *self._query_args["count_key"])[0]


def _listed(shown: sa.Select, sort) -> list | None:
    """Every row ``shown`` (in the order ``sort`` puts them) if there are at most LIST_AT_MOST,
    else None: the filter is then a search. Asked without the order (a province's 6 000
    workers sorted by name only to learn that there are more than 200); a short list is
    sorted here."""
    rows = db.session.execute(shown.order_by(None).limit(LIST_AT_MOST + 1)).all()
    return sort(rows) if len(rows) <= LIST_AT_MOST else None


def _matches(shown: Callable[[], sa.Select], key, search, text: str | None, chosen: int | None) -> list:
    """The rows of the query ``shown()`` matching the search ``text`` (at most MATCHES_SHOWN)
    and the one ``chosen``; the query is built only when there is a search or a choice (an
    unfiltered list in a province built three it never ran, 1.3 ms a page)."""
    if not text and not chosen:
        return []
    query = shown()
    rows = db.session.execute(query.where(key.in_(search(text))).limit(MATCHES_SHOWN)).all() if text else []
    if chosen and all(r.id != chosen for r in rows):
        rows = db.session.execute(query.where(key == chosen)).all() + rows
    return rows


def _newest_contract_first(rows: list) -> list:
    return sorted(sorted(rows, key=lambda c: c.contract_no), key=lambda c: c.starts_on, reverse=True)


def _by_name(rows: list) -> list:
    return sorted(rows, key=lambda w: (w.name, w.id))


def _by_code(rows: list) -> list:
    return sorted(rows, key=lambda t: t.code)


def _filter_rows() -> tuple[sa.Select, sa.Select]:
    """The contracts and the workers the signed-in user may filter by, as queries."""
    own = current_user.role.is_provider
    contract_rows = (sa.select(Contract.id, Contract.contract_no, Contract.starts_on).join(Provider)
                     .order_by(Contract.starts_on.desc(), Contract.contract_no))
    if own:
        contract_rows = contract_rows.where(Provider.organisation_id == current_user.organisation_id)
    employers = sa.select(Provider.id).where(Provider.organisation_id == current_user.organisation_id) if own \
        else sa.select(Contract.provider_id)
    worker_rows = (sa.select(Staff.id, Staff.name, Provider.name.label("provider_name"))
                   .join(Provider, Provider.id == Staff.provider_id)
                   .where(Staff.provider_id.in_(employers)).order_by(Staff.name, Staff.id))
    return contract_rows, worker_rows


def _township_rows() -> sa.Select:
    """The townships as a query, in division-code order, each with its county's name (a
    province has a 城关镇 in many counties: a match is told apart by its county)."""
    county = sa.orm.aliased(Region)
    return (sa.select(Region.id, Region.name, Region.code, county.name.label("county_name"))
            .outerjoin(county, county.id == Region.parent_id)
            .where(Region.level == Level.TOWNSHIP).order_by(Region.code))


def _filter_lists() -> dict:
    """What the filters offer before any search — the contracts, the workers and the
    townships (None where there are too many to list: the filter is then a search), and the
    townships listed, the statuses, service types and flag codes as ``<option>``s in the
    reader's language — kept a minute per scope
    (:mod:`reliefsvc.common.pagecache`: the officers' one entry, each provider organisation
    its own): the "more than 200?" reads were a third of the list's work (issue 16). A
    province's 1 000 townships are never read whole (they were 50 KB of every page)."""

    def compute() -> dict:
        contract_rows, worker_rows = _filter_rows()
        townships = _listed(_township_rows(), _by_code)
        return {"contracts": _listed(contract_rows, _newest_contract_first),
                "workers": _listed(worker_rows, _by_name),
                "townships": _OptionList([(t.id, t.name) for t in townships]) if townships is not None else None,
                "statuses": _OptionList([(s.value, s.label) for s in RecordStatus]),
                "types": _OptionList([(t.code, t.name_zh) for t in contracts.service_types()]),
                "flags": _OptionList(list(CODE_LABELS.items()))}

    return pagecache.cached(current_user, "record-filters", compute)[0]


def _filter_choices(filters: dict) -> dict:
    """The choices of the record list's filters, as few as a person reads.

    Contracts, workers and townships: a drop-down of all of them in a county; in a province
    a search field (``contract``, ``worker``, ``township``) and a drop-down of its matches
    and the one chosen. Villages: choose the township (``township_id``), then the village
    among that township's (``village_id``; a village chosen by a link brings its township,
    shown chosen even without a search). The choices are ``<option>``s joined here in one
    pass (a template loop over thousands of them took seconds). The number of queries
    depends on the filters, not on the data.
    """
    lists = _filter_lists()
    contract_list, contract_search = lists["contracts"], lists["contracts"] is None
    worker_list, worker_search = lists["workers"], lists["workers"] is None
    if contract_search:
        contract_list = _matches(lambda: _filter_rows()[0], Contract.id, service.contracts_matching,
                                 filters.get("contract_q"), filters.get("contract_id"))
    if worker_search:
        worker_list = _matches(lambda: _filter_rows()[1], Staff.id, service.workers_matching, filters.get("worker_q"),
                               filters.get("worker_id"))
    township_id = filters.get("township_id")
    township_search = lists["townships"] is None
    if township_search:
        townships = _options(
            _matches(_township_rows, Region.id, service.townships_matching, filters.get("township_q"), township_id),
            township_id, lambda t: f"{t.name} · {t.county_name}" if t.county_name else t.name)
    else:
        if len(lists["townships"].pairs) == 1:
            township_id = lists["townships"].pairs[0][0]
        townships = lists["townships"].html(township_id)
    villages = db.session.execute(sa.select(Region.id, Region.name).where(
        Region.level == Level.VILLAGE, Region.parent_id == township_id).order_by(Region.code)).all() \
        if township_id else []
    return {
        "contract_search": contract_search,
        "contracts": _options(contract_list, filters.get("contract_id"), lambda c: c.contract_no),
        "worker_search": worker_search,
        "workers": _options(worker_list, filters.get("worker_id"),
                            (lambda w: f"{w.name} · {w.provider_name}") if worker_search else (lambda w: w.name)),
        "township_search": township_search,
        "township_id": township_id,
        "townships": townships,
        "villages": _options(villages, filters.get("village_id"), lambda v: v.name),
        "statuses": lists["statuses"].html(filters.get("status")),
        "types": lists["types"].html(filters.get("service_type")),
        "flags": lists["flags"].html(filters.get("flag")),
    }


class _OptionList:
    """(value, label) pairs and their ``<option>``s rendered once (a province's 1 000 townships
    were 9 ms of every list); :meth:`html` marks the one chosen."""

    def __init__(self, pairs: list[tuple]) -> None:
        self.pairs = pairs
        self._html = "".join(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in pairs)

    def html(self, selected) -> Markup:
        text = self._html
        if selected is not None:
            chosen = f'<option value="{escape(selected)}">'
            text = text.replace(chosen, chosen[:-1] + " selected>", 1)
        return Markup(text)  # noqa: S704 — every value and label escaped above


def _options(rows, selected, label) -> Markup:
    """``<option>`` elements for rows with an ``id``, the one whose id is ``selected`` marked."""
    selected = str(selected) if selected is not None else None
    return Markup("".join(  # noqa: S704 — ids are integers, every label is escaped
        f'<option value="{row.id}"{" selected" if str(row.id) == selected else ""}>{escape(label(row))}</option>'
        for row in rows))


def _examine_outside_the_lock() -> dict[bytes, photos.PhotoFacts]:
    """Read a submission's photos before its write transaction, keyed by their bytes.

    On SQLite a form post holds the database's write lock from its first query (BEGIN
    IMMEDIATE); reading a phone photo takes a good part of a second, and fifty workers
    sending at once queued behind each other's photos past the busy timeout
    (``bench/load.py`` saw "database is locked"). Nothing has been written when this runs:
    ending the read-only transaction lets others write while this request reads its
    photos; the record is then written in one transaction as before. A photo that cannot
    be read is left out: ``service.submit`` reads it again and says why.
    """
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not files:
        return {}
    db.session.commit()
    found = {}
    for f in files:
        data = f.read()
        f.seek(0)
        with contextlib.suppress(ContentError):
            found[data] = photos.examine(data)
    return found


@bp.route("/new", methods=["GET", "POST"])
@restrict_access(*PROVIDER_PEOPLE)
def new():
    read_photos = _examine_outside_the_lock() if request.method == "POST" else {}
    my_contracts = _my_contracts()
    if not my_contracts:
        flash(_("Your organisation has no active contract: records cannot be submitted."), "warning")
        return redirect(url_for("records.index"))
    searching = request.method == "GET" and request.args.get("search")
    form = RecordForm(formdata=request.args) if searching else RecordForm()
    form.contract_id.choices = [SelectChoice(c.id, f"{c.contract_no} {c.title}") for c in my_contracts]
    staff = _my_staff({c.provider_id for c in my_contracts})
    form.worker_id.choices = [SelectChoice(s.id, s.name) for s in staff]
    types = contracts.service_types(purchasable_only=True)
    form.service_type.choices = [SelectChoice(t.code, t.name_zh) for t in types]
    chosen = request.values.get("case_id", type=int)
    form.case_id.choices = _case_choices(request.args.get("q", ""), chosen)
    if request.method == "GET" and not searching:
        me = next((s for s in staff if s.user_id == current_user.id), None)
        if me:
            form.worker_id.data = me.id
        now = now_local().replace(second=0, microsecond=0, tzinfo=None)
        form.started_at.data, form.ended_at.data = now - timedelta(minutes=30), now
        form.submission_key.data = secrets.token_urlsafe(16)
        if chosen:
            form.case_id.data = chosen
    if form.validate_on_submit():
        key = (form.submission_key.data or "").strip()
        contract = db.session.get(Contract, form.contract_id.data)
        # Derived from the form's one-time key, so a re-sent form finds its record; short
        # enough to read out on the phone: APP-20261128-K7Q2MX.
        digest = hashlib.sha256((key or secrets.token_urlsafe(12)).encode()).digest()
        ref = f"APP-{form.started_at.data:%Y%m%d}-{base64.b32encode(digest).decode()[:6]}"
        existing = db.session.scalar(sa.select(ServiceRecord).where(ServiceRecord.contract_id == contract.id,
                                                                    ServiceRecord.record_ref == ref))
        if existing is not None:  # the same form sent twice (a retry after a dropped answer)
            return redirect(url_for("records.show", record_id=existing.id))
        case = db.session.scalar(sa.select(Case).where(Case.id == form.case_id.data, Case.visible_filter(current_user))) \
            if form.case_id.data else None
        worker = db.session.get(Staff, form.worker_id.data)
        uploads = [service.Upload(f.read(), f.filename or "") for f in (form.photos.data or []) if f and f.filename]
        data = service.RecordInput(contract=contract, worker=worker, service_type_code=form.service_type.data,
                                   started_at=_local_input(form.started_at.data),
                                   ended_at=_local_input(form.ended_at.data), case=case, lat=form.lat.data,
                                   lon=form.lon.data, notes=form.notes.data or "", record_ref=ref)
        st = db.session.get(ServiceType, form.service_type.data)
        try:
            if st is not None and st.photo_required and not uploads:
                raise service.RecordError(f"“{st.name_zh}”须附现场照片", "this service type needs a photo", "photos")
            facts = [read_photos.get(u.data) for u in uploads]
            record = service.submit(data, uploads, current_user, RecordSource.PHONE,
                                    facts=facts if all(facts) else None)
        except service.RecordError as exc:
            db.session.rollback()
            target = form[exc.field] if exc.field and exc.field in form else None
            if target is not None:
                target.errors = [*target.errors, in_locale(exc)]
            flash(in_locale(exc), "danger")
        except sa.exc.IntegrityError:
            # The same form sent twice at once (a phone retrying while its first upload was
            # still being saved): both passed the look-up above, the database let one in.
            # That one is the record; this answer points at it, as for any retry.
            db.session.rollback()
            existing = db.session.scalar(sa.select(ServiceRecord).where(
                ServiceRecord.contract_id == form.contract_id.data, ServiceRecord.record_ref == ref))
            if existing is None:
                raise
            return redirect(url_for("records.show", record_id=existing.id))
        else:
            flash(_("Record saved: it now waits for the bureau's review."), "success")
            return redirect(url_for("records.show", record_id=record.id))
    return render_template("records/new.html", form=form, q=request.args.get("q", ""))


@bp.route("/<int:record_id>")
@restrict_access()
def show(record):
    case = record.case
    distance = None
    if case is not None and record.lat is not None and case.position:
        from reliefsvc.integrity.geo import haversine_km

        distance = haversine_km(record.lat, record.lon, *case.position)
    return render_template("records/show.html", record=record, review_form=ReviewForm(), distance=distance,
                           can_review=current_user.role is Role.OFFICER and record.status is RecordStatus.SUBMITTED,
                           can_correct=current_user.role in PROVIDER_PEOPLE and record.status is RecordStatus.REJECTED,
                           originals=current_user.role in ORIGINAL_READERS, Status=RecordStatus,
                           panels=panels.render("record", record, current_user))


@bp.route("/providers/<int:provider_id>/staff/<int:staff_id>")
@restrict_access()
def worker(provider, staff):
    """A worker's days: every record, hour by hour, for the last weeks (or a chosen span)."""
    today = now_local().date()
    try:
        day_from = datetime.strptime(request.args.get("from", ""), "%Y-%m-%d").date()
    except ValueError:
        day_from = today - timedelta(days=13)
    try:
        day_to = datetime.strptime(request.args.get("to", ""), "%Y-%m-%d").date()
    except ValueError:
        day_to = today
    if (day_to - day_from).days > 92:
        day_from = day_to - timedelta(days=92)
    return render_template("records/worker.html", provider=provider, staff=staff,
                           days=service.worker_days(staff, day_from, day_to), day_from=day_from, day_to=day_to)


@bp.route("/<int:record_id>/review", methods=["POST"])
@restrict_access(Role.OFFICER)
def review(record):
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            service.review(record, bool(form.accept.data), form.reason.data or "", current_user)
        except service.RecordError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Record %(ref)s: %(s)s.", ref=record.record_ref, s=record.status.label), "success")
    return redirect(url_for("records.show", record_id=record.id))


@bp.route("/<int:record_id>/correct", methods=["GET", "POST"])
@restrict_access(*PROVIDER_PEOPLE)
def correct(record):
    if record.status is not RecordStatus.REJECTED:
        flash(_("Only a rejected record can be corrected."), "warning")
        return redirect(url_for("records.show", record_id=record.id))
    form = RecordForm(obj=None)
    form.contract_id.choices = [SelectChoice(record.contract_id, record.contract.contract_no)]
    form.worker_id.choices = [SelectChoice(s.id, s.name) for s in _my_staff({record.contract.provider_id})]
    form.service_type.choices = [SelectChoice(t.code, t.name_zh) for t in contracts.service_types(True)]
    form.case_id.choices = _case_choices(request.args.get("q", ""), record.case_id)
    if request.method == "GET":
        form.contract_id.data, form.worker_id.data = record.contract_id, record.worker_id
        form.service_type.data, form.case_id.data = record.service_type_code, record.case_id or 0
        form.started_at.data = record.started_at.astimezone(LOCAL_TZ).replace(tzinfo=None)
        form.ended_at.data = record.ended_at.astimezone(LOCAL_TZ).replace(tzinfo=None)
        form.notes.data, form.lat.data, form.lon.data = record.notes, record.lat, record.lon
    if form.validate_on_submit():
        case = db.session.scalar(sa.select(Case).where(Case.id == form.case_id.data, Case.visible_filter(current_user))) \
            if form.case_id.data else None
        uploads = [service.Upload(f.read(), f.filename or "") for f in (form.photos.data or []) if f and f.filename]
        keep = [int(x) for x in request.form.getlist("keep_photo") if x.isdigit()]
        data = service.RecordInput(contract=record.contract, worker=db.session.get(Staff, form.worker_id.data),
                                   service_type_code=form.service_type.data,
                                   started_at=_local_input(form.started_at.data),
                                   ended_at=_local_input(form.ended_at.data), case=case, lat=form.lat.data,
                                   lon=form.lon.data, notes=form.notes.data or "")
        try:
            service.correct(record, data, uploads, keep, current_user)
        except service.RecordError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Corrected record sent for review again."), "success")
            return redirect(url_for("records.show", record_id=record.id))
    return render_template("records/new.html", form=form, q="", record=record)


@bp.route("/<int:record_id>/photos/<int:photo_id>")
@restrict_access()
def photo(record, stored_photo):
    """The display copy (no EXIF) for everyone; the original only for bureau readers, audited."""
    # A photo is reached only through a record that shows it (and that the user may see).
    if db.session.get(RecordPhoto, (record.id, stored_photo.id)) is None:
        abort(404)
    original = request.args.get("original") == "1"
    stored: Photo = stored_photo
    if original:
        if current_user.role not in ORIGINAL_READERS:
            abort(403)
        audit.record(events.OriginalPhotoOpened(photo_id=stored.id, record_id=record.id))
        return send_file(get_storage().open(stored.sha256), mimetype=stored.content_type, max_age=0)
    return send_file(get_storage().open(stored.display_sha256), mimetype="image/jpeg", max_age=3600)


@bp.route("/ledger", methods=["GET", "POST"])
@restrict_access(Role.OFFICER, Role.PROVIDER_MANAGER)
def ledger_import():
    form = LedgerForm()
    visible = [c for c in contracts.search(current_user) if c.status is not ContractStatus.DRAFT]
    form.contract_id.choices = [SelectChoice(c.id, f"{c.contract_no} {c.title}") for c in visible]
    form.encoding.choices = [SelectChoice("utf-8", "UTF-8"), SelectChoice("gb18030", "GB18030 / GBK")]
    report = None
    if form.validate_on_submit():
        contract = next((c for c in visible if c.id == form.contract_id.data), None)
        if contract is None:
            abort(404)
        upload, photos_zip = form.file.data, form.photos.data
        tmp = None
        try:
            if photos_zip and photos_zip.filename:
                fd, tmp = tempfile.mkstemp(suffix=".zip")
                with os.fdopen(fd, "wb") as fh:
                    photos_zip.save(fh)
            report = ledger.import_ledger(contract, upload.read(), photos_at=tmp, filename=upload.filename or "",
                                          encoding=form.encoding.data, partial=False, user=current_user)
        finally:
            if tmp:
                os.unlink(tmp)
        flash_import(report)
    return render_template("records/ledger.html", form=form, report=report)


@bp.route("/ledger/<int:contract_id>.xlsx", methods=["GET", "POST"])
@restrict_access(*BUREAU_ROLES, Role.PROVIDER_MANAGER)
def ledger_export(contract):
    # Worker ID numbers and service positions: asked for a reason, audited (issue 15).
    form, reason = exportgate.reason_given()
    if reason is None:
        return exportgate.ask(form, _("Service ledger of %(no)s (Excel)", no=contract.contract_no),
                              url_for("contracts.show", contract_id=contract.id))
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        rows = ledger.export_ledger(contract, path)
        exportgate.record_personal_export("records.ledger", reason, rows, {"contract": contract.contract_no})
        with open(path, "rb") as fh:
            data = fh.read()
    finally:
        os.unlink(path)
    from io import BytesIO

    return send_file(BytesIO(data), as_attachment=True, download_name=f"ledger-{contract.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
