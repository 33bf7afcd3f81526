"""``reliefsvc cases import`` as in the interchange spec: rules, errors, idempotency, --partial."""

import csv
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import Workbook

from reliefsvc.audit.models import AuditEntry
from reliefsvc.cases import service
from reliefsvc.cases.models import Alert, Case, CaseStatus, Category, DiscoveryStatus
from tests.cases.conftest import LOCAL, NOW, last_line, make_id, write, wrong_check
from tests.conftest import count

HEADER = ("case_ref,head_name,id_number,village_code,categories,household_size,status,status_changed_on,"
          "alert_level,alert_issued_at,lat,lon\n")
GOOD = (HEADER
        + f"H001,马建国,{make_id(1)},622922100201,dibao,3,active,,,,35.381,103.721\n"
        + f"H002,李秀兰,{make_id(2)},622922100201,低保;监测对象,2,正常,,red,2026-11-20 08:00,,\n"
        + f"H003,王德胜,{make_id(3)},622922100202,tekun,1,deceased,2026-10-01,none,,,\n"
        + f"H004,韩春花,{make_id(4)},622922101201,bianyuan；jiance,4,暂停,2026/09/15,黄,2026-11-19 20:00,,\n")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def case(ref: str) -> Case:
    from reliefsvc.extensions import db

    return db.session.scalar(sa.select(Case).where(Case.case_ref == ref))


def test_import_creates_households_categories_and_alerts(run_cli, tmp_path, place, db):
    result = run_cli("cases", "import", write(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert last_line(result) == "imported 4, updated 0, rejected 0"
    first = case("H001")
    assert (first.head_name, first.head_id_number, first.village, first.household_size) == \
        ("马建国", make_id(1), place.village, 3)
    assert first.status is CaseStatus.ACTIVE and first.status_changed_on is None
    assert (first.lat, first.lon) == (35.381, 103.721)
    assert case("H002").categories == [Category.DIBAO, Category.JIANCE]
    assert case("H004").categories == [Category.BIANYUAN, Category.JIANCE]
    assert case("H004").status is CaseStatus.SUSPENDED and case("H004").status_changed_on == date(2026, 9, 15)
    assert case("H003").status is CaseStatus.DECEASED and case("H003").open_alert is None
    red = case("H002").open_alert
    assert red.level.value == "red"
    assert red.issued_at == datetime(2026, 11, 20, 8, 0, tzinfo=LOCAL)
    assert red.due_at == datetime(2026, 11, 21, 8, 0, tzinfo=LOCAL)  # 24 hours
    assert case("H004").open_alert.due_at == datetime(2026, 11, 26, 20, 0, tzinfo=LOCAL)  # yellow: 168 hours
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "cases.imported"))
    assert '"imported":4' in entry.payload and '"alerts_issued":2' in entry.payload


def test_reimporting_the_same_file_changes_nothing(run_cli, tmp_path, place, db):
    path = write(tmp_path, GOOD)
    assert run_cli("cases", "import", path).exit_code == 0
    snapshot = [(c.case_ref, c.updated_at) for c in db.session.scalars(sa.select(Case).order_by(Case.id))]
    again = run_cli("cases", "import", path)
    assert again.exit_code == 0
    assert last_line(again) == "imported 0, updated 0, rejected 0"
    assert [(c.case_ref, c.updated_at) for c in db.session.scalars(sa.select(Case).order_by(Case.id))] == snapshot
    assert count(Case) == 4 and count(Alert) == 2


