"""The JSON API under /api/v1/ and the pages where people manage their access tokens.

The JSON views are guarded by ``@api_access`` (token, role, objects inside their parents);
the token pages by ``@restrict_access`` with CSRF-protected forms like every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import selectinload

from reliefsvc.api import guard, schemas, service, spec
from reliefsvc.api.forms import RevokeForm, TokenForm
from reliefsvc.api.guard import Problem, api_access, api_public
from reliefsvc.api.models import ApiToken
from reliefsvc.assessments import service as assessments
from reliefsvc.assessments.models import Assessment
from reliefsvc.cases import service as cases
from reliefsvc.cases.models import Case
from reliefsvc.common.errors import BilingualError
from reliefsvc.common.formatting import mask_id_number
from reliefsvc.contracts.models import Contract, ServiceType
from reliefsvc.evaluations import rules as evaluation_rules
from reliefsvc.evaluations import service as evaluations
from reliefsvc.evaluations.models import Evaluation
from reliefsvc.evidence import get_storage
from reliefsvc.evidence import service as records
from reliefsvc.evidence.models import RecordHistory, RecordPhoto, RecordSource, ServiceRecord
from reliefsvc.extensions import db
from reliefsvc.integrity.models import IntegrityFlag
from reliefsvc.payments import service as payments
from reliefsvc.payments.models import FundUseLine, FundUseReport, Instalment, PaymentEntry
from reliefsvc.providers.models import Provider, Staff
from reliefsvc.regions.models import Region
from reliefsvc.security.access import restrict_access
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.spotchecks import service as spotchecks
from reliefsvc.spotchecks.models import SpotCheckDraw
from reliefsvc.web import in_locale

bp = Blueprint("api", __name__)


V1 = "/api/v1"
PROVIDER_ROLES = (Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER)


@bp.record_once
def _install(state):
    """Answer with problem+json for every error under /api/v1/, also those no view saw
    (an unknown URL, a wrong method, an uncaught exception)."""
    app = state.app
    handlers = app.error_handler_spec.setdefault(None, {})
    for code in (400, 403, 404, 405, 413, 500):
        previous = handlers.get(code, {})
        for exc_class, handler in list(previous.items()):
            previous[exc_class] = _api_aware(handler, code)


def _api_aware(handler, code):
    def handle(error):
        if guard.is_api_request():
            db.session.rollback()
            status = getattr(error, "code", None) or code
            return guard.problem_response(guard.http_problem(error) if hasattr(error, "valid_methods")
                                          else Problem(status if status in guard.TITLES else 500))
        return handler(error)

    return handle


@bp.after_request
def _api_headers(response):
    if guard.is_api_request():
        for name, value in (g.get("api_rate") or {}).items():
            response.headers.setdefault(name, value)
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Authorization")
    return response


# --- helpers -------------------------------------------------------------------------------

def _load(schema: type[Schema], data) -> dict:
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise Problem(400, "参数有误", "invalid parameters", errors=_field_errors(exc.messages)) from None


def _field_errors(messages, prefix: str = "") -> list[dict]:
    out = []
    for name, value in (messages.items() if isinstance(messages, dict) else [("", messages)]):
        where = f"{prefix}{name}"
        if isinstance(value, dict):
            out.extend(_field_errors(value, f"{where}."))
        else:
            for text in value if isinstance(value, list) else [value]:
                out.append({"field": where or None, "en": str(text), "zh": f"字段 {where} 有误：{text}"})
    return out


def _decode_cursor(text: str | None) -> int:
    if not text:
        return 0
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        kind, _, number = raw.partition(":")
        if kind != "id" or not number.isdigit() or len(number) > 18:
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(400, "翻页游标无效", "invalid cursor", errors=[
            {"field": "cursor", "en": "not a cursor of this API", "zh": "不是本接口给出的游标"}]) from None


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _page(query, id_column, args: dict, present) -> dict:
    """Keyset pagination on the id: stable while rows are added, no offsets to drift."""
    after = _decode_cursor(args.get("cursor"))
    limit = args["limit"]
    rows = db.session.scalars(query.where(id_column > after).order_by(None).order_by(id_column)
                              .limit(limit + 1)).unique().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [present(r) for r in rows], "next_cursor": _encode_cursor(rows[-1].id) if more else None}


def _dump(schema: type[Schema], data) -> dict:
    return schema().dump(data)


def _etag(body: dict) -> str:
    return '"' + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32] + '"'


def _json(body: dict, status: int = 200, etag: bool = False, location: str | None = None):
    response = make_response(current_app.json.response(body), status)
    if etag:
        response.headers["ETag"] = _etag(body)
    if location:
        response.headers["Location"] = location
    return response


def _is_bureau() -> bool:
    return current_user.role in BUREAU_ROLES


def _provider_scope(query):
    """Only the user's own organisation's rows for a provider (``query`` joins Provider)."""
    if current_user.role.is_provider:
        return query.where(Provider.organisation_id == current_user.organisation_id)
    if current_user.role not in BUREAU_ROLES:
        return query.where(sa.false())
    return query


# --- the description -----------------------------------------------------------------------

@bp.get(f"{V1}/openapi.json")
@api_public
def openapi():
    """The OpenAPI 3 description (public: it holds no data)."""
    return current_app.json.response(spec.build(current_app))


@bp.get(f"{V1}/docs")
@api_public
def docs():
    """The description as a page, rendered here: the county network reaches no CDN."""
    description = spec.build(current_app)
    operations = []
    for path, methods in description["paths"].items():
        for method, op in methods.items():
            view = current_app.view_functions.get(f"api.{op['operationId']}")
            operations.append({"path": path, "method": method.upper(), "op": op,
                               "summary": view.api_doc["summary"] if view else op["summary"]})
    return render_template("api/docs.html", description=description, operations=operations,
                           schemas=description["components"]["schemas"])


# --- regions and providers -----------------------------------------------------------------

def _region(r: Region) -> dict:
    return _dump(schemas.RegionSchema, {"id": r.id, "code": r.code, "name": r.name, "level": r.level.value,
                                        "parent_code": r.parent.code if r.parent else None, "lat": r.lat,
                                        "lon": r.lon})


@bp.get(f"{V1}/regions")
@spec.doc(tag="regions", summary=_l("List regions"), query=schemas.RegionQuery, response=schemas.RegionSchema,
          page=True)
@api_access()
def regions():
    args = _load(schemas.RegionQuery, request.args)
    query = sa.select(Region).options(selectinload(Region.parent))
    if args.get("level"):
        query = query.where(Region.level == args["level"])
    if args.get("parent_code"):
        parent = sa.orm.aliased(Region)
        query = query.join(parent, parent.id == Region.parent_id).where(parent.code == args["parent_code"])
    return _json(_page(query, Region.id, args, _region))


@bp.get(f"{V1}/regions/<int:region_id>")
@spec.doc(tag="regions", summary=_l("One region"), response=schemas.RegionSchema, etag=True)
@api_access()
def region(region):
    return _json(_region(region), etag=True)


def _provider(p: Provider) -> dict:
    staff = db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(Staff.provider_id == p.id,
                                                                                  Staff.left_on.is_(None)))
    return _dump(schemas.ProviderSchema, {
        "id": p.id, "uscc": p.uscc, "name": p.name, "org_type": p.org_type.value, "registered_on": p.registered_on,
        "registration_authority": p.registration_authority, "address": p.address, "active_staff": staff})


@bp.get(f"{V1}/providers")
@spec.doc(tag="providers", summary=_l("List providers"), query=schemas.PageQuery, response=schemas.ProviderSchema,
          page=True)
@api_access()
def providers():
    args = _load(schemas.PageQuery, request.args)
    return _json(_page(_provider_scope(sa.select(Provider)), Provider.id, args, _provider))


@bp.get(f"{V1}/providers/<int:provider_id>")
@spec.doc(tag="providers", summary=_l("One provider"), response=schemas.ProviderSchema, etag=True)
@api_access()
def provider(provider):
    return _json(_provider(provider), etag=True)


# --- contracts -----------------------------------------------------------------------------

def _obligation(o) -> dict:
    return {"id": o.id, "contract_id": o.contract_id, "service_type": o.service_type_code, "period": o.period.value,
            "target": o.target, "unit": o.unit.value, "extra_rule": o.extra_rule,
            "ended_in_version": o.ended_in_version}


def _contract(c: Contract) -> dict:
    return _dump(schemas.ContractSchema, {
        "id": c.id, "contract_no": c.contract_no, "title": c.title, "provider_id": c.provider_id,
        "provider_uscc": c.provider.uscc, "purchaser": c.purchaser, "procurement_method": c.procurement_method.value,
        "amount": f"{c.amount:.2f}", "starts_on": c.starts_on, "ends_on": c.ends_on,
        "pricing_model": c.pricing_model.value, "payment_linked": c.payment_linked, "status": c.status.value,
        "version": c.version, "service_area": [v.code for v in c.villages],
        "obligations": [_obligation(o) for o in c.obligations]})


@bp.get(f"{V1}/contracts")
@spec.doc(tag="contracts", summary=_l("List contracts"), query=schemas.ContractQuery,
          response=schemas.ContractSchema, page=True)
@api_access()
def contracts():
    args = _load(schemas.ContractQuery, request.args)
    query = _provider_scope(sa.select(Contract).join(Provider, Provider.id == Contract.provider_id)).options(
        selectinload(Contract.villages), selectinload(Contract.obligations), selectinload(Contract.provider))
    if args.get("status"):
        query = query.where(Contract.status == args["status"])
    if args.get("provider_id"):
        query = query.where(Contract.provider_id == args["provider_id"])
    return _json(_page(query, Contract.id, args, _contract))


@bp.get(f"{V1}/contracts/<int:contract_id>")
@spec.doc(tag="contracts", summary=_l("One contract with its obligations"), response=schemas.ContractSchema,
          etag=True)
@api_access()
def contract(contract):
    return _json(_contract(contract), etag=True)


@bp.get(f"{V1}/contracts/<int:contract_id>/obligations")
@spec.doc(tag="contracts", summary=_l("Obligations of a contract"), query=schemas.PageQuery,
          response=schemas.ObligationSchema, page=True)
@api_access()
def obligations(contract):
    from reliefsvc.contracts.models import Obligation

    args = _load(schemas.PageQuery, request.args)
    query = sa.select(Obligation).where(Obligation.contract_id == contract.id)
    return _json(_page(query, Obligation.id, args, lambda o: _dump(schemas.ObligationSchema, _obligation(o))))


# --- cases ---------------------------------------------------------------------------------

def _case(c: Case) -> dict:
    alert = c.open_alert
    bureau = _is_bureau()
    return _dump(schemas.CaseSchema, {
        "id": c.id, "case_ref": c.case_ref, "head_name": c.head_name,
        "id_number_masked": mask_id_number(c.head_id_number), "village_code": c.village.code,
        "categories": [cat.value for cat in c.categories], "household_size": c.household_size,
        "status": c.status.value, "status_changed_on": c.status_changed_on, "origin": c.origin.value,
        "discovery_status": c.discovery_status.value if c.discovery_status else None,
        # A household's position is personal data: bureau roles only.
        "lat": c.lat if bureau else None, "lon": c.lon if bureau else None,
        "open_alert": {"level": alert.level.value, "issued_at": alert.issued_at, "due_at": alert.due_at}
        if alert else None, "updated_at": c.updated_at})


def _visible_case(case_ref: str) -> Case:
    case = db.session.scalar(sa.select(Case).where(Case.case_ref == case_ref, Case.visible_filter(current_user)))
    if case is None:
        raise Problem(404)
    return case


@bp.get(f"{V1}/cases")
@spec.doc(tag="cases", summary=_l("List cases"), query=schemas.CaseQuery, response=schemas.CaseSchema, page=True)
@api_access()
def cases_list():
    args = _load(schemas.CaseQuery, request.args)
    query = sa.select(Case).where(Case.visible_filter(current_user)).options(
        selectinload(Case.category_rows), selectinload(Case.alerts), selectinload(Case.village))
    if args.get("status"):
        query = query.where(Case.status == args["status"])
    if args.get("village_code"):
        query = query.join(Region, Region.id == Case.village_id).where(Region.code == args["village_code"])
    return _json(_page(query, Case.id, args, _case))


@bp.get(f"{V1}/cases/<case_ref>")
@spec.doc(tag="cases", summary=_l("One case by its household number"), response=schemas.CaseSchema, etag=True)
@api_access()
def case(case_ref):
    return _json(_case(_visible_case(case_ref)), etag=True)


@bp.put(f"{V1}/cases/<case_ref>")
@spec.doc(tag="cases", summary=_l("Create or update a case from the provincial system"), body=schemas.CaseInput,
          response=schemas.CaseSchema, status=201, also=(200,), etag=True, if_match=True)
@api_access(Role.OFFICER, Role.ADMIN)
def case_put(case_ref):
    if not request.is_json:
        raise Problem(415, "请以 application/json 提交", "send application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "请求体不是 JSON 对象", "the body is not a JSON object")
    try:
        values = schemas.CaseInput().load(body)
    except ValidationError as exc:
        raise Problem(422, errors=_field_errors(exc.messages)) from None
    existing = cases.get_by_ref(case_ref)
    wanted = request.headers.get("If-Match")
    if existing is not None:
        if not wanted:
            raise Problem(428, "修改已有家庭须带 If-Match（上次读取时的 ETag）",
                          "changing an existing case needs If-Match with the ETag you read")
        if wanted.strip() != "*" and wanted.strip() != _etag(_case(existing)):
            raise Problem(412, "该家庭已被他人修改，请重新读取后再提交",
                          "the case changed since you read it; read it again")
    elif wanted and wanted.strip():
        raise Problem(412, "该家庭不存在，If-Match 不成立", "no such case, so If-Match fails")
    saved, report, created = service.upsert_case(case_ref, values)
    if saved is None:
        raise Problem(422, "数据未通过校验", "the case breaks the import rules", errors=[
            {"field": e.column, "en": e.en, "zh": e.zh} for e in report.errors])
    db.session.refresh(saved)
    body = _case(saved)
    return _json(body, 201 if created else 200, etag=True,
                 location=url_for("api.case", case_ref=saved.case_ref) if created else None)


# --- service records -----------------------------------------------------------------------

def _photo(record: ServiceRecord, rp: RecordPhoto, bureau: bool) -> dict:
    p = rp.photo
    return {"id": p.id, "sha256": p.sha256, "content_type": p.content_type, "width": p.width, "height": p.height,
            "exif_time": p.exif_time,
            # EXIF positions stay with the bureau, never with providers.
            "exif_lat": p.exif_lat if bureau else None, "exif_lon": p.exif_lon if bureau else None,
            "url": url_for("api.record_photo", record_id=record.id, photo_id=p.id)}


def _record(r: ServiceRecord) -> dict:
    bureau = _is_bureau()
    return _dump(schemas.RecordSchema, {
        "id": r.id, "record_ref": r.record_ref, "contract_id": r.contract_id, "worker_id": r.worker_id,
        "case_id": r.case_id, "case_ref": r.case.case_ref if r.case else None, "service_type": r.service_type_code,
        "started_at": r.started_at, "ended_at": r.ended_at, "minutes": r.minutes, "month": r.month,
        "lat": r.lat if bureau else None, "lon": r.lon if bureau else None, "notes": r.notes,
        "source": r.source.value, "status": r.status.value, "review_reason": r.review_reason, "version": r.version,
        "refuted": r.refuted, "risk_score": r.risk_score, "submitted_at": r.submitted_at,
        "photos": [_photo(r, rp, bureau) for rp in r.photos]})


def _records_query():
    return _provider_scope(sa.select(ServiceRecord).join(Contract, Contract.id == ServiceRecord.contract_id)
                           .join(Provider, Provider.id == Contract.provider_id)).options(
        selectinload(ServiceRecord.photos).selectinload(RecordPhoto.photo), selectinload(ServiceRecord.case))


@bp.get(f"{V1}/records")
@spec.doc(tag="records", summary=_l("List service records"), query=schemas.RecordQuery,
          response=schemas.RecordSchema, page=True)
@api_access()
def records_list():
    args = _load(schemas.RecordQuery, request.args)
    query = _records_query()
    if args.get("contract_id"):
        query = query.where(ServiceRecord.contract_id == args["contract_id"])
    if args.get("status"):
        query = query.where(ServiceRecord.status == args["status"])
    return _json(_page(query, ServiceRecord.id, args, _record))


@bp.get(f"{V1}/records/changes")
@spec.doc(tag="records", summary=_l("Changes of service records since a cursor"), query=schemas.ChangesQuery,
          response=schemas.ChangeSchema, page=True)
@api_access()
def record_changes():
    """Every submission, review, correction and refutation, in order (the records' history)."""
    args = _load(schemas.ChangesQuery, request.args)
    after = _decode_cursor(args.get("cursor"))
    query = _provider_scope(
        sa.select(RecordHistory).join(ServiceRecord, ServiceRecord.id == RecordHistory.record_id)
        .join(Contract, Contract.id == ServiceRecord.contract_id).join(Provider, Provider.id == Contract.provider_id))
    rows = db.session.scalars(query.where(RecordHistory.id > after).order_by(RecordHistory.id)
                              .limit(args["limit"]).options(selectinload(RecordHistory.record))).all()
    change = schemas.ChangeSchema(exclude=("record",))
    items = [{**change.dump({"change_id": h.id, "action": h.action, "version": h.version, "at": h.at}),
              "record": _record(h.record)} for h in rows]
    # The cursor always comes back, also when nothing changed: the client keeps it and asks again.
    return _json({"items": items, "next_cursor": _encode_cursor(rows[-1].id if rows else after)})


@bp.get(f"{V1}/records/<int:record_id>")
@spec.doc(tag="records", summary=_l("One service record with its photos"), response=schemas.RecordSchema,
          etag=True)
@api_access()
def record(record):
    return _json(_record(record), etag=True)


@bp.get(f"{V1}/records/<int:record_id>/photos/<int:photo_id>")
@spec.doc(tag="records", summary=_l("A photo of a service record (display copy, no EXIF)"), media="image/jpeg")
@api_access()
def record_photo(record, stored_photo):
    from flask import send_file

    if db.session.get(RecordPhoto, (record.id, stored_photo.id)) is None:
        raise Problem(404)
    return send_file(get_storage().open(stored_photo.display_sha256), mimetype="image/jpeg", max_age=0)


def _request_hash(fields: dict, uploads: list) -> str:
    digest = hashlib.sha256(json.dumps(sorted((str(k), str(v)) for k, v in fields.items())).encode())
    for upload in uploads:
        digest.update(upload.filename.encode() + b"\0" + hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


def _idempotency_key() -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not (8 <= len(key) <= 100) or not all(ch.isascii() and (ch.isalnum() or ch in "._:-") for ch in key):
        raise Problem(400, "创建须带 Idempotency-Key（8–100 个字母、数字或 ._:-）",
                      "a create needs an Idempotency-Key of 8 to 100 letters, digits or ._:-",
                      errors=[{"field": "Idempotency-Key", "en": "missing or malformed", "zh": "缺少或格式有误"}])
    return key


def _unprocessable(field: str, zh: str, en: str) -> Problem:
    return Problem(422, zh, en, errors=[{"field": field, "zh": zh, "en": en}])


@bp.post(f"{V1}/records")
@spec.doc(tag="records", summary=_l("Submit a service record with photos"), body=schemas.RecordInput,
          multipart=True, response=schemas.RecordSchema, status=201, also=(200,), etag=True, idempotency_key=True)
@api_access(*PROVIDER_ROLES)
def record_create():
    """The phone's submission, through the same service as the page (checks, counters, audit)."""
    key = _idempotency_key()
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "请以 multipart/form-data 提交（照片作为文件）",
                      "send multipart/form-data (photos as files)")
    form = dict(request.form.items())
    uploads = [records.Upload(f.read(), (f.filename or "")[-200:]) for f in request.files.getlist("photos")]
    operation = f"POST {V1}/records"
    request_hash = _request_hash(form, uploads)
    try:
        first = service.remembered(current_user, key, operation, request_hash)
    except service.IdempotencyConflict as exc:
        raise Problem(409, exc.zh, exc.en) from None
    if first is not None:  # a retry: the first answer again, never a second record
        response = _json(first.body, first.status_code, etag=True, location=first.location)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        values = schemas.RecordInput().load(form)
    except ValidationError as exc:
        raise Problem(422, errors=_field_errors(exc.messages)) from None
    contract = db.session.get(Contract, values["contract_id"])
    if contract is None or not contract.visible_to(current_user):
        raise _unprocessable("contract_id", "没有这份合同", "no such contract")
    worker = db.session.get(Staff, values["worker_id"])
    if worker is None or worker.provider_id != contract.provider_id:
        raise _unprocessable("worker_id", "服务人员不在本合同承接主体的人员名册上",
                             "the worker is not on the provider's roster")
    household = None
    if values.get("case_ref"):
        household = db.session.scalar(sa.select(Case).where(Case.case_ref == values["case_ref"],
                                                            Case.visible_filter(current_user)))
        if household is None:
            raise _unprocessable("case_ref", "没有这个家庭（户编号）", "no such household")
    ref = values.get("record_ref") or (
        f"API-{values['started_at']:%Y%m%d}-"
        + base64.b32encode(hashlib.sha256(f"{current_user.id}:{key}".encode()).digest()).decode()[:8])
    if db.session.scalar(sa.select(ServiceRecord.id).where(ServiceRecord.contract_id == contract.id,
                                                           ServiceRecord.record_ref == ref)) is not None:
        raise Problem(409, f"台账编号 {ref} 在本合同中已使用", f"record_ref {ref} is used already in this contract",
                      errors=[{"field": "record_ref", "zh": "台账编号已使用", "en": "record_ref is used already"}])
    if ("lat" in values) != ("lon" in values):
        raise _unprocessable("lat", "纬度和经度须同时填写", "lat and lon go together")
    st = db.session.get(ServiceType, values["service_type"])
    data = records.RecordInput(contract=contract, worker=worker, service_type_code=values["service_type"],
                               started_at=values["started_at"], ended_at=values["ended_at"], case=household,
                               lat=values.get("lat"), lon=values.get("lon"), notes=values.get("notes") or "",
                               record_ref=ref)
    try:
        if st is not None and st.photo_required and not uploads:
            raise records.RecordError(f"“{st.name_zh}”须附现场照片", "this service type needs a photo", "photos")
        saved = records.submit(data, uploads, current_user, RecordSource.PHONE)
    except BilingualError as exc:
        raise _unprocessable(exc.field or "", exc.zh, exc.en) from None
    body = _record(saved)
    location = url_for("api.record", record_id=saved.id)
    service.remember(current_user, key, operation, request_hash, 201, body, location)
    return _json(body, 201, etag=True, location=location)


# --- integrity flags -----------------------------------------------------------------------

def _flag(f: IntegrityFlag) -> dict:
    return _dump(schemas.FlagSchema, {
        "id": f.id, "record_id": f.record_id, "record_ref": f.record.record_ref, "contract_id": f.contract_id,
        "code": f.code, "severity": f.severity, "detail": f.detail, "related_record_id": f.related_record_id,
        "found_at": f.found_at, "dismissed": f.dismissed, "dismissed_at": f.dismissed_at,
        "dismiss_reason": f.dismiss_reason or ""})


@bp.get(f"{V1}/flags")
@spec.doc(tag="integrity", summary=_l("Integrity flags (not dismissed ones unless asked)"),
          query=schemas.FlagQuery, response=schemas.FlagSchema, page=True)
@api_access()
def flags():
    args = _load(schemas.FlagQuery, request.args)
    query = _provider_scope(sa.select(IntegrityFlag).join(Contract, Contract.id == IntegrityFlag.contract_id)
                            .join(Provider, Provider.id == Contract.provider_id)).options(
        selectinload(IntegrityFlag.record))
    if not args["include_dismissed"]:
        query = query.where(IntegrityFlag.dismissed_at.is_(None))
    for name in ("contract_id", "record_id", "code"):
        if args.get(name):
            query = query.where(getattr(IntegrityFlag, name) == args[name])
    return _json(_page(query, IntegrityFlag.id, args, _flag))


@bp.get(f"{V1}/flags/<int:flag_id>")
@spec.doc(tag="integrity", summary=_l("One integrity flag"), response=schemas.FlagSchema, etag=True)
@api_access()
def flag(flag):
    return _json(_flag(flag), etag=True)


# --- spot checks ---------------------------------------------------------------------------

def _number(value):
    return None if value is None else float(value)


@bp.get(f"{V1}/contracts/<int:contract_id>/spotcheck-results")
@spec.doc(tag="spotchecks", summary=_l("Spot-check results of a contract"), query=schemas.ResultsQuery,
          response=schemas.SpotCheckResultsSchema)
@api_access()
def spotcheck_results(contract):
    args = _load(schemas.ResultsQuery, request.args)
    day_from: date = args.get("day_from") or contract.starts_on
    day_to: date = args.get("day_to") or contract.ends_on
    if day_to < day_from:
        raise Problem(400, "结束日期早于开始日期", "`to` is before `from`")
    out = spotchecks.contract_results(contract, day_from, day_to)
    body = {**out, "contract_id": contract.id, "day_from": day_from, "day_to": day_to,
            **{k: _number(out[k]) for k in ("false_rate", "lower", "upper", "upper_one_sided", "confidence")}}
    return _json(_dump(schemas.SpotCheckResultsSchema, body))


def _draw(d: SpotCheckDraw) -> dict:
    return _dump(schemas.DrawSchema, {
        "id": d.id, "contract_id": d.contract_id, "day_from": d.day_from, "day_to": d.day_to,
        "status": d.status.value, "size_rule": d.size_rule.value, "size": d.size, "risk_size": d.risk_size,
        "population_size": d.population_size, "frame_hash": d.frame_hash, "seed": d.seed, "drawn_at": d.drawn_at,
        "published_at": d.published_at,
        "items": [{"record_id": i.record_id, "record_ref": i.record_ref, "ticket": i.ticket,
                   "stratum": i.stratum.value, "outcome": i.outcome.value if i.outcome else None,
                   "checked_at": i.checked_at} for i in d.items]})


@bp.get(f"{V1}/spotcheck-draws")
@spec.doc(tag="spotchecks", summary=_l("Spot-check draws"), query=schemas.DrawQuery, response=schemas.DrawSchema,
          page=True)
@api_access(*BUREAU_ROLES)
def spotcheck_draws():
    args = _load(schemas.DrawQuery, request.args)
    query = sa.select(SpotCheckDraw).options(selectinload(SpotCheckDraw.items))
    if args.get("contract_id"):
        query = query.where(SpotCheckDraw.contract_id == args["contract_id"])
    return _json(_page(query, SpotCheckDraw.id, args, _draw))


@bp.get(f"{V1}/spotcheck-draws/<int:draw_id>")
@spec.doc(tag="spotchecks", summary=_l("One spot-check draw with its sample"), response=schemas.DrawSchema,
          etag=True)
@api_access(*BUREAU_ROLES)
def spotcheck_draw(draw):
    return _json(_draw(draw), etag=True)


# --- assessments ---------------------------------------------------------------------------

def _assessment(a: Assessment) -> dict:
    return _dump(schemas.AssessmentSchema, {
        "id": a.id, "contract_id": a.contract_id, "period": a.period, "period_key": a.period_key,
        "day_from": a.day_from, "day_to": a.day_to, "status": a.status.value, "total": f"{a.total:.2f}",
        "grade": a.grade, "coefficient": None if a.coefficient is None else f"{a.coefficient:.2f}",
        "consequences": [c for c in (a.consequences or "").split(",") if c], "sent_at": a.sent_at,
        "comment_until": a.comment_until, "signed_at": a.signed_at,
        "scores": [{"indicator_id": s.indicator_id, "indicator": s.indicator.name,
                    "points": None if s.points is None else f"{s.points:.2f}", "figure": s.figure or ""}
                   for s in a.scores]})


@bp.get(f"{V1}/assessments")
@spec.doc(tag="assessments", summary=_l("Periodic assessments"), query=schemas.AssessmentQuery,
          response=schemas.AssessmentSchema, page=True)
@api_access()
def assessments_list():
    args = _load(schemas.AssessmentQuery, request.args)
    query = assessments.visible_query(current_user, args.get("status")).options(selectinload(Assessment.scores))
    if args.get("contract_id"):
        query = query.where(Assessment.contract_id == args["contract_id"])
    return _json(_page(query, Assessment.id, args, _assessment))


@bp.get(f"{V1}/assessments/<int:assessment_id>")
@spec.doc(tag="assessments", summary=_l("One assessment with its scores"), response=schemas.AssessmentSchema,
          etag=True)
@api_access()
def assessment(assessment):
    return _json(_assessment(assessment), etag=True)


# --- annual evaluations --------------------------------------------------------------------

#: Who reads evaluations and payments: as on their pages, the bureau and the provider's manager.
READERS = (*BUREAU_ROLES, Role.PROVIDER_MANAGER)


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _evaluation(e: Evaluation) -> dict:
    # What the evaluation page shows this role: a provider sees no draft (``visible_to``), and
    # no spot-check draws; nobody's name (assessor, signer, commenter) comes through.
    return _dump(schemas.EvaluationSchema, {
        "id": e.id, "contract_id": e.contract_id, "year_no": e.year_no, "year": e.year, "day_from": e.day_from,
        "day_to": e.day_to, "due_on": e.due_on, "status": e.status.value, "origin": e.origin,
        "figures_at": e.figures_at, "mean": _money(evaluations.mean_score(e)), "rating": e.rating, "rebuy": e.rebuy,
        "summary": e.summary or "", "sent_at": e.sent_at, "comment_until": e.comment_until,
        "comments_closed_at": e.comments_closed_at, "signed_at": e.signed_at, "doc_no": e.doc_no,
        "dimensions": [{"code": code, "name": name, "score": _money(d.score) if d else None,
                        "narrative": (d.narrative or "") if d else "", "scored_at": d.scored_at if d else None,
                        "indicators": [{"key": str(i.get("key") or ""), "name": str(i.get("name") or ""),
                                        "figure": str(i.get("figure") or ""), "source": str(i.get("source") or ""),
                                        "value": None if i.get("value") is None else str(i["value"])}
                                       for i in e.indicators_of(code)]}
                       for code, name in evaluation_rules.DIMENSIONS for d in [e.dimension(code)]],
        "comments": [{"kind": c.kind, "text": c.text or "", "at": c.at} for c in e.comments]})


@bp.get(f"{V1}/evaluations")
@spec.doc(tag="evaluations", summary=_l("Annual evaluations"), query=schemas.EvaluationQuery,
          response=schemas.EvaluationSchema, page=True)
@api_access(*READERS)
def evaluations_list():
    args = _load(schemas.EvaluationQuery, request.args)
    query = evaluations.visible_query(current_user, args.get("status")).options(
        selectinload(Evaluation.dimensions), selectinload(Evaluation.comments))
    if args.get("contract_id"):
        query = query.where(Evaluation.contract_id == args["contract_id"])
    if args.get("year"):
        query = query.where(Evaluation.year == args["year"])
    return _json(_page(query, Evaluation.id, args, _evaluation))


@bp.get(f"{V1}/evaluations/<int:evaluation_id>")
@spec.doc(tag="evaluations", summary=_l("One annual evaluation with its dimensions and figures"),
          response=schemas.EvaluationSchema, etag=True)
@api_access(*READERS)
def evaluation(evaluation):
    return _json(_evaluation(evaluation), etag=True)


# --- payments and fund use -----------------------------------------------------------------

def _instalment(i: Instalment) -> dict:
    return _dump(schemas.InstalmentSchema, {
        "id": i.id, "contract_id": i.contract_id, "number": i.number, "share": f"{i.share:.4f}",
        "planned": _money(i.planned), "due_on": i.due_on, "milestone": i.milestone or "",
        "period_from": i.period_from, "period_to": i.period_to, "entry_ids": [e.id for e in i.entries]})


@bp.get(f"{V1}/contracts/<int:contract_id>/instalments")
@spec.doc(tag="payments", summary=_l("Payment plan of a contract"), query=schemas.PageQuery,
          response=schemas.InstalmentSchema, page=True)
@api_access(*READERS)
def instalments(contract):
    args = _load(schemas.PageQuery, request.args)
    query = sa.select(Instalment).where(Instalment.contract_id == contract.id).options(
        selectinload(Instalment.entries), selectinload(Instalment.contract))
    return _json(_page(query, Instalment.id, args, _instalment))


def _payment(p: PaymentEntry) -> dict:
    d = p.disbursement
    return _dump(schemas.PaymentSchema, {
        "id": p.id, "contract_id": p.contract_id, "instalment_id": p.instalment_id,
        "instalment_number": p.instalment.number, "kind": p.kind.value, "reverses_id": p.reverses_id,
        "status": p.status.value, "planned": _money(p.planned), "computed": _money(p.computed),
        "deductions": _money(p.deductions), "amount": _money(p.amount), "signed_amount": _money(p.signed_amount),
        "computation": [{"kind": str(line.get("kind") or ""), "text_zh": str(line.get("text_zh") or ""),
                         "text_en": str(line.get("text_en") or ""),
                         "amount": _money(Decimal(str(line.get("amount") or "0")))}
                        for line in p.computation or []],
        "note": p.note or "", "proposed_at": p.proposed_at, "decided_at": p.decided_at,
        "decision_note": p.decision_note or "", "disbursed_on": d.disbursed_on if d else None,
        "voucher_no": d.voucher_no if d else None})


@bp.get(f"{V1}/payments")
@spec.doc(tag="payments", summary=_l("Payment entries"), query=schemas.PaymentQuery,
          response=schemas.PaymentSchema, page=True)
@api_access(*READERS)
def payments_list():
    args = _load(schemas.PaymentQuery, request.args)
    query = payments.visible_entries(current_user, status=args.get("status")).options(
        selectinload(PaymentEntry.instalment), selectinload(PaymentEntry.disbursement))
    if args.get("contract_id"):
        query = query.where(PaymentEntry.contract_id == args["contract_id"])
    if args.get("kind"):
        query = query.where(PaymentEntry.kind == args["kind"])
    return _json(_page(query, PaymentEntry.id, args, _payment))


@bp.get(f"{V1}/payments/<int:payment_entry_id>")
@spec.doc(tag="payments", summary=_l("One payment entry with its computation"), response=schemas.PaymentSchema,
          etag=True)
@api_access(*READERS)
def payment(entry):
    return _json(_payment(entry), etag=True)


def _fund_use_report(r: FundUseReport) -> dict:
    check = payments.check_report(r)
    line_ids = [line.id for line in r.lines]
    return _dump(schemas.FundUseReportSchema, {
        "id": r.id, "contract_id": r.contract_id, "period_from": r.period_from, "period_to": r.period_to,
        "status": r.status.value, "note": r.note or "", "submitted_at": r.submitted_at,
        "reviewed_at": r.reviewed_at, "review_note": r.review_note or "", "total": _money(r.total),
        "fee_share": None if check.fee_share is None else f"{check.fee_share:.4f}",
        "unit_cost": _money(check.unit_cost),
        "lines": [{"id": line.id, "category": line.category.value, "purpose": line.purpose,
                   "amount": _money(line.amount), "receipts": len(line.receipts)} for line in r.lines],
        "findings": [{"kind": f.kind, "zh": f.text_zh, "en": f.text_en,
                      "line_id": line_ids[f.line] if f.line is not None and f.line < len(line_ids) else None}
                     for f in check.findings]})


@bp.get(f"{V1}/fund-use-reports")
@spec.doc(tag="payments", summary=_l("Fund-use reports"), query=schemas.FundUseQuery,
          response=schemas.FundUseReportSchema, page=True)
@api_access(*READERS)
def fund_use_reports():
    args = _load(schemas.FundUseQuery, request.args)
    query = payments.visible_reports(current_user).options(
        selectinload(FundUseReport.lines).selectinload(FundUseLine.receipts))
    if args.get("contract_id"):
        query = query.where(FundUseReport.contract_id == args["contract_id"])
    if args.get("status"):
        query = query.where(FundUseReport.status == args["status"])
    return _json(_page(query, FundUseReport.id, args, _fund_use_report))


@bp.get(f"{V1}/fund-use-reports/<int:fund_report_id>")
@spec.doc(tag="payments", summary=_l("One fund-use report with its lines and checks"),
          response=schemas.FundUseReportSchema, etag=True)
@api_access(*READERS)
def fund_use_report(report):
    return _json(_fund_use_report(report), etag=True)


# --- the token pages -----------------------------------------------------------------------

@bp.route("/api/tokens", methods=["GET", "POST"])
@restrict_access()
def tokens():
    """Create, list and revoke my access tokens; a new token is shown once, on this answer only."""
    form = TokenForm()
    shown = None
    if form.validate_on_submit():
        try:
            token, shown = service.create_token(current_user, form.name.data, form.days.data)
        except service.TokenError as exc:
            db.session.rollback()
            flash(in_locale(exc), "danger")
        else:
            flash(_("Token created. Copy it now: it will not be shown again."), "success")
            form = TokenForm(formdata=None)
    response = make_response(render_template("api/tokens.html", form=form, shown=shown,
                                             tokens=service.tokens_of(current_user), revoke_form=RevokeForm(),
                                             now=service.utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/api/tokens/all")
@restrict_access(Role.ADMIN)
def tokens_admin():
    return render_template("api/tokens_admin.html", tokens=service.all_tokens(), revoke_form=RevokeForm(),
                           now=service.utcnow())


def _revoke_from_form(mine_only: bool):
    form = RevokeForm()
    if form.validate_on_submit():
        token = db.session.get(ApiToken, request.form.get("token_id", type=int) or 0)
        if token is None or (mine_only and token.user_id != current_user.id):
            flash(_("No such token."), "danger")
        elif service.revoke_token(token, current_user):
            flash(_("Token revoked."), "success")


@bp.route("/api/tokens/revoke", methods=["POST"])
@restrict_access()
def token_revoke():
    """The owner revokes one of their own tokens."""
    _revoke_from_form(mine_only=True)
    return redirect(url_for("api.tokens"))


@bp.route("/api/tokens/all/revoke", methods=["POST"])
@restrict_access(Role.ADMIN)
def token_revoke_any():
    """An administrator revokes anyone's token (a lost phone, a person who left)."""
    _revoke_from_form(mine_only=False)
    return redirect(url_for("api.tokens_admin"))
