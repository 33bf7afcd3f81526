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
    """Recompute the hash chain and MACs, compare with the anchors; name the first bad entry and exit 1."""
    checked, problem = service.verify_all()
    if problem is None:
        anchors = len([a for a in service.read_anchors() if a.status == "ok"])
        click.echo(f"audit log intact: {checked} entries, {anchors} anchors agree / "
                   f"审计日志完好：共 {checked} 条，{anchors} 个锚定值一致")
        return
    click.echo(f"audit log damaged at entry {problem.seq} ({problem.kind}): {problem}", err=True)
    sys.exit(1)


COMMANDS = [audit_group]