def test_a_changed_row_updates_that_household_only(run_cli, tmp_path, place):
    assert run_cli("cases", "import", write(tmp_path, GOOD)).exit_code == 0
    changed = GOOD.replace("H001,马建国", "H001,马建国").replace(",dibao,3,active", ",dibao;linshi,4,active")
    result = run_cli("cases", "import", write(tmp_path, changed, "again.csv"))
    assert last_line(result) == "imported 0, updated 1, rejected 0"
    assert case("H001").household_size == 4 and Category.LINSHI in case("H001").categories
    # a status change takes the file's date, or today when the file gives none for "active"
    reopened = changed.replace(f"H004,韩春花,{make_id(4)},622922101201,bianyuan；jiance,4,暂停,2026/09/15",
                            f"H004,韩春花,{make_id(4)},622922101201,bianyuan；jiance,4,active,")
    result = run_cli("cases", "import", write(tmp_path, reopened, "reopened.csv"))
    assert last_line(result) == "imported 0, updated 1, rejected 0"
    assert case("H004").status is CaseStatus.ACTIVE and case("H004").status_changed_on == date(2026, 11, 20)


def test_chinese_headers_gb18030_and_xlsx(run_cli, tmp_path, place):
    chinese = ("户编号,户主姓名,身份证号,村代码,救助类别,家庭人口,状态,状态变更日期,预警等级,预警时间,纬度,经度\n"
               f"H101,马小军,{make_id(11)},622922100201,特困,1,停保,2026年10月8日,无,,,\n")
    result = run_cli("cases", "import", "--encoding", "gb18030", write(tmp_path, chinese, encoding="gb18030"))
    assert result.exit_code == 0, result.output
    assert case("H101").status is CaseStatus.CLOSED and case("H101").status_changed_on == date(2026, 10, 8)

    wb = Workbook()
    ws = wb.active
    ws.append(["预警等级", "户编号", "户主姓名", "身份证号", "村代码", "救助类别", "家庭人口", "预警时间"])
    ws.append(["橙色预警", "H102", "白玉梅", make_id(12), 622922100202, "dibao", 3, datetime(2026, 11, 20, 7, 30)])
    path = tmp_path / "cases.xlsx"
    wb.save(path)
    result = run_cli("cases", "import", str(path))
    assert result.exit_code == 0, result.output
    alert = case("H102").open_alert
    assert alert.level.value == "orange" and alert.due_at == datetime(2026, 11, 23, 7, 30, tzinfo=LOCAL)


ROW = "H010,马海燕,{id},{village},{categories},{size},{status},{changed},{level},{issued},{lat},{lon}"


def row(**values) -> str:
    defaults = dict(id=make_id(10), village="622922100201", categories="dibao", size=2, status="", changed="",
                    level="", issued="", lat="", lon="")
    return ROW.format(**{**defaults, **values}) + "\n"


@pytest.mark.parametrize("line,message", [
    (row(id=wrong_check(make_id(10))), "row 2, id_number: check digit wrong / 身份证号：身份证号校验位错误"),
    (row(village="622922100299"), "row 2, village_code: village 622922100299 does not exist / 村代码 622922100299 不存在"),
    (row(village="622922100"), "row 2, village_code: region 622922100 is not a village / 区划 622922100 不是村级区划"),
    (row(status="closed"), "row 2, status_changed_on: status_changed_on is required unless the status is active"
                           " / 状态不是“正常”时须填写状态变更日期"),
    (row(status="停保", changed="2026-12-01"), "row 2, status_changed_on: status_changed_on lies in the future"),
    (row(level="red"), "row 2, alert_issued_at: alert_issued_at is required when an alert level is set"
                       " / 填写了预警等级时须填写预警时间"),
    (row(level="red", issued="2026-11-21 08:00"), "row 2, alert_issued_at: alert_issued_at lies in the future"),
    (row(size=0), "row 2, household_size: must be at least 1 / 家庭人口：不能小于 1"),
    (row(categories="dibao;xiaokang"), "row 2, categories: 'xiaokang' is not one of dibao, tekun, linshi, bianyuan, jiance"),
    (row(categories=";"), "row 2, categories: at least one category is required"),
    (row(status="dead"), "row 2, status: 'dead' is not one of active, suspended, closed, deceased"),
    (row(level="purple", issued="2026-11-20 08:00"), "row 2, alert_level: 'purple' is not one of none, yellow, orange, red"),
    (row(issued="yesterday", level="red"), "row 2, alert_issued_at: invalid time 'yesterday'"),
    (row(lat="35.38"), "row 2, lat: lat and lon go together / 纬度和经度须同时填写"),
    (row(lat="135.38", lon="103.7"), "row 2, lat: latitude must lie between -90 and 90"),
    (row().replace("马海燕", ""), "row 2, head_name: head_name is required / 户主姓名不能为空"),
    (row().replace("H010", "H 010"), "row 2, case_ref: a case_ref has up to 40 letters, digits, '-' or '_'"),
    (row() + row(id=make_id(11)), "row 3, case_ref: case_ref H010 repeats row 2 / 户编号 H010 与第 2 行重复"),
    (row() + row().replace("H010", "H011"), "row 3, id_number: id_number repeats row 2 / 身份证号与第 2 行重复"),
])
def test_each_error_names_row_column_and_reason_and_nothing_is_written(line, message, run_cli, tmp_path, place):
    result = run_cli("cases", "import", write(tmp_path, HEADER + line))
    assert result.exit_code == 1
    assert message in result.output
    assert "nothing written" in result.output and "未导入" in result.output
    assert count(Case) == 0


