import sys

import click
from flask.cli import with_appcontext

from reliefsvc import audit, demo
from reliefsvc.extensions import db


@click.group("demo")
def demo_group():
    """The demo county (康乐县)."""


@demo_group.command("load")
@click.option("--seed", default=demo.DEFAULT_SEED, show_default=True, help="Seed of the random generator.")
@click.option("--force", is_flag=True, help="Load even though the database already holds data.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database holds data.")
@click.option("--small", is_flag=True, help="One month of service records instead of six (quick looks, tests).")
@with_appcontext
def load_command(seed, force, if_empty, small):
    """Build Kangle County with one login per role."""
    from flask import current_app

    if current_app.config.get("ENV_NAME") == "production":  # issue 15: no default accounts in production
        click.echo("refusing to load the demo county in production / 生产环境不能加载演示数据", err=True)
        sys.exit(1)
    if not demo.database_is_empty() and not force:
        if if_empty:
            click.echo("demo: the database already holds data; nothing loaded / 数据库已有数据，未加载演示数据")
            return
        click.echo("the database already holds data; use --force to add the demo county anyway"
                   " / 数据库已有数据；如确需加载演示数据请加 --force", err=True)
        sys.exit(1)
    audit.set_actor("demo")
    demo.load(seed, echo=click.echo, scale="small" if small else "full")
    db.session.commit()
    _print_logins()


def _print_logins():
    from reliefsvc.demo.accounts import LOGINS

    click.echo("demo logins / 演示账号（用户名 / 密码 / 角色）:")
    for username, role, full_name, _org in LOGINS:
        click.echo(f"  {username:<10} {demo.DEMO_PASSWORD}  {role.value:<17} {role.label}（{full_name}）")
    from reliefsvc.security.cli import second_factor_notice  # issue 15

    click.echo(second_factor_notice())


@demo_group.command("logins")
@with_appcontext
def logins_command():
    """Print the demo logins, if the demo county is loaded."""
    import sqlalchemy as sa

    from reliefsvc.demo.accounts import LOGINS
    from reliefsvc.security.models import User

    names = [username for username, *_ in LOGINS]
    if db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.username.in_(names))) == 0:
        click.echo("no demo accounts in this database / 本数据库没有演示账号")
        return
    _print_logins()


COMMANDS = [demo_group]
