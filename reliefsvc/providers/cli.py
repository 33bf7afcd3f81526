import sys

import click
from flask.cli import with_appcontext

from reliefsvc.cli import finish_import, import_options, read_input_file
from reliefsvc.notifications import service as notifications
from reliefsvc.providers import rules, service


@click.group("providers")
def providers_group():
    """Providers (承接主体) and their staff."""


@providers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_command(file, encoding, partial, errors_path):
    """Import providers from a CSV or XLSX FILE (spec: providers import)."""
    report = service.import_providers(read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


@providers_group.command("import-staff")
@click.option("--provider", "uscc", required=True, help="The provider's unified social credit code.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_staff_command(uscc, file, encoding, partial, errors_path):
    """Import a provider's staff roster from FILE (spec: providers import-staff)."""
    try:
        uscc = rules.validate_uscc(uscc)
    except rules.UsccError as exc:
        click.echo(f"--provider: {exc.en} / {exc.zh}", err=True)
        sys.exit(1)
    provider = service.get_by_uscc(uscc)
    if provider is None:
        click.echo(f"--provider: no provider with USCC {uscc} / 没有统一社会信用代码为 {uscc} 的承接主体", err=True)
        sys.exit(1)
    report = service.import_staff(provider, read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


@providers_group.command("find-relations")
@with_appcontext
def find_relations_command():
    """Compare staff with bureau accounts and household heads; list new matches for officers."""
    found = service.find_relations()
    notifications.commit()
    click.echo(f"found {found} new possible relations / 新发现疑似关系 {found} 条")


COMMANDS = [providers_group]
