import click
from flask.cli import with_appcontext

from reliefsvc.common.formatting import today_local
from reliefsvc.extensions import db
from reliefsvc.rectifications.models import RectificationNotice


@click.group("rectifications")
def rectifications_group():
    """Rectification notices (整改通知)."""


@rectifications_group.command("list")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True)
@click.option("--contract", "contract_no", help="Only this contract (its number).")
@with_appcontext
def list_command(status, contract_no):
    """List notices with their items' state; overdue ones are marked."""
    from reliefsvc.contracts.models import Contract

    query = db.select(RectificationNotice).order_by(RectificationNotice.due_on, RectificationNotice.id)
    if status != "all":
        query = query.where(RectificationNotice.status == status)
    if contract_no:
        query = query.join(Contract).where(Contract.contract_no == contract_no)
    today = today_local()
    notices = db.session.scalars(query).all()
    for n in notices:
        done = sum(1 for i in n.items if i.status == "accepted")
        late = " OVERDUE/逾期" if n.overdue_on(today) else ""
        click.echo(f"#{n.id}\t{n.contract.contract_no}\t{n.source}\tdue {n.due_on.isoformat()}\t"
                   f"{n.status.value}\t{done}/{len(n.items)} put right{late}")
        for i in n.items:
            click.echo(f"    {i.position + 1}. [{i.status.value}] {i.what} — {i.rule}")
    click.echo(f"{len(notices)} notices / 共 {len(notices)} 份整改通知")


COMMANDS = [rectifications_group]
