import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from reliefsvc.extensions import db
from reliefsvc.security import service
from reliefsvc.security.models import Role


@click.group("users")
def users_group():
    """Accounts (用户)."""


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="Organisation name; default: the bureau.")
@click.option("--name", "display_name", help="Full name shown on pages.")
@with_appcontext
def create_command(username, password, role, org_name, display_name):
    """Create an account; the first admin of a new installation is made this way."""
    try:
        user = service.create_user(username, password, role, org_name=org_name, display_name=display_name,
                                   bureau_name=current_app.config["BUREAU_NAME"])
    except service.AccountError as exc:
        db.session.rollback()
        click.echo(f"{exc.en} / {exc.zh}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {user.username} ({user.role.value}, {user.organisation.name})")


@users_group.command("list")
@with_appcontext
def list_command():
    """List the accounts."""
    for user in service.list_users():
        state = "" if user.is_enabled else " [disabled]"
        org = user.organisation.name if user.organisation else "-"
        click.echo(f"{user.username}\t{user.role.value}\t{org}{state}")


COMMANDS = [users_group]
