"""``reliefsvc regions import``: CSV and XLSX, either header language, all-or-nothing."""

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from reliefsvc.regions import service
from reliefsvc.regions.models import Level, Region
from tests.conftest import count

GOOD_CSV = """code,name,level,parent_code,lat,lon,office_lat,office_lon
622922,康乐县,county,,35.372,103.709,35.3706,103.7112
622922100,附城镇,township,622922,35.37,103.708,35.37,103.708
622922100201,马家集村,village,622922100,35.38,103.72,,
622922100202,白家湾村,village,622922100,35.36,103.70,,
"""

CHINESE_CSV = """区划代码,名称,级别,上级代码,纬度,经度
622922,康乐县,县,,35.372,103.709
622922101,苏集镇,乡镇,622922,35.416,103.752
622922101201,韩家山村,村,622922101,35.42,103.76
"""


def write_csv(tmp_path, text, name="regions.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_csv_builds_the_tree(run_cli, tmp_path, db):
    result = run_cli("regions", "import", write_csv(tmp_path, GOOD_CSV))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 4, updated 0, rejected 0"
    village = db.session.scalar(sa.select(Region).where(Region.code == "622922100201"))
    assert village.level is Level.VILLAGE
    assert village.parent.name == "附城镇" and village.parent.parent.name == "康乐县"
    county = village.parent.parent
    assert (county.office_lat, county.office_lon) == (35.3706, 103.7112)


def test_chinese_headers_and_words_with_bom(run_cli, tmp_path, db):
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CHINESE_CSV.encode("utf-8"))
    result = run_cli("regions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert count(Region) == 3


def test_gb18030_with_the_flag(run_cli, tmp_path):
    result = run_cli("regions", "import", "--encoding", "gb18030", write_csv(tmp_path, CHINESE_CSV, encoding="gb18030"))
    assert result.exit_code == 0, result.output
    assert count(Region) == 3


def test_xlsx_with_columns_in_another_order(run_cli, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "区划代码", "级别", "上级代码", "经度", "纬度"])
    ws.append(["康乐县", "622922", "县", None, 103.709, 35.372])
    ws.append(["附城镇", 622922100, "乡镇", 622922, 103.708, 35.37])
    path = tmp_path / "regions.xlsx"
    wb.save(path)
    result = run_cli("regions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert count(Region) == 2


def test_reimport_is_idempotent_and_updates(run_cli, tmp_path, db):
    path = write_csv(tmp_path, GOOD_CSV)
    assert run_cli("regions", "import", path).exit_code == 0
    changed = write_csv(tmp_path, GOOD_CSV.replace("马家集村", "马家集新村"), name="again.csv")
    result = run_cli("regions", "import", changed)
    assert result.output.strip().splitlines()[-1] == "imported 0, updated 4, rejected 0"
    assert count(Region) == 4
    assert db.session.scalar(sa.select(Region.name).where(Region.code == "622922100201")) == "马家集新村"


def test_parent_already_in_the_platform(run_cli, tmp_path):
    assert run_cli("regions", "import", write_csv(tmp_path, GOOD_CSV)).exit_code == 0
    more = "code,name,level,parent_code\n622922100203,新村,village,622922100\n"
    result = run_cli("regions", "import", write_csv(tmp_path, more, name="more.csv"))
    assert result.exit_code == 0, result.output
    assert count(Region) == 5


BAD_CASES = {
    "missing parent": (
        GOOD_CSV + "622922100299,孤村,village,622922999,35.1,103.1,,\n",
        "row 6, parent_code", "上级代码 622922999 不存在"),
    "duplicate code": (
        GOOD_CSV + "622922100201,重复村,village,622922100,35.1,103.1,,\n",
        "row 6, code", "与第 4 行重复"),
    "non-numeric latitude": (
        GOOD_CSV.replace("35.38,103.72", "北纬35度,103.72"),
        "row 4, lat", "纬度：“北纬35度”不是数字"),
    "latitude out of range": (
        GOOD_CSV.replace("35.38,103.72", "135.38,103.72"),
        "row 4, lat", "纬度应在"),
    "bad level": (
        GOOD_CSV.replace("village,622922100,35.36", "hamlet,622922100,35.36"),
        "row 5, level", "不是有效值"),
    "village under the county": (
        GOOD_CSV + "622922100298,越级村,village,622922,35.1,103.1,,\n",
        "row 6, parent_code", "不能作为“村”的上级"),
    "short code": (
        GOOD_CSV + "62292,短码,village,622922100,35.1,103.1,,\n",
        "row 6, code", "6 到 12 位数字"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_are_reported_and_nothing_is_written(case, run_cli, tmp_path, db):
    text, where, chinese = BAD_CASES[case]
    errors_file = tmp_path / "errors.csv"
    result = run_cli("regions", "import", write_csv(tmp_path, text), "--errors", str(errors_file))
    assert result.exit_code == 1
    assert where in result.output
    assert chinese in result.output
    assert count(Region) == 0
    assert chinese in errors_file.read_text(encoding="utf-8-sig")


def test_a_gbk_file_read_as_utf8_gets_row_numbered_chinese_errors(run_cli, tmp_path):
    result = run_cli("regions", "import", write_csv(tmp_path, CHINESE_CSV, encoding="gbk"))
    assert result.exit_code == 1
    assert "row 1" in result.output and "第 1 行不是 UTF-8 编码" in result.output
    assert "GB18030" in result.output
    assert count(Region) == 0


def test_partial_writes_the_good_rows(run_cli, tmp_path):
    text = GOOD_CSV + "622922100299,孤村,village,622922999,35.1,103.1,,\n"
    result = run_cli("regions", "import", "--partial", write_csv(tmp_path, text))
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "imported 4, updated 0, rejected 1"
    assert count(Region) == 4


def test_partial_rejects_children_of_a_rejected_parent(db):
    text = ("code,name,level,parent_code,lat,lon\n622922,康乐县,county,,35.3,103.7\n"
            "622922100,附城镇,township,622922,abc,103.7\n622922100201,马家村,village,622922100,35.3,103.7\n")
    report = service.import_regions(text.encode(), partial=True)
    assert report.imported == 1 and report.rejected == 2
    assert {e.row for e in report.errors} == {3, 4}


def test_missing_required_column(run_cli, tmp_path):
    result = run_cli("regions", "import", write_csv(tmp_path, "code,name\n622922,康乐县\n"))
    assert result.exit_code == 1
    assert "缺少必填列“级别”" in result.output


def test_not_an_excel_file(run_cli, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"this is not a workbook")
    result = run_cli("regions", "import", str(path))
    assert result.exit_code == 1 and "不是 Excel" in result.output


def test_import_is_audited(run_cli, tmp_path, db):
    from reliefsvc.audit.models import AuditEntry

    run_cli("regions", "import", write_csv(tmp_path, GOOD_CSV))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "regions.imported"))
    assert '"imported":4' in entry.payload


def test_upload_page_reports_rows_in_chinese(client, login, create_user):
    login(create_user("admin"))
    bad = GOOD_CSV + "622922100201,重复村,village,622922100,35.1,103.1,,\n"
    response = client.post("/regions/import", data={
        "file": (io.BytesIO(bad.encode()), "regions.csv"), "encoding": "utf-8",
    }, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入任何数据" in page and "与第 4 行重复" in page
    assert count(Region) == 0
    response = client.post("/regions/import", data={
        "file": (io.BytesIO(GOOD_CSV.encode()), "regions.csv"), "encoding": "utf-8",
    }, content_type="multipart/form-data")
    assert "导入完成：新增 4 条" in response.get_data(as_text=True)
    assert count(Region) == 4
    tree = client.get("/regions/").get_data(as_text=True)
    assert "附城镇" in tree and "马家集村" in tree


def test_upload_page_refuses_other_file_types(client, login, create_user):
    login(create_user("admin"))
    response = client.post("/regions/import", data={
        "file": (io.BytesIO(b"x"), "regions.txt"), "encoding": "utf-8",
    }, content_type="multipart/form-data")
    assert "只能导入 CSV 或 XLSX 文件" in response.get_data(as_text=True)
