"""Every import format fuzzed with Hypothesis: no unhandled error, no 500, no partial write (issue 15).

Files are generated from each format's own columns (``Column`` lists of the rooms): headers
in English or Chinese, shuffled, missing or doubled; cells that are valid, nearly valid or
hostile (NUL, bidi marks, formulas, huge numbers, full-width digits); written as UTF-8,
UTF-8 with BOM, GB18030 or XLSX, or broken into bytes. Through the service functions each
example runs inside a savepoint: a refused all-or-nothing import must leave every table's
row count as it was — before any rollback by the caller. Through the web pages (test
client) no answer may be a 500, and a page that says nothing was imported must mean it.
"""

from __future__ import annotations

import csv
import io
import string
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from reliefsvc.extensions import db as _db
from tests.conftest import make_code, make_id

# No shrinking: a failure is reported as found (shrinking a file through the app can take minutes).
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
WEB = settings(FUZZ, max_examples=10)

HOSTILE = ["", " ", "0", "-1", "1e309", "NaN", "inf", "9" * 40, "２０２６－０１－０１", "=cmd|' /C calc'!A0",
           "\x00", "a\x00b", "\u202e", "\ufeff", "是", "否", "x,y", '"', "\n", "../../etc/passwd", "<script>",
           "2026-02-30", "2026/13/01", "2026年1月1日", "35.123456", "-200", "1" * 18, "62292219850101123X"]


def _value_for(name: str):
    """A strategy for one cell: plausible for the column more often than not."""
    valid = {
        "code": st.sampled_from(["622922", "622922100", "622922100201", "6229221002019", "62"]),
        "parent_code": st.sampled_from(["", "622922", "622922100", "999999"]),
        "level": st.sampled_from(["county", "township", "village", "县", "乡镇", "村", "city"]),
        "uscc": st.integers(1, 5).map(make_code),
        "provider_uscc": st.integers(1, 5).map(make_code),
        "id_number": st.integers(1, 40).map(make_id),
        "worker_id_number": st.integers(1, 3).map(make_id),
        "org_type": st.sampled_from(["social_org", "enterprise", "社会组织", "企业", "other"]),
        "role": st.sampled_from(["coordinator", "social_worker", "协理员", "boss"]),
        "phone": st.sampled_from(["13900000000", "0930-1111111", "139", ""]),
        "village_code": st.sampled_from(["622922100201", "622922100202", "622922100299"]),
        "categories": st.sampled_from(["dibao", "tekun", "低保", "dibao;tekun", "x"]),
        "household_size": st.integers(-2, 30).map(str),
        "status": st.sampled_from(["active", "closed", "draft", "在保", "停保", "dead"]),
        "alert_level": st.sampled_from(["", "red", "orange", "yellow", "红", "purple"]),
        "lat": st.floats(-100, 100, allow_nan=False).map(lambda f: f"{f:.5f}"),
        "lon": st.floats(-200, 200, allow_nan=False).map(lambda f: f"{f:.5f}"),
        "amount": st.decimals(-10, 10**9, places=2, allow_nan=False).map(str),
        "pricing_model": st.sampled_from(["output", "outcome", "按产出", "x"]),
        "payment_linked": st.sampled_from(["1", "0", "是", "否", "maybe"]),
        "service_area": st.sampled_from(["622922100201", "622922100201;622922100202", "nowhere"]),
        "period": st.sampled_from(["month", "quarter", "year", "月", "week"]),
        "target": st.integers(-1, 500).map(str),
        "unit": st.sampled_from(["records", "cases", "hours", "次", "kg"]),
        "service_type": st.sampled_from(["home_visit", "care", "入户走访", "approval_decision", "x"]),
        "contract_no": st.sampled_from(["康民购〔2026〕1号", "康民购〔2026〕2号", "FZ-1"]),
        "case_ref": st.sampled_from(["HH-100", "HH-101", "HH000001", "6229221002010001", "x"]),
        "record_ref": st.text(string.ascii_uppercase + string.digits + "-", min_size=1, max_size=12),
        "photos": st.sampled_from(["", "a.jpg", "a.jpg;b.png", "../x.jpg", "missing.jpg", "/etc/passwd"]),
    }.get(name)
    if valid is None:
        if name.endswith(("_on", "_until")) or name in ("starts_on", "ends_on"):
            valid = st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: d.isoformat())
        elif name.endswith("_at"):
            valid = st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M"))
        elif name in ("nominated_by_purchaser", "attendance_by_purchaser"):
            valid = st.sampled_from(["1", "0", "是", "否", "yes"])
        else:
            valid = st.text(min_size=1, max_size=12)
    return st.one_of(valid, valid, st.sampled_from(HOSTILE), st.text(max_size=20))


