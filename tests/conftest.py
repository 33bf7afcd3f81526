"""Fixtures: one migrated database per test session, each test rolled back.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from reliefsvc import create_app
from reliefsvc.extensions import db as _db

TEST_PASSWORD = "Test-password-2026"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def reset_database(app) -> None:
    """Drop everything and migrate from scratch (the schema tests rely on migrations)."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = _db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            path = engine.url.database
            engine.dispose()
            if path and os.path.exists(path):
                os.remove(path)
        upgrade(directory=app.extensions["migrate"].directory)
        _db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_url):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "INSTANCE_PATH": instance,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SERVER_NAME": "localhost",
    })
    reset_database(app)
    return app


@pytest.fixture(autouse=True)
def db(request, app):
    """Each test runs inside one outer transaction that is rolled back at the end."""
    if "no_db_rollback" in request.keywords:
        yield _db
        return
    with app.app_context():
        conn = _db.engine.connect()
        outer = conn.begin()
        _db.session.remove()
        _db.session.configure(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session.configure(bind=None, join_transaction_mode="conservative_savepoint")
            outer.rollback()
            conn.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def create_org(db):
    from reliefsvc.security import service
    from reliefsvc.security.models import OrgKind

    def create(name: str = "康乐县民政局", kind: OrgKind | str = OrgKind.BUREAU):
        return service.get_or_create_organisation(name, OrgKind(kind))

    return create


@pytest.fixture
def create_user(db, create_org):
    """``create_user(role="officer", org=None, username=None)`` → a User."""
    from reliefsvc.security import service
    from reliefsvc.security.models import OrgKind, Role

    counter = iter(range(1, 10_000))

    def create(role: Role | str = Role.OFFICER, org=None, username: str | None = None,
               password: str = TEST_PASSWORD):
        role = Role(role)
        if org is None:
            if role.is_provider:
                org = create_org("测试承接主体甲", OrgKind.PROVIDER)
            elif role is Role.EVALUATOR:
                org = create_org("测试评估机构", OrgKind.EVALUATION_BODY)
            else:
                org = create_org("康乐县民政局", OrgKind.BUREAU)
        return service.create_user(username or f"{role.value}{next(counter)}", password, role, organisation=org)

    return create


@pytest.fixture
def login(client):
    """Log ``user`` into ``client`` without going through the form (fast)."""

    def do(user, locale: str | None = None):
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            if locale:
                sess["locale"] = locale
        return client

    return do


@pytest.fixture
def run_cli(app):
    """Invoke a ``reliefsvc`` command inside the test's transaction."""
    runner = app.test_cli_runner()

    def run(*args, **kwargs):
        return runner.invoke(args=list(args), catch_exceptions=False, **kwargs)

    return run


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def pytest_configure(config):
    """Compile the message catalogs when a .po is newer than its .mo (plain ``pytest`` runs)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "reliefsvc" / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
