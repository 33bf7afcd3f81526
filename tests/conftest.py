"""Fixtures: one migrated database per test session, each test rolled back.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from reliefsvc import create_app
from reliefsvc.extensions import db as _db

TEST_PASSWORD = "Test-password-2026"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _database_of_this_worker(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist every worker gets a PostgreSQL database of its own (``test_gw0`` …),
    made beside ``TEST_DATABASE_URL``'s when missing; without xdist, the URL itself."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": own.database})
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


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
        # Cheap hashes: hundreds of accounts are made by the role matrix.
        "ARGON2_PARAMETERS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        # Issue 15: no second factor by default; tests/security/test_identity*.py turn it on.
        "TOTP_REQUIRED_ROLES": (),
    })
    reset_database(app)
    yield app
    with app.app_context():
        _db.engine.dispose()


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
            _db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            outer.rollback()
            conn.close()


class CommittingClient(FlaskClient):
    """A test client for which what the test made before a request is committed data.

    The test and the requests share one session (and one outer transaction that is rolled
    back at the end); a request that fails rolls back to the last commit, so the test's
    own setup is committed first, exactly as it would be in production.
    """

    def open(self, *args, **kwargs):
        from flask import g, has_app_context

        _db.session.commit()
        if has_app_context():
            # The test's app context outlives each request here (in production every request
            # has its own): forget the user Flask-Login remembered for the last one.
            g.pop("_login_user", None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _db.session.expire_all()


@pytest.fixture
def client(app):
    app.test_client_class = CommittingClient
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
        from reliefsvc.security.views import session_markers

        with client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            sess.update(session_markers(user))  # issue 15: epoch and session clocks
            if locale:
                sess["locale"] = locale
        return client

    return do


@pytest.fixture
def run_cli(app):
    """Invoke a ``reliefsvc`` command inside the test's transaction."""
    runner = app.test_cli_runner()

    def run(*args, **kwargs):
        from flask import has_app_context

        if has_app_context():
            _db.session.commit()  # what the test made is committed data, as for the test client
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


@pytest.fixture
def scratch_database(tmp_path, database_url):
    """An empty, migrated database of the suite's kind for tests that need several processes.

    Returns (DATABASE_URL, instance folder). SQLite: a file in tmp_path; PostgreSQL: a
    database named after the test database with ``_scratch``, dropped and created anew.
    """
    import subprocess
    import sys

    instance = tmp_path / "instance"
    instance.mkdir()
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        scratch = url.set(database=f"{url.database}_scratch")
        admin = sa.create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{scratch.database}"')
        admin.dispose()
        scratch_url = scratch.render_as_string(hide_password=False)
    else:
        scratch_url = f"sqlite:///{instance / 'scratch.sqlite'}"
    env = {**os.environ, "DATABASE_URL": scratch_url, "RELIEFSVC_INSTANCE_PATH": str(instance)}
    subprocess.run([sys.executable, "-m", "reliefsvc", "init"], env=env, check=True,
                   capture_output=True, timeout=120)
    return scratch_url, instance


# --- providers ---------------------------------------------------------------------------

def make_id(n: int, year: int = 1985) -> str:
    from reliefsvc.common.idnumber import check_character

    body = f"622922{year}0{n % 9 + 1}1{n % 9}{n % 1000:03d}"
    return body + check_character(body)


def make_code(n: int) -> str:
    from reliefsvc.providers import rules

    return rules.make_uscc("52", "622922", f"MJ{n:06d}")


@pytest.fixture
def create_provider(db, create_org):
    counter = iter(range(1, 10_000))

    def create(name: str | None = None, **details):
        n = next(counter)
        from reliefsvc.providers import service
        from reliefsvc.providers.models import OrgType

        return service.create_provider(details.pop("uscc", None) or make_code(n + 500),
                                       name or f"测试社工服务中心{n}", details.pop("org_type", OrgType.SOCIAL_ORG),
                                       **details)

    return create


