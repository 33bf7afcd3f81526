import os
import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from reliefsvc.cli import finish_import, import_options, read_input_file
from reliefsvc.common import exportgate
from reliefsvc.contracts.models import Contract
from reliefsvc.evidence import ledger
from reliefsvc.extensions import db


@click.group("services")
def services_group():
    """Service records (服务记录) and the ledger (台账)."""


def _contract(number: str) -> Contract:
    contract = db.session.scalar(sa.select(Contract).where(Contract.contract_no == number.strip()))
    if contract is None:
        click.echo(f"--contract: no contract {number} / 合同 {number} 不存在", err=True)
        sys.exit(1)
    return contract


@services_group.command("import")
@click.option("--contract", "contract_no", required=True, help="The contract number.")
@click.option("--photos", "photos_at", type=click.Path(exists=True), help="A folder or a .zip with the photos.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_command(contract_no, photos_at, file, encoding, partial, errors_path):
    """Import a provider's service ledger FILE with its photos (spec: services import)."""
    contract = _contract(contract_no)
    report = ledger.import_ledger(contract, read_input_file(file), photos_at=photos_at, filename=file,
                                  encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


@services_group.command("export")
@click.option("--contract", "contract_no", required=True, help="The contract number.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="A .csv or .xlsx file.")
@with_appcontext
def export_command(contract_no, output):
    """Write the contract's ledger back out, with the columns of the import."""
    if not output.lower().endswith((".csv", ".xlsx")):
        click.echo("-o: the file must end in .csv or .xlsx / 输出文件须为 .csv 或 .xlsx", err=True)
        sys.exit(2)
    rows = ledger.export_ledger(_contract(contract_no), output)
    # Worker ID numbers and positions leave the platform: audited (issue 15). The options are
    # fixed by the interchange spec, so the reason is "CLI" with the operating-system user.
    exportgate.cli_export("records.ledger", rows, {"contract": contract_no, "output": os.path.basename(output)})
    db.session.commit()
    click.echo(f"exported {rows} records to {output}")


@services_group.command("sweep")
@click.option("--grace-hours", default=24.0, show_default=True, type=float,
              help="Keep files stored less than this long ago (their request may still be running).")
@click.option("--dry-run", is_flag=True, help="Count the orphan files, remove nothing.")
@with_appcontext
def sweep_command(grace_hours, dry_run):
    """Remove evidence files no row names (left by killed or rolled-back uploads) and old temporaries."""
    from datetime import timedelta

    from reliefsvc.evidence import get_storage, service

    grace = timedelta(hours=max(0.0, grace_hours))
    result = service.sweep_orphan_files(grace=grace, dry_run=dry_run)
    temporaries = 0 if dry_run else get_storage().sweep_temporaries(older_than=grace)
    db.session.rollback()  # it only read
    verb = "would remove" if dry_run else "removed"
    click.echo(f"checked {result.checked} files: {result.orphans} orphans, {verb} "
               f"{result.orphans if dry_run else result.removed}; {temporaries} temporary files removed / "
               f"检查文件 {result.checked} 个，孤立文件 {result.orphans} 个")


@services_group.command("rehash-photos")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many photos (oldest first); all by default.")
@with_appcontext
def rehash_photos_command(limit):
    """Recompute the perceptual hashes of photos stored under an older hash version."""
    from reliefsvc.evidence import service

    result = service.rehash_photos(limit)
    db.session.commit()
    click.echo(f"rehashed {result.rehashed} photos, {result.unreadable} unreadable, {result.remaining} left / "
               f"已重算 {result.rehashed} 张照片的感知哈希，{result.unreadable} 张无法读取，尚余 {result.remaining} 张")
    if result.rehashed and not result.remaining:
        click.echo("all photos are up to date: run `reliefsvc integrity run` once to compare them all / "
                   "全部照片已更新：请运行一次 reliefsvc integrity run 完整核查")


COMMANDS = [services_group]
