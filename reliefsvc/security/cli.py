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
@click.option("--password", required=True,
              help="At least 12 characters of three classes (lower, upper, digit, symbol); not a common password.")
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


# --- identity (issue 15) -------------------------------------------------------------------

def second_factor_notice() -> str:
    """One plain line for ``demo logins``: which logins need an authenticator app here."""
    required = [str(r) for r in current_app.config["TOTP_REQUIRED_ROLES"]]
    if not required:
        return ("second factor (TOTP): NOT required on this instance (TOTP_REQUIRED_ROLES = []); "
                "a production installation requires it / 本实例不要求双因素认证（生产环境要求）")
    return ("second factor (TOTP): REQUIRED for " + ", ".join(required)
            + " — set it up with an authenticator app at the first login; to relax it on a demo instance set "
              "TOTP_REQUIRED_ROLES = [] in instance/config.py / " + "、".join(required)
            + " 须使用双因素认证（首次登录时用身份验证器设置）")

def _user(username: str):
    import sqlalchemy as sa

    from reliefsvc.security.models import User

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        click.echo(f"no account {username!r} / 没有账号“{username}”", err=True)
        sys.exit(1)
    return user


@users_group.command("reset-2fa")
@click.argument("username")
@with_appcontext
def reset_2fa_command(username):
    """Remove an account's second factor and recovery codes (a lost phone); it sets one up again."""
    from reliefsvc.security import identity

    user = _user(username)
    identity.reset_totp(user)
    db.session.commit()
    click.echo(f"second factor of {username} removed; the account sets it up again at its next login"
               f" / 已清除 {username} 的双因素认证，下次登录时重新设置")


@users_group.command("unlock")
@click.argument("username")
@with_appcontext
def unlock_command(username):
    """Lift a lockout after failed logins."""
    from reliefsvc.security import identity

    identity.unlock(_user(username))
    db.session.commit()
    click.echo(f"{username} unlocked / 已解锁")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (asked for when not given).")
@click.option("--must-change/--no-must-change", default=True, show_default=True,
              help="The owner must replace it at the next login.")
@with_appcontext
def set_password_command(username, password, must_change):
    """Set a new password (the policy applies); the account's sessions end."""
    from reliefsvc.security import identity

    user = _user(username)
    try:
        identity.set_password(user, password, "cli", must_change=must_change)
    except service.AccountError as exc:
        db.session.rollback()
        click.echo(f"{exc.en} / {exc.zh}", err=True)
        sys.exit(1)
    if user.locked_until is not None:
        identity.unlock(user)
    db.session.commit()
    click.echo(f"password of {username} set / 已设置 {username} 的密码")


def _set_enabled(username: str, enabled: bool) -> None:
    service.set_enabled(_user(username), enabled)
    db.session.commit()
    click.echo(f"{username} {'enabled / 已启用' if enabled else 'disabled / 已停用'}")


@users_group.command("disable")
@click.argument("username")
@with_appcontext
def disable_command(username):
    """Disable an account (accounts are never deleted)."""
    _set_enabled(username, False)


@users_group.command("enable")
@click.argument("username")
@with_appcontext
def enable_command(username):
    """Enable a disabled account."""
    _set_enabled(username, True)


@users_group.command("check-demo-passwords")
@with_appcontext
def check_demo_passwords_command():
    """Exit 1 if an enabled demo login still opens with the public demo password (production check)."""
    from reliefsvc.security import identity

    found = identity.accounts_with_demo_passwords()
    if found:
        click.echo("accounts with the demo password / 仍使用演示密码的账号: " + ", ".join(found), err=True)
        sys.exit(1)
    click.echo("no account has the demo password / 没有账号使用演示密码")


COMMANDS = [users_group]
