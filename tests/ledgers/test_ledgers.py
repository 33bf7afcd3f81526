"""Ledger workbooks read back with openpyxl: sheets, title, filters row, headers, rows, totals."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from reliefsvc.audit.models import AuditEntry
from reliefsvc.evidence.models import ServiceRecord
from reliefsvc.ledgers import service
from reliefsvc.ledgers.workbook import write_workbook
from reliefsvc.security.models import Role


def read(ledger) -> dict:
    out = io.BytesIO()
    write_workbook(out, ledger.sheets, title=ledger.title)
    out.seek(0)
    book = load_workbook(out)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets} | {
        "_book": book}


def test_the_service_ledger_of_a_contract_and_period(county, db):
    made = county(n_contracts=2, records_each=3)
    contract = made["contracts"][0]
    sheets = read(service.service_ledger(contract, date(2026, 10, 1), date(2026, 10, 31)))
    assert list(sheets)[:2] == ["服务记录", "按服务类型汇总"]
    rows = sheets["服务记录"]
    assert rows[0][0] == f"服务台账（{contract.contract_no}）"
    assert rows[1][0].startswith("筛选条件：合同：" + contract.contract_no)
    assert "服务期间：2026年10月1日至2026年10月31日" in rows[1][0]
    assert rows[2][:5] == ["台账编号", "服务日期", "开始时间", "结束时间", "时长（分钟）"]
    # the records of October (day 5 and 7; day 6 fell in November) by a direct count
    expected = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord).where(
        ServiceRecord.contract_id == contract.id, ServiceRecord.month == "2026-10"))
    data = rows[3:-1]
    assert len(data) == expected == 2
    assert {r[0] for r in data} == {"TZ-0-000", "TZ-0-002"}
    assert rows[-1][0] == "合计（2 条）" and rows[-1][4] == 90
    sheet = sheets["_book"]["服务记录"]
    assert "年" in sheet["B4"].number_format and sheet.freeze_panes == "A4"
    assert sheet.column_dimensions["A"].width >= 8
    summary = sheets["按服务类型汇总"]
    assert summary[2][:3] == ["服务类型", "记录数", "已采纳"]
    assert summary[3][:2] == ["入户走访", 2] and summary[-1][0] == "合计" and summary[-1][1] == 2


def test_the_spot_check_ledger_adds_up_the_false_service_rate(county):
    county(n_contracts=2, records_each=3)
    sheets = read(service.spotcheck_ledger(None, None, None))
    detail, summary = sheets["抽查明细"], sheets["按合同汇总"]
    assert len(detail) == 3 + 6 + 1  # title, filters, header; six drawn items; totals
    assert [r[8] for r in detail[3:-1]].count("未提供服务（虚假）") == 2
    assert summary[2][-1] == "虚假服务率"
    # per contract: three drawn, two checked, one false → 50 %; the totals row: 2 of 4
    assert [r[2:7] for r in summary[3:-1]] == [[3, 2, 1, 0, 1]] * 2
    assert summary[-1][2:7] == [6, 4, 2, 0, 2] and summary[-1][7] == 0.5


def test_the_payment_ledger_totals_and_the_managers_own_contracts(county):
    made = county(n_contracts=2, records_each=1)
    sheets = read(service.payment_ledger(made["officer"], None, 2026))
    detail = sheets["支付明细"]
    assert detail[1][0].startswith("筛选条件：合同：全部合同；年度：2026年")
    assert detail[2][8] == "支付金额（元）"
    assert len(detail[3:-1]) == 2 and detail[-1][0] == "合计（2 条）"
    assert Decimal(str(detail[-1][8])) == Decimal("116001.00")  # two entries of 58,000.50
    assert sheets["_book"]["支付明细"]["I4"].number_format == "#,##0.00"
    mine = read(service.payment_ledger(made["managers"][0], None, None))
    assert [r[0] for r in mine["支付明细"][3:-1]] == [made["contracts"][0].contract_no]
    assert [r[0] for r in mine["按合同汇总"][3:-1]] == [made["contracts"][0].contract_no]


def test_the_rectification_ledger_and_evaluation_summary(county):
    made = county(n_contracts=2, records_each=1)
    rect = read(service.rectification_ledger(made["officer"], None, "open", None, None))["整改事项"]
    assert rect[2][:3] == ["通知编号", "合同编号", "承接主体"]
    assert [r[6] for r in rect[3:-1]] == ["台账缺少照片"] * 2 and rect[-1][0] == "合计（2 条）"
    assert "通知状态：未结" in rect[1][0]
    summary = read(service.evaluation_summary(made["officer"], 2026))
    assert [r[1] for r in summary["年度评估"][3:-1]] == [c.provider.name for c in made["contracts"]]
    assert [r[4] for r in summary["季度考核"][3:-1]].count(85) == 2


def test_the_case_ledger_asks_for_a_reason_masks_ids_and_is_audited(county, client, login, villages, db):
    made = county(n_contracts=1, records_each=2)
    case = made["cases"][0]
    login(made["officer"])
    page = client.get("/ledgers/").get_data(as_text=True)  # villages grouped under their township
    assert f'<optgroup label="附城镇"><option value="{villages[0].id}">{villages[0].name}</option>' in page
    url = f"/ledgers/cases.xlsx?c-village_id={villages[0].id}&c-day_from=2026-10-01&c-day_to=2026-11-30"
    asked = client.get(url)
    assert asked.status_code == 200 and 'data-testid="export-reason-form"' in asked.get_data(as_text=True)
    assert client.post(url, data={"reason": ""}).status_code == 200  # no reason, no file
    response = client.post(url, data={"reason": "年度档案归档"})
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    households = [[c.value for c in row] for row in book["个案汇总"].iter_rows()]
    assert households[2][:3] == ["户编号", "户主姓名", "身份证号（脱敏）"]
    row = next(r for r in households if r[0] == case.case_ref)
    assert row[1] == case.head_name and row[2] == case.head_id_number[:4] + "*" * 10 + case.head_id_number[-4:]
    assert row[6] == 2 and row[7] == 90
    text = "".join(str(c.value) for ws in book.worksheets for r in ws.iter_rows() for c in r)
    assert case.head_id_number not in text
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event_type == "personal_data.exported")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and "年度档案归档" in entry.payload and "ledgers.case_service_ledger" in entry.payload


def test_the_ledgers_page_and_a_download_by_a_provider_manager(county, client, login, create_user):
    made = county(n_contracts=2, records_each=1)
    manager = made["managers"][0]
    login(manager)
    page = client.get("/ledgers/").get_data(as_text=True)
    assert made["contracts"][0].contract_no in page and made["contracts"][1].contract_no not in page
    assert "ledger-cases" not in page and "ocds-download" not in page
    own = client.get(f"/ledgers/service.xlsx?s-contract_id={made['contracts'][0].id}")
    assert own.status_code == 200
    assert client.get(f"/ledgers/service.xlsx?s-contract_id={made['contracts'][1].id}").status_code == 404
    backwards = client.get(f"/ledgers/service.xlsx?s-contract_id={made['contracts'][0].id}"
                           "&s-day_from=2026-10-31&s-day_to=2026-10-01")
    assert backwards.status_code == 302
    login(create_user(Role.PROVIDER_WORKER, org=manager.organisation))
    assert client.get("/ledgers/").status_code == 403


@pytest.mark.parametrize("path,prefix,dated", [("service.xlsx", "s", True), ("rectifications.xlsx", "r", True),
                                               ("payments.xlsx", "p", False), ("spotchecks.xlsx", "k", True)])
def test_every_filtered_ledger_hides_other_contracts_and_refuses_a_backwards_period(
        county, client, login, create_user, path, prefix, dated):
    made = county(n_contracts=2, records_each=1)
    user = made["managers"][0] if prefix != "k" else create_user(Role.OFFICER)
    login(user)
    own, other = made["contracts"]
    if prefix != "k":  # the officer sees every contract; a manager only its own
        assert client.get(f"/ledgers/{path}?{prefix}-contract_id={other.id}").status_code == 404
    assert client.get(f"/ledgers/{path}?{prefix}-contract_id=999999").status_code == 404
    assert client.get(f"/ledgers/{path}?{prefix}-contract_id={own.id}").status_code == 200
    if dated:
        back = client.get(f"/ledgers/{path}?{prefix}-contract_id={own.id}"
                          f"&{prefix}-day_from=2026-10-31&{prefix}-day_to=2026-10-01", follow_redirects=True)
        assert back.request.path == "/ledgers/" and "结束日期不能早于开始日期" in back.get_data(as_text=True)
