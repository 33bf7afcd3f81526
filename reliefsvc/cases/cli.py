import click
from flask.cli import with_appcontext

from reliefsvc.cases import service
from reliefsvc.cli import finish_import, import_options, read_input_file


@click.group("cases")
def cases_group():
    """Assistance cases (救助对象家庭) and monitoring alerts."""


@cases_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_command(file, encoding, partial, errors_path):
    """Import cases from a CSV or XLSX FILE (spec: cases import)."""
    report = service.import_cases(read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


COMMANDS = [cases_group]
