"""``reliefsvc integrity run`` and ``reliefsvc integrity export`` (spec: Commands)."""

import csv
import io
import os
import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from reliefsvc.common import exportgate
from reliefsvc.contracts.models import Contract
from reliefsvc.extensions import db
from reliefsvc.integrity import service
from reliefsvc.integrity.models import CODE_LABELS
from reliefsvc.notifications import service as notifications
from reliefsvc.reports import atomic_output


@click.group("integrity")
def integrity_group():
    """Integrity checks (诚信核查): seconds-long, staged and perfunctory services."""


def _contract(number: str | None) -> Contract | None:
    if number is None:
        return None
    contract = db.session.scalar(sa.select(Contract).where(Contract.contract_no == number.strip()))
    if contract is None:
        click.echo(f"--contract: no contract {number} / 合同 {number} 不存在", err=True)
        sys.exit(1)
    return contract


@integrity_group.command("run")
@click.option("--contract", "contract_no", help="Decide the flags of this contract's records only.")
@click.option("--incremental", is_flag=True,
              help="Check only records that are new or changed since they were last checked (the nightly job).")
@with_appcontext
def run_command(contract_no, incremental):
    """Run every integrity check; print the count of current flags per code."""
    contract = _contract(contract_no)
    if contract is not None and incremental:
        click.echo("--incremental checks every changed record; it cannot be limited to one contract / "
                   "增量检查针对所有变动记录，不能限定合同", err=True)
        sys.exit(2)
    result = service.run(contract=contract, incremental=incremental)
    notifications.commit()
    for code in CODE_LABELS:
        click.echo(f"{code}\t{result.counts.get(code, 0)}")
    click.echo(result.summary())


@integrity_group.command("export")
@click.option("--contract", "contract_no", help="Only this contract's flags.")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True), help="The CSV file.")
@with_appcontext
def export_command(contract_no, fmt, output):
    """Write all current flags as CSV: contract_no,record_ref,code,severity,detail."""
    rows = service.export_rows(_contract(contract_no))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["contract_no", "record_ref", "code", "severity", "detail"])
    writer.writerows(rows)
    with atomic_output(output) as out:
        out.write(text.getvalue().encode("utf-8"))
    # Flags name workers' records and their details (issue 15): audited with reason "CLI",
    # as the interchange spec fixes this command's options.
    exportgate.cli_export("integrity.flags", len(rows), {"contract": contract_no or "",
                                                         "output": os.path.basename(output)})
    db.session.commit()
    click.echo(f"exported {len(rows)} flags to {output}")


COMMANDS = [integrity_group]
