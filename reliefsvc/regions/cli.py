import click
from flask.cli import with_appcontext

from reliefsvc.cli import finish_import, import_options, read_input_file
from reliefsvc.regions import service


@click.group("regions")
def regions_group():
    """Administrative regions (区划)."""


@regions_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_command(file, encoding, partial, errors_path):
    """Import regions from a CSV or XLSX FILE (spec: regions import)."""
    report = service.import_regions(read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


COMMANDS = [regions_group]
