"""``reliefsvc reports evaluation`` (the report) and ``reliefsvc evaluations ...``."""

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from reliefsvc.contracts.models import Contract
from reliefsvc.evaluations import service
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.reports import atomic_output


def _contract(contract_no: str) -> Contract:
    contract = db.session.scalar(sa.select(Contract).where(Contract.contract_no == contract_no.strip()))
    if contract is None:
        click.echo(f"no contract {contract_no} / 没有合同 {contract_no}", err=True)
        sys.exit(1)
    return contract


@click.group("reports")
def reports_group():
    """Formal reports (PDF) of the platform."""


@reports_group.command("evaluation")
@click.option("--contract", "contract_no", required=True, help="The contract number, e.g. 康民购〔2026〕1号.")
@click.option("--year", type=int, required=True,
              help="The calendar year in which the execution year begins.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
@with_appcontext
def evaluation_report_command(contract_no, year, output):
    """The annual evaluation report of CONTRACT for the execution year beginning in YEAR.
    An unsigned evaluation prints marked as a draft (草稿)."""
    contract = _contract(contract_no)
    execution_year = service.year_by_calendar(contract, year)
    ev = service.find(contract, execution_year.number) if execution_year else None
    if ev is None:
        click.echo(f"no evaluation of {contract.contract_no} for {year} / 合同 {contract.contract_no} 没有 {year} "
                   "年开始的执行年度评估", err=True)
        sys.exit(1)
    data = service.render_report(ev)
    with atomic_output(output) as fh:
        fh.write(data)
    click.echo(f"{output}: {ev.status.value}{' ' + ev.doc_no if ev.doc_no else ''}, {len(data)} bytes")


@reports_group.command("evaluations")
@click.option("--year", type=int, required=True,
              help="The calendar year in which the execution years begin.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="The folder to write the PDFs into (made when missing).")
@click.option("--signed-only", is_flag=True, help="Only signed evaluations (no drafts).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes laying out the PDFs (default: one per core).")
@with_appcontext
def evaluation_reports_command(year, output, signed_only, jobs):
    """Every annual evaluation report of the execution years beginning in YEAR, one PDF per
    contract-year (the year's archive), laid out on every core."""
    import time
    from pathlib import Path

    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.reports.batch import worker_count, write_pdfs

    query = sa.select(Evaluation).join(Evaluation.contract).where(Evaluation.year == year)
    if signed_only:
        query = query.where(Evaluation.status == EvaluationStatus.SIGNED)
    evaluations = db.session.scalars(query.order_by(Contract.contract_no, Evaluation.year_no)).all()
    if not evaluations:
        click.echo(f"no evaluation for {year} / 没有 {year} 年开始的执行年度评估", err=True)
        sys.exit(1)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / batch_filename(ev) for ev in evaluations]
    started = time.perf_counter()
    sizes = write_pdfs(((t, service.report_html(ev)) for t, ev in zip(targets, evaluations, strict=True)),
                       jobs=jobs)
    for target, ev, size in zip(targets, evaluations, sizes, strict=True):
        click.echo(f"{target}: {ev.status.value}{' ' + ev.doc_no if ev.doc_no else ''}, {size} bytes")
    click.echo(f"{len(sizes)} reports in {time.perf_counter() - started:.1f} s on "
               f"{worker_count(len(sizes), jobs)} processes / 共 {len(sizes)} 份报告")


def batch_filename(ev) -> str:
    """``康民购〔2026〕1号-第1执行年度评估报告.pdf``: the contract number as the office writes it,
    with the characters a file system refuses replaced."""
    name = f"{ev.contract.contract_no}-第{ev.year_no}执行年度评估报告.pdf"
    return "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name)


@click.group("evaluations")
def evaluations_group():
    """Annual evaluations (年度评估)."""


@evaluations_group.command("open-due")
@with_appcontext
def open_due_command():
    """Open the evaluation of every contract-year that has ended (what the daily job does)."""
    made = service.open_due(origin="cli")
    notifications.commit()
    for ev in made:
        click.echo(f"{ev.id}\t{ev.contract.contract_no}\t{ev.year_no}\t{ev.day_from}\t{ev.day_to}\t{ev.due_on}")
    click.echo(f"{len(made)} opened / 开启 {len(made)} 项")


@evaluations_group.command("overdue")
@with_appcontext
def overdue_command():
    """Every ended contract-year without a signed evaluation by its due date."""
    rows = service.overdue()
    for r in rows:
        click.echo(f"{r.contract.contract_no}\t{r.year.number}\t{r.year.day_from}\t{r.year.day_to}\t{r.due_on}\t"
                   + (r.evaluation.status.value if r.evaluation else "not opened"))
    click.echo(f"{len(rows)} overdue / 逾期 {len(rows)} 项")


COMMANDS = [reports_group, evaluations_group]
