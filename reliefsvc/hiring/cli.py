"""``reliefsvc contracts hiring-risk`` (spec: Commands), attached to the contracts group."""

import json
import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from reliefsvc.contracts.cli import contracts_group
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.hiring import service
from reliefsvc.notifications import service as notifications
from reliefsvc.reports import atomic_output


@contracts_group.command("hiring-risk")
@click.option("--contract", "contract_no", help="Only this contract.")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The JSON file ('-' for standard output).")
@with_appcontext
def hiring_risk_command(contract_no, fmt, output):
    """Disguised-hiring risk per contract: recompute, store, and write the spec's JSON.

    Without --contract every contract that is not a draft is assessed."""
    if contract_no is not None:
        contract_no = contract_no.strip()
        if db.session.scalar(sa.select(Contract.id).where(Contract.contract_no == contract_no)) is None:
            click.echo(f"--contract: no contract {contract_no} / 合同 {contract_no} 不存在", err=True)
            sys.exit(1)
    statuses = [s for s in ContractStatus if s is not ContractStatus.DRAFT]
    results, summary = service.recompute_all("cli", statuses=statuses, contract_no=contract_no)
    data = json.dumps(service.export(results), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    notifications.commit()
    if output == "-":
        click.echo(data.decode("utf-8"), nl=False)
    else:
        with atomic_output(output) as fh:
            fh.write(data)
        click.echo(f"contracts {summary.computed}, high {summary.high}, rose {summary.rose}"
                   f" / 合同 {summary.computed} 个，高风险 {summary.high} 个，等级上升 {summary.rose} 个")


#: The command belongs to the ``contracts`` group, which contracts.cli registers.
COMMANDS: list = []
