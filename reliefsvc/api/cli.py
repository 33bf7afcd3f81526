"""``reliefsvc cases sync FILE``: attached to the cases group, built from the API's service."""

import click
from flask.cli import with_appcontext

from reliefsvc.api import service
from reliefsvc.cases.cli import cases_group
from reliefsvc.cli import import_options, read_input_file
from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications


@cases_group.command("sync")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@click.option("--no-close", is_flag=True, help="Add and change only; close no household missing from the export.")
@click.option("--max-close-share", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Close nothing when more than this share of the open households would close.")
@with_appcontext
def sync_command(file, encoding, partial, errors_path, no_close, max_close_share):
    """Synchronise the cases with the provincial export FILE (same columns as cases import).

    Households in the file are added or changed as by ``cases import``. An open household the
    provincial system knows (not a pending discovery) that the file no longer lists is closed
    (停保) as of today. Prints: added N, changed M, closed K, rejected R.
    """
    import csv

    report = service.sync_cases(read_input_file(file), filename=file, encoding=encoding, partial=partial,
                                close_missing=not no_close, max_close_share=max_close_share)
    for error in report.errors:
        click.echo(str(error), err=True)
    if errors_path:
        with open(errors_path, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.DictWriter(fh, fieldnames=["row", "column", "error_zh", "error_en"])
            writer.writeheader()
            writer.writerows(e.as_dict() for e in report.errors)
    if not report.written or (report.errors and not partial):
        db.session.rollback()
        click.echo(f"nothing written: {len(report.errors)} errors / 未同步：共 {len(report.errors)} 处错误", err=True)
        raise SystemExit(1)
    if report.errors:
        click.echo("closed none: the file had errors / 文件有错误行，未执行停保", err=True)
    if report.refused:
        click.echo(report.refused, err=True)
    for ref in report.not_closed:
        click.echo(f"not closed (no ID number or category on record): {ref} / 未停保（缺身份证号或救助类别）", err=True)
    notifications.commit()
    for ref in report.closed_refs:
        click.echo(f"closed {ref}")
    click.echo(report.summary())


COMMANDS: list = []