@st.composite
def table_files(draw, columns):
    """(bytes, filename, encoding) of a CSV or XLSX file for ``columns``, valid-ish or broken."""
    chosen = draw(st.lists(st.sampled_from(columns), min_size=0, max_size=len(columns) + 1))
    if draw(st.booleans()):  # usually every column, in some order
        chosen = draw(st.permutations(columns))
    header = [draw(st.sampled_from([c.name, c.zh, c.name.upper(), f" {c.zh} "])) for c in chosen]
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(st.text(max_size=8)))
    rows = draw(st.lists(st.tuples(*[_value_for(c.name) for c in chosen]) if chosen else st.just(()),
                         min_size=0, max_size=6))
    kind = draw(st.sampled_from(["csv", "csv", "csv-bom", "gb18030", "xlsx", "xlsx", "bytes", "broken-xlsx"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400)), draw(st.sampled_from(["f.csv", "f.xlsx", "f"])), "utf-8"
    if kind.endswith("xlsx"):
        data = _xlsx(header, rows)
        if kind == "broken-xlsx":
            # fractions, not byte positions: the workbook's length varies with its save time
            cut = int(draw(st.floats(0, 1)) * len(data))
            flip = int(draw(st.floats(0, 1)) * max(0, len(data) - 1))
            data = bytearray(data[:cut] + data[cut:][: draw(st.integers(0, 50))])
            if data and flip < len(data):
                data[flip] ^= 0xFF
            data = bytes(data)
        return data, "f.xlsx", "utf-8"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if kind == "gb18030":
        return text.encode("gb18030", errors="replace"), "f.csv", draw(st.sampled_from(["gb18030", "utf-8"]))
    prefix = "\ufeff" if kind == "csv-bom" else ""
    return (prefix + text).encode("utf-8", errors="surrogatepass"), "f.csv", draw(
        st.sampled_from(["utf-8", "utf-8", "gb18030", "latin-9", "no-such-codec"]))


_ILLEGAL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def _xlsx(header, rows) -> bytes:
    from openpyxl import Workbook

    def clean(value):
        # openpyxl refuses control characters; a real workbook cannot hold them either.
        return "".join(ch for ch in str(value) if ch not in _ILLEGAL and not 0xD800 <= ord(ch) <= 0xDFFF)

    wb = Workbook()
    sheet = wb.active
    sheet.append([clean(h) for h in header])
    for row in rows:
        sheet.append([_typed(clean(v)) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _typed(text: str):
    """Some cells as numbers or dates, as Excel stores them."""
    if text.isascii() and text.isdigit() and len(text) < 15:
        return int(text)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def row_counts() -> dict[str, int]:
    _db.session.flush()
    conn = _db.session.connection()
    return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in _db.metadata.sorted_tables}


def run_refusable(importer, data, filename, encoding, partial=False):
    """Run one import in a savepoint; a refused one must have written nothing at all."""
    before = row_counts()
    savepoint = _db.session.begin_nested()
    try:
        report = importer(data, filename=filename, encoding=encoding, partial=partial)
        _db.session.flush()
        if not report.written:
            assert report.errors, "an import that wrote nothing says why"
            after = row_counts()
            assert after == before, {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        for error in report.errors:
            assert error.zh and error.en
    finally:
        savepoint.rollback()
        _db.session.info.pop("audit_last_row", None)
    return report


def _new_audit(seq: int) -> list[tuple[str, str]]:
    from reliefsvc.audit.models import AuditEntry

    return [(e.event_type, e.payload[:200]) for e in _db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.seq > seq))]


# --- the scene the files refer to ---------------------------------------------------------------

@pytest.fixture
def scene(create_contract, create_provider, create_case, villages, create_user):
    from reliefsvc.providers import service as providers

    contract = create_contract(provider=create_provider(uscc=make_code(1)))
    for n in (1, 2, 3):
        providers.add_staff(contract.provider, id_number=make_id(n), name=f"员工{n}", role="coordinator")
    create_case(villages[0], ref="HH-100")
    _db.session.flush()
    return {"contract": contract, "provider": contract.provider, "officer": create_user("officer"),
            "admin": create_user("admin")}


# --- through the service functions ------------------------------------------------------------

def _importers(scene):
    from reliefsvc.api.service import sync_cases
    from reliefsvc.cases.rules import COLUMNS as CASE_COLUMNS
    from reliefsvc.cases.service import import_cases
    from reliefsvc.contracts import service as contracts
    from reliefsvc.evidence import ledger
    from reliefsvc.providers import service as providers
    from reliefsvc.regions.rules import COLUMNS as REGION_COLUMNS
    from reliefsvc.regions.service import import_regions

    contract, provider, officer = scene["contract"], scene["provider"], scene["officer"]
    return {
        "regions": (REGION_COLUMNS, import_regions),
        "providers": (providers.PROVIDER_COLUMNS, providers.import_providers),
        "staff": (providers.STAFF_COLUMNS, lambda d, **kw: providers.import_staff(provider, d, **kw)),
        "contracts": (contracts.CONTRACT_COLUMNS, lambda d, **kw: contracts.import_contracts(d, user=officer, **kw)),
        "obligations": (contracts.OBLIGATION_COLUMNS,
                        lambda d, **kw: contracts.import_obligations(d, user=officer, **kw)),
        "cases": (CASE_COLUMNS, import_cases),
        "cases-sync": (CASE_COLUMNS, sync_cases),
        "ledger": (ledger.COLUMNS, lambda d, **kw: ledger.import_ledger(contract, d, user=officer, **kw)),
    }


FORMATS = ["regions", "providers", "staff", "contracts", "obligations", "cases", "cases-sync", "ledger"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_imports_never_fail_and_never_half_write(fmt, scene, db):
    columns, importer = _importers(scene)[fmt]

    @FUZZ
    @given(file=table_files(columns), partial=st.booleans())
    def check(file, partial):
        data, filename, encoding = file
        run_refusable(importer, data, filename, encoding, partial=partial)

    check()


# --- through the web pages ----------------------------------------------------------------------

WEB_IMPORTS = {
    "regions": ("/regions/import", "admin"),
    "providers": ("/providers/import", "officer"),
    "staff": ("/providers/{provider_id}/staff/import", "officer"),
    "contracts": ("/contracts/import?kind=contracts", "officer"),
    "obligations": ("/contracts/import?kind=obligations", "officer"),
    "cases": ("/cases/import", "officer"),
    "ledger": ("/records/ledger", "officer"),
}


@pytest.mark.parametrize("fmt", sorted(WEB_IMPORTS))
def test_web_imports_never_answer_500_and_refusals_write_nothing(fmt, scene, client, login, db):
    url, who = WEB_IMPORTS[fmt]
    url = url.format(provider_id=scene["provider"].id)
    columns = _importers(scene)[fmt][0]
    login(scene[who], locale="zh_CN")

    @WEB
    @given(file=table_files(columns), partial=st.booleans(), name=st.sampled_from(["f.csv", "f.xlsx", "../../f.csv"]))
    def check(file, partial, name):
        data, _filename, encoding = file
        before = row_counts()
        form = {"file": (io.BytesIO(data), name), "encoding": encoding if encoding in ("utf-8", "gb18030") else "utf-8"}
        if partial:
            form["partial"] = "y"
        if fmt == "ledger":
            form["contract_id"] = str(scene["contract"].id)
        response = client.post(url, data=form, content_type="multipart/form-data")
        assert response.status_code < 500
        page = response.get_data(as_text=True)
        # all-or-nothing: a page that did not report a finished import wrote nothing
        if not partial and ("未导入任何数据" in page or "导入完成" not in page):
            after = row_counts()
            assert after == before, ({t: (before[t], after[t]) for t in before if before[t] != after[t]},
                                     _new_audit(before["audit_entry"]), response.status_code, page[-3000:])
        _db.session.info.pop("audit_last_row", None)

    check()
