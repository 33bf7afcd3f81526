import click
from flask.cli import with_appcontext

from reliefsvc.cli import finish_import, import_options, read_input_file
from reliefsvc.contracts import service


@click.group("contracts")
def contracts_group():
    """Contracts (合同) and their obligations."""


@contracts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_command(file, encoding, partial, errors_path):
    """Import contracts from FILE (spec: contracts import). A row with status active
    (the default) needs a provider with a valid vetting approval."""
    service.ensure_catalogue()
    report = service.import_contracts(read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


@contracts_group.command("import-obligations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@import_options
@with_appcontext
def import_obligations_command(file, encoding, partial, errors_path):
    """Import contract obligations from FILE (spec: contracts import-obligations)."""
    service.ensure_catalogue()
    report = service.import_obligations(read_input_file(file), filename=file, encoding=encoding, partial=partial)
    finish_import(report, errors_path, partial)


COMMANDS = [contracts_group]
