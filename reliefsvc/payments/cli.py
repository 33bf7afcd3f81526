import os
import sys

import click
from flask.cli import with_appcontext

from reliefsvc.common import exportgate
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.payments import service
from reliefsvc.payments.models import PaymentEntry


def _contract(contract_no: str):
    from reliefsvc.contracts.models import Contract

    contract = db.session.scalar(db.select(Contract).where(Contract.contract_no == contract_no))
    if contract is None:
        click.echo(f"no contract {contract_no} / 没有合同 {contract_no}", err=True)
        sys.exit(1)
    return contract


def _Everyone():
    """The command line reads as the bureau does."""
    from types import SimpleNamespace

    from reliefsvc.security.models import Role

    return SimpleNamespace(role=Role.INSPECTOR, organisation_id=None)


@click.group("payments")
def payments_group():
    """Payments on results (资金支付) and fund use (资金使用)."""


@payments_group.command("list")
@click.option("--contract", "contract_no", help="only this contract")
@click.option("--status", type=click.Choice(["proposed", "approved", "refused"]))
@with_appcontext
def list_command(contract_no, status):
    """The payment ledger: one line per entry."""
    contract = _contract(contract_no) if contract_no else None
    entries = db.session.scalars(service.visible_entries(_Everyone(), contract=contract, status=status)).all()
    for r in service.ledger_rows(entries):
        paid = f"{r['disbursed_on']} {r['voucher_no']}" if r["disbursed_on"] else "-"
        click.echo(f"#{r['id']}\t{r['contract_no']}\t第{r['instalment']}期\t{r['kind']}\t{r['status']}\t"
                   f"{r['amount']}\t{r['proposed_by']}→{r['approved_by'] or '-'}\t{paid}")
    click.echo(f"{len(entries)} entries / 共 {len(entries)} 条")


@payments_group.command("show")
@click.argument("entry_id", type=int)
@with_appcontext
def show_command(entry_id):
    """One entry with its computation, line by line."""
    entry = db.session.get(PaymentEntry, entry_id)
    if entry is None:
        click.echo("no such entry / 没有该支付记录", err=True)
        sys.exit(1)
    click.echo(f"#{entry.id} {entry.contract.contract_no} 第{entry.instalment.number}期 {entry.kind.value} "
               f"{entry.status.value} {entry.signed_amount}")
    for line in entry.computation:
        click.echo(f"  {line['amount']:>14}  {line['text_zh']}")


@payments_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--fund-use", is_flag=True, help="export the fund-use reports instead of the payment ledger")
@click.option("--reason", help="why the payment ledger (names of who proposed and approved) is exported; "
                               "required for it, recorded in the audit log")
@with_appcontext
def export_command(path, fund_use, reason):
    """Write the payment ledger (or the fund-use ledger) to PATH as .xlsx."""
    from reliefsvc.reports.excel import LedgerColumn, write_ledger

    if not fund_use and len((reason or "").strip()) < 4:
        click.echo("--reason: 导出支付台账（含经办人姓名）须说明理由（至少 4 个字符） / "
                   "the payment ledger holds personal names: give --reason (4 characters or more)", err=True)
        sys.exit(2)

    who = _Everyone()
    if fund_use:
        rows = []
        for report in db.session.scalars(service.visible_reports(who)).all():
            check = service.check_report(report)
            for line in report.lines:
                rows.append({"contract_no": report.contract.contract_no, "period_from": report.period_from,
                             "period_to": report.period_to, "category": service.CATEGORY_ZH[line.category.value],
                             "purpose": line.purpose, "amount": line.amount, "receipts": len(line.receipts),
                             "findings": "；".join(f.text_zh for f in check.findings)})
        columns = [LedgerColumn("contract_no", "合同编号"), LedgerColumn("period_from", "报告期起", "date"),
                   LedgerColumn("period_to", "报告期止", "date"), LedgerColumn("category", "支出类别"),
                   LedgerColumn("purpose", "用途"), LedgerColumn("amount", "金额", "money"),
                   LedgerColumn("receipts", "票据数", "int"), LedgerColumn("findings", "检查发现")]
        n = write_ledger(path, columns, rows, sheet_title="资金使用台账", title="资金使用情况台账")
    else:
        entries = db.session.scalars(service.visible_entries(who)).all()
        columns = [LedgerColumn("id", "编号", "int"), LedgerColumn("contract_no", "合同编号"),
                   LedgerColumn("instalment", "期次", "int"), LedgerColumn("kind", "类型"),
                   LedgerColumn("status", "状态"), LedgerColumn("planned", "计划金额", "money"),
                   LedgerColumn("computed", "按结果应付", "money"), LedgerColumn("deductions", "扣减", "money"),
                   LedgerColumn("amount", "支付金额", "money"), LedgerColumn("proposed_by", "提出人"),
                   LedgerColumn("approved_by", "审批人"), LedgerColumn("disbursed_on", "拨付日期", "date"),
                   LedgerColumn("voucher_no", "凭证号")]
        n = write_ledger(path, columns, service.ledger_rows(entries), sheet_title="支付台账", title="资金支付台账")
        exportgate.cli_export("payments.ledger", len(entries), {"output": os.path.basename(path)}, reason=reason.strip())
        db.session.commit()
    click.echo(f"{n} rows written to {path} / 已导出 {n} 行")


@payments_group.command("anomalies")
@click.option("--month", help="the month to look at, e.g. 2026-05 (default: last month)")
@with_appcontext
def anomalies_command(month):
    """Run the anomaly comparison for a month now and list the outliers."""
    from datetime import timedelta

    from reliefsvc.contracts import rules as contract_rules

    month = month or contract_rules.month_key(service.today().replace(day=1) - timedelta(days=1))
    found = service.find_anomalies(month)
    notifications.commit()
    for a in found:
        click.echo(f"{a.month}\t{a.contract.contract_no}\t{service.ANOMALY_ZH[a.kind]}\t{a.value}\t中位数 {a.baseline}")
    click.echo(f"{len(found)} new anomalies / 新发现异常 {len(found)} 项")


COMMANDS = [payments_group]
