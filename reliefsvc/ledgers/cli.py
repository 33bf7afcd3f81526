"""``reliefsvc reports ocds -o FILE.json`` (spec/interchange.md): the open-contracting export.

The ``reports`` group belongs to the evaluations room (``reports evaluation``); the command
joins it here, so both print under ``reliefsvc reports``.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from reliefsvc.evaluations.cli import reports_group
from reliefsvc.reports import atomic_output


@reports_group.command("ocds")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The JSON file to write (an OCDS 1.1.5 release package).")
@with_appcontext
def ocds_command(output):
    """An OCDS 1.1.5 release package of all contracts, without personal data."""
    from reliefsvc.reports import ocds

    package = ocds.release_package(current_app.config)
    body = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
    with atomic_output(output) as fh:
        fh.write(body)
    click.echo(f"{output}: {len(package['releases'])} releases / 共 {len(package['releases'])} 个合同")


#: the command is added to the ``reports`` group above, which evaluations.cli registers
COMMANDS: list = []
