import sys

import click
from flask.cli import with_appcontext

from reliefsvc.audit import service


@click.group("audit")
def audit_group():
    """The audit log (审计日志)."""


@audit_group.command("verify")
@with_appcontext
def verify_command():
    """Recompute the hash chain and MACs; name the first bad entry and exit 1."""
    checked, problem = service.verify_log()
    if problem is None:
        click.echo(f"audit log intact: {checked} entries / 审计日志完好：共 {checked} 条")
        return
    click.echo(f"audit log damaged at entry {problem.seq} ({problem.kind}): {problem}", err=True)
    sys.exit(1)


COMMANDS = [audit_group]
