"""``reliefsvc spotcheck draw`` and ``reliefsvc spotcheck verify`` (spec: spot-check draw).

``draw`` records the draw as the draw page does (frame, seed, sample, evaluators, audit
entries), marked as made on the command line; the same command run again finds it
instead of storing it twice. ``verify`` only reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from reliefsvc.common.tabular import FieldError, parse_date
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications
from reliefsvc.spotchecks import service


class _Date(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        try:
            return parse_date(str(value).strip())
        except FieldError as exc:
            self.fail(f"{exc.en} / {exc.zh}", param, ctx)


DATE = _Date()


def _contract(number: str):
    contract = service.find_contract(number)
    if contract is None:
        click.echo(f"no contract {number} / 合同 {number} 不存在", err=True)
        sys.exit(2)
    return contract


@click.group("spotcheck")
def spotcheck_group():
    """Random spot checks (随机抽查): reproducible draws and their verification."""


@spotcheck_group.command("draw")
@click.option("--contract", "contract_no", required=True, help="Contract number.")
@click.option("--from", "day_from", required=True, type=DATE, help="First day (local).")
@click.option("--to", "day_to", required=True, type=DATE, help="Last day (local), included.")
@click.option("--seed", required=True, help="The published seed.")
@click.option("--size", required=True, type=click.IntRange(min=0), help="Random-stratum size.")
@click.option("--risk-size", default=0, show_default=True, type=click.IntRange(min=0),
              help="Risk-stratum size (highest integrity risk scores not already drawn).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The CSV file to write (record_ref,ticket,stratum).")
@with_appcontext
def draw_command(contract_no, day_from, day_to, seed, size, risk_size, output):
    """Draw a reproducible sample and write it as CSV; the draw is stored and audited."""
    contract = _contract(contract_no)
    try:
        draw, result, created = service.cli_draw(contract, day_from, day_to, seed, size, risk_size)
    except service.SpotCheckError as exc:
        db.session.rollback()
        click.echo(f"{exc.en} / {exc.zh}", err=True)
        sys.exit(1)
    Path(output).write_text(result.to_csv(), encoding="utf-8", newline="")
    notifications.commit()
    click.echo(f"frame hash {draw.frame_hash}")
    click.echo(f"population {draw.population_size}, random {len(result.random_rows)}, risk {len(result.risk_rows)}")
    click.echo(f"{'stored as' if created else 'already stored as'} draw {draw.id} / 抽查编号 {draw.id}")


@spotcheck_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--contract", "contract_no", required=True, help="Contract number.")
@click.option("--from", "day_from", required=True, type=DATE)
@click.option("--to", "day_to", required=True, type=DATE)
@click.option("--seed", required=True)
@click.option("--frame-hash", default=None,
              help="The published frame hash (default: the one stored with the draw).")
@click.option("--size", default=None, type=click.IntRange(min=0),
              help="The announced random size (default: the stored draw's).")
@click.option("--risk-size", default=None, type=click.IntRange(min=0))
@with_appcontext
def verify_command(file, contract_no, day_from, day_to, seed, frame_hash, size, risk_size):
    """Recompute a published draw from the population as it stands; exit 0 only when the
    sample matches and the frame hash is unchanged."""
    contract = _contract(contract_no)
    text = Path(file).read_text(encoding="utf-8-sig")
    try:
        result, draw = service.verify_published(text, contract, day_from, day_to, seed, frame_hash, size, risk_size)
    except service.SpotCheckError as exc:
        click.echo(f"{exc.en} / {exc.zh}", err=True)
        sys.exit(2)
    finally:
        db.session.rollback()
    expected = frame_hash or draw.frame_hash
    if draw is not None:
        click.echo(f"stored draw {draw.id}: size {draw.size}, risk size {draw.risk_size}")
    click.echo(f"frame hash now    {result.frame_hash}")
    click.echo(f"frame hash stored {expected.strip().lower()}")
    click.echo("frame unchanged / 抽样框未变" if result.frame_unchanged else "FRAME CHANGED / 抽样框已变")
    click.echo("sample matches / 样本一致" if result.matches else "SAMPLE DIFFERS / 样本不一致")
    for line in result.differences:
        click.echo(f"  - {line}")
    for line in result.notes:
        click.echo(f"  note: {line}")
    if result.ok:
        click.echo("OK: the draw recomputes / 复核通过")
        return
    click.echo("MISMATCH / 复核未通过")
    sys.exit(1)


COMMANDS = [spotcheck_group]
