import sys

import click
from flask.cli import with_appcontext

from reliefsvc.assessments import service
from reliefsvc.assessments.models import Assessment, FrozenError
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications


def _contract(contract_no: str):
    from reliefsvc.contracts.models import Contract

    contract = db.session.scalar(db.select(Contract).where(Contract.contract_no == contract_no))
    if contract is None:
        click.echo(f"no contract {contract_no} / 没有合同 {contract_no}", err=True)
        sys.exit(1)
    return contract


def _assessment(assessment_id: int) -> Assessment:
    a = db.session.get(Assessment, assessment_id)
    if a is None:
        click.echo(f"no assessment {assessment_id} / 没有该考核", err=True)
        sys.exit(1)
    return a


def _refused(exc) -> None:
    db.session.rollback()
    text = f"{exc.zh} / {exc.en}" if hasattr(exc, "zh") else f"refused: {exc} / 已签发的考核不能修改"
    click.echo(text, err=True)
    sys.exit(1)


@click.group("assessments")
def assessments_group():
    """Periodic assessments (定期考核) and their standards."""


@assessments_group.command("create")
@click.argument("contract_no")
@click.argument("period_key")
@with_appcontext
def create_command(contract_no, period_key):
    """Open the assessment of CONTRACT_NO for PERIOD_KEY (2026-05 or 2026-Q2)."""
    try:
        a = service.create_assessment(_contract(contract_no), period_key.upper(), None)
    except service.AssessmentError as exc:
        _refused(exc)
    notifications.commit()
    click.echo(f"assessment #{a.id} {contract_no} {a.period_key}: {a.total} points so far, "
               f"{len(service.unscored(a))} indicators to score")


@assessments_group.command("score")
@click.argument("assessment_id", type=int)
@click.argument("indicator_id", type=int)
@click.argument("points")
@click.option("--justification", required=True, help="Why these points (required).")
@with_appcontext
def score_command(assessment_id, indicator_id, points, justification):
    """Score an indicator that the evaluator enters (refused once the assessment is sent or signed)."""
    try:
        service.enter_score(_assessment(assessment_id), indicator_id, points, justification, None)
    except (service.AssessmentError, FrozenError) as exc:
        _refused(exc)
    notifications.commit()
    click.echo("score saved / 已评分")


@assessments_group.command("sign")
@click.argument("assessment_id", type=int)
@with_appcontext
def sign_command(assessment_id):
    """Sign and freeze an assessment (its comment window closed, its appeals decided)."""
    a = _assessment(assessment_id)
    try:
        service.sign(a, None)
    except (service.AssessmentError, FrozenError) as exc:
        _refused(exc)
    notifications.commit()
    click.echo(f"signed #{a.id}: {a.total} {a.grade} coefficient {a.coefficient} {a.consequences}")


@assessments_group.command("show")
@click.argument("assessment_id", type=int)
@with_appcontext
def show_command(assessment_id):
    """Every indicator with its points, figure and source."""
    a = _assessment(assessment_id)
    click.echo(f"#{a.id} {a.contract.contract_no} {a.period_key} [{a.status.value}] total {a.total} "
               f"grade {a.grade or '-'} coefficient {a.coefficient if a.coefficient is not None else '-'}")
    for s in a.scores:
        i = s.indicator
        click.echo(f"  [{i.id}] {i.section.name} / {i.name}: {s.points if s.points is not None else '-'}"
                   f"/{i.max_points} ({i.method.value}) {s.figure or s.justification}")
    for c in a.comments:
        click.echo(f"  {c.kind}: {c.text} {('-> ' + c.decision) if c.decision else ''}")


@assessments_group.command("list")
@click.option("--contract", "contract_no", help="Only this contract (its number).")
@click.option("--status", type=click.Choice(["draft", "commenting", "signed"]))
@with_appcontext
def list_command(contract_no, status):
    """List assessments."""
    query = db.select(Assessment).order_by(Assessment.contract_id, Assessment.day_from)
    if contract_no:
        query = query.where(Assessment.contract_id == _contract(contract_no).id)
    if status:
        query = query.where(Assessment.status == status)
    found = db.session.scalars(query).all()
    for a in found:
        click.echo(f"#{a.id}\t{a.contract.contract_no}\t{a.period_key}\t{a.status.value}\t{a.total}\t{a.grade or '-'}")
    click.echo(f"{len(found)} assessments / 共 {len(found)} 次考核")


COMMANDS = [assessments_group]