def test_a_missing_column_is_refused_before_any_row(run_cli, tmp_path, place):
    result = run_cli("cases", "import", write(tmp_path, HEADER.replace("village_code,", "") + "H1,甲\n"))
    assert result.exit_code == 1
    assert "row 1, village_code: required column village_code (村代码) is missing" in result.output


def test_an_id_number_of_another_household_is_refused(run_cli, tmp_path, place, create_case):
    create_case("H500", head_id_number=make_id(10))
    result = run_cli("cases", "import", write(tmp_path, HEADER + row()))
    assert result.exit_code == 1
    assert "row 2, id_number: this ID number is the head of case H500 / 该身份证号已是户编号 H500 的户主" in result.output


def test_all_or_nothing_with_an_error_file_then_partial(run_cli, tmp_path, place):
    text = GOOD + row(village="622922199999")
    errors = tmp_path / "errors.csv"
    result = run_cli("cases", "import", write(tmp_path, text), "--errors", str(errors))
    assert result.exit_code == 1 and count(Case) == 0
    with errors.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"row": "6", "column": "village_code", "error_zh": "村代码 622922199999 不存在",
                     "error_en": "village 622922199999 does not exist"}]
    result = run_cli("cases", "import", "--partial", write(tmp_path, text))
    assert result.exit_code == 0
    assert last_line(result) == "imported 4, updated 0, rejected 1"
    assert count(Case) == 4


def test_a_discovered_household_takes_its_official_number(run_cli, tmp_path, place, create_provider_user,
                                                          discovery, db):
    _provider, worker = create_provider_user()
    found = service.discover_case(discovery(id_number=make_id(10)), worker)
    assert found.case_ref.startswith("FX20261120")
    result = run_cli("cases", "import", write(tmp_path, HEADER + row(categories="linshi")))
    assert last_line(result) == "imported 0, updated 1, rejected 0"
    db.session.refresh(found)
    assert found.case_ref == "H010" and found.discovery_status is DiscoveryStatus.CONFIRMED
    assert "已列入救助系统" in found.review_reason and found.origin.value == "discovered"
    assert count(Case) == 1
    again = run_cli("cases", "import", write(tmp_path, HEADER + row(categories="linshi"), "again.csv"))
    assert last_line(again) == "imported 0, updated 0, rejected 0"


def test_the_import_page_for_officers(client, login, create_user, place):
    login(create_user("officer"))
    response = client.post("/cases/import", data={"file": (io.BytesIO(GOOD.encode()), "cases.csv"),
                                                  "encoding": "utf-8"}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert count(Case) == 4
    bad = client.post("/cases/import", data={"file": (io.BytesIO((HEADER + row(size=0)).encode()), "bad.csv"),
                                             "encoding": "utf-8"}, content_type="multipart/form-data")
    page = bad.get_data(as_text=True)
    assert 'data-testid="import-report"' in page and "家庭人口：不能小于 1" in page