@pytest.fixture
def approved(db, create_user):
    """``approved(provider, valid_days=300)`` → a decided approval through the real workflow."""
    from datetime import timedelta

    from reliefsvc.demo.providers import minimal_pdf
    from reliefsvc.providers import service
    from reliefsvc.providers.models import Verdict, VettingStatus

    def approve(provider, valid_days: int = 300, status=VettingStatus.APPROVED, on=None):
        officer = create_user("officer")
        vetting = service.open_vetting(provider, officer)
        for item in vetting.items:
            service.add_document(provider, minimal_pdf(item.title.encode("unicode_escape").decode()),
                                 "x.pdf", officer, item)
            service.set_verdict(item, Verdict.PASS, "", officer)
        on = on or service.today()
        service.decide(vetting, service.Decision(status, valid_until=on + timedelta(days=valid_days),
                                                 conditions="补交材料" if status == VettingStatus.CONDITIONAL else None,
                                                 condition_deadline=on + timedelta(days=10)
                                                 if status == VettingStatus.CONDITIONAL else None),
                       officer, on=on)
        return vetting

    return approve


# --- cases and service records --------------------------------------------------------------

@pytest.fixture
def create_case(db):
    """``create_case(village, ref=None, status="active")`` → a household in the registry."""
    from reliefsvc.cases.models import Case, CaseStatus

    counter = iter(range(1, 100_000))

    def create(village, ref: str | None = None, status: str = "active", **values):
        n = next(counter)
        case = Case(case_ref=ref or f"HH{n:06d}", head_name=values.pop("head_name", f"户主{n}"),
                    head_id_number=values.pop("head_id_number", make_id(n + 300, 1950)), village=village,
                    household_size=values.pop("household_size", 2), status=CaseStatus(status),
                    status_changed_on=values.pop("status_changed_on", None), **values)
        _db.session.add(case)
        _db.session.flush()
        return case

    return create


@pytest.fixture
def photo_bytes():
    """``photo_bytes(seed, when=None, gps=None)`` → a real JPEG, optionally with EXIF time and GPS."""
    import io
    import random

    from PIL import Image, ImageDraw

    def make(seed: int = 1, when=None, gps=None, size=(320, 240)) -> bytes:
        rng = random.Random(seed)
        img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(12):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            draw.rectangle([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)],
                           fill=tuple(rng.randrange(256) for _ in range(3)))
        exif = Image.Exif()
        if when is not None:
            exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        if gps is not None:
            lat, lon = gps

            def dms(value):
                d = int(value)
                m = int((value - d) * 60)
                return (float(d), float(m), round(((value - d) * 60 - m) * 60, 2))

            exif.get_ifd(0x8825).update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
        out = io.BytesIO()
        img.save(out, "JPEG", quality=88, exif=exif)
        return out.getvalue()

    return make


# --- contracts ---------------------------------------------------------------------------


@pytest.fixture
def villages(db):
    from reliefsvc.contracts import service
    from reliefsvc.regions.models import Level, Region

    county = Region(code="622922", name="康乐县", level=Level.COUNTY, lat=35.37, lon=103.71)
    town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county, lat=35.37, lon=103.70)
    vs = [Region(code=f"622922100{200 + i}", name=f"第{i}村", level=Level.VILLAGE, parent=town,
                 lat=35.37 + i / 100, lon=103.70) for i in range(1, 4)]
    db.session.add_all([county, town, *vs])
    db.session.flush()
    service.ensure_catalogue()
    return vs


@pytest.fixture
def create_contract(db, villages, create_provider, approved):
    """``create_contract(status="active", obligations=[...])`` → a Contract through the service."""
    from datetime import date, timedelta
    from decimal import Decimal

    from reliefsvc.contracts import service

    counter = iter(range(1, 1000))

    def create(status="active", provider=None, obligations=(("home_visit", "month", 10, "records"),),
               starts_on=None, ends_on=None, **overrides):
        provider = provider or create_provider()
        if status == "active" and service.providers.approval_state(provider).status == "none":
            approved(provider)
        starts_on = starts_on or date(2026, 1, 1)
        data = service.ContractData(
            contract_no=overrides.pop("contract_no", f"康民购〔2026〕{next(counter)}号"),
            title=overrides.pop("title", "协理服务项目"),
            provider=provider, purchaser="康乐县民政局", procurement_method="public_tender",
            amount=Decimal("120000"), starts_on=starts_on, ends_on=ends_on or starts_on + timedelta(days=364),
            pricing_model="output", villages=villages, **overrides)
        contract = service.create_contract(data)
        for o in obligations:
            service.add_obligation(contract, *o)
        if status == "active":
            service.change_status(contract, "active", "签订", None)
        return contract

    return create
