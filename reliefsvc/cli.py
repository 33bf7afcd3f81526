"""The ``reliefsvc`` console script: a Flask CLI group with the platform's commands.

Every command runs in one transaction: it commits once at the end, or not at all.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from reliefsvc.extensions import db
from reliefsvc.notifications import service as notifications


def _create_app():
    from reliefsvc import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """reliefsvc — 购买社会救助服务监管平台 / purchased social-assistance services platform."""


def register(app) -> None:
    """Attach each domain's command group (its ``cli.py``) to ``app.cli``."""
    from reliefsvc import domain_modules

    app.cli.add_command(init_command)
    app.cli.add_command(serve_command)
    for module in domain_modules("cli", extra=("demo",)):
        for command in module.COMMANDS:
            app.cli.add_command(command)


@click.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database schema (safe to run twice)."""
    from flask_migrate import upgrade

    from reliefsvc.security.identity import seal_clear_secrets

    upgrade(directory=current_app.extensions["migrate"].directory)
    seed_defaults()
    sealed = seal_clear_secrets()  # second factors stored in clear before they were sealed
    db.session.commit()
    if sealed:
        click.echo(f"sealed {sealed} second-factor secret(s) with instance/totp_key")
    stale = _photos_to_rehash()
    if stale:
        click.echo(f"{stale} photos carry hashes of an older version: run `reliefsvc services rehash-photos` / "
                   f"{stale} 张照片的感知哈希须按新算法重算：reliefsvc services rehash-photos")
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


def _photos_to_rehash() -> int:
    from reliefsvc.evidence.models import Photo
    from reliefsvc.evidence.photos import HASH_VERSION

    return db.session.scalar(sa.select(sa.func.count()).select_from(Photo).where(Photo.hash_version < HASH_VERSION))


def seed_defaults() -> None:
    """Reference data every installation starts with (only where none exists yet)."""
    from reliefsvc.contracts.service import ensure_catalogue
    from reliefsvc.providers.service import ensure_default_checklist

    ensure_default_checklist()
    ensure_catalogue()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-jobs", is_flag=True, help="Do not start the scheduler process.")
@with_appcontext
def serve_command(host, port, no_jobs):
    """Serve the platform and run the scheduler process (reliefsvc jobs run) beside it."""
    app = current_app._get_current_object()
    scheduler = None
    if not no_jobs:
        scheduler = subprocess.Popen([sys.executable, "-m", "reliefsvc", "jobs", "run"])
    click.echo(f"reliefsvc: http://{host}:{port}/  (Ctrl+C to stop / 按 Ctrl+C 停止)")
    try:
        # Flask ignores app.run() inside its own CLI; serve with Werkzeug directly.
        import gc

        from werkzeug.serving import run_simple

        gc.collect()
        gc.freeze()  # the application's long-lived objects out of the collector's sight (gunicorn_conf.py)

        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=15)
            except subprocess.TimeoutExpired:
                scheduler.kill()


def read_input_file(path: str) -> bytes:
    return Path(path).read_bytes()


def finish_import(report, errors_path: str | None, partial: bool) -> None:
    """Print the report, write the error file, commit or roll back, and exit."""
    for error in report.errors:
        click.echo(str(error), err=True)
    if errors_path:
        with open(errors_path, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.DictWriter(fh, fieldnames=["row", "column", "error_zh", "error_en"])
            writer.writeheader()
            writer.writerows(e.as_dict() for e in report.errors)
    if report.written and (partial or not report.errors):
        notifications.commit()
        click.echo(report.summary())
        return
    db.session.rollback()
    click.echo(f"nothing written: {len(report.errors)} errors / 未导入：共 {len(report.errors)} 处错误", err=True)
    click.echo(report.summary())
    sys.exit(1)


def import_options(func):
    func = click.option("--errors", "errors_path", type=click.Path(dir_okay=False, writable=True),
                        help="Write the row-by-row errors to this CSV file.")(func)
    func = click.option("--partial", is_flag=True, help="Write the valid rows and report the rest.")(func)
    func = click.option("--encoding", default="utf-8", show_default=True,
                        type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
                        help="Encoding of a CSV file.")(func)
    return func
