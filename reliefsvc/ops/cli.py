"""``reliefsvc backup`` and ``reliefsvc restore``."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from reliefsvc import audit
from reliefsvc.extensions import db
from reliefsvc.ops import backup as backups
from reliefsvc.ops import events


@click.command("backup")
@click.option("-o", "--output", "target", type=click.Path(file_okay=False),
              help="The backup folder (default: instance/backups). Snapshots and the evidence mirror go there.")
@with_appcontext
def backup_command(target):
    """Write a consistent copy of the database and the evidence files added since the last backup."""
    target = Path(target or Path(current_app.instance_path) / "backups")
    try:
        result = backups.backup(target)
    except backups.BackupError as exc:
        click.echo(f"{exc.zh} / {exc.en}", err=True)
        sys.exit(1)
    audit.record(events.BackupWritten(folder=str(result.folder), database=result.database_file.suffix.lstrip("."),
                                      evidence_files=result.evidence_files,
                                      new_evidence_files=result.new_evidence_files))
    db.session.commit()
    click.echo(result.summary())


@click.command("restore")
@click.argument("target", type=click.Path(exists=True, file_okay=False))
@click.option("--snapshot", help="The snapshot folder's name (default: the newest).")
@click.option("--force", is_flag=True, help="Overwrite a database that holds data.")
@with_appcontext
def restore_command(target, snapshot, force):
    """Bring back a snapshot of the database and the evidence files it needs."""
    try:
        done = backups.restore(target, snapshot, force)
    except backups.BackupError as exc:
        click.echo(f"{exc.zh} / {exc.en}", err=True)
        sys.exit(1)
    audit.record(events.BackupRestored(snapshot=done["snapshot"], database=done["database"],
                                       evidence_files=done["evidence_files"]))
    db.session.commit()
    click.echo(f"已恢复备份 {done['snapshot']}（证据文件 {done['evidence_files']} 个）/ restored {done['snapshot']} "
               f"with {done['evidence_files']} evidence files")


COMMANDS = [backup_command, restore_command]
