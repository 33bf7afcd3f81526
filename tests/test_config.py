"""Settings: defaults, instance/config.py, environment; production refuses insecure ones."""

import pytest

from reliefsvc import create_app


def test_secret_key_is_generated_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": tmp_path})
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64
    again = create_app({"INSTANCE_PATH": tmp_path})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_two_processes_creating_a_key_at_once_agree_on_one(tmp_path, monkeypatch):
    """gunicorn's workers start together on a new instance: the one that links its key file
    first wins, the other reads that key instead of failing or writing its own."""
    import os

    from reliefsvc import config

    real_link = os.link

    def the_other_worker_was_first(source, target):
        target_path = tmp_path / "totp_key"
        target_path.write_text("ab" * 32 + "\n", encoding="ascii")
        return real_link(source, target)

    monkeypatch.setattr(config.os, "link", the_other_worker_was_first)
    assert config._read_or_create_key(tmp_path, "totp_key") == "ab" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["totp_key"]  # no temporary file left
    monkeypatch.undo()
    assert config._read_or_create_key(tmp_path, "totp_key") == "ab" * 32
    fresh = config._read_or_create_key(tmp_path, "audit_hmac_key")
    assert len(fresh) == 64 and (tmp_path / "audit_hmac_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_a_default_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("RELIEFSVC_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": tmp_path})


def test_production_with_a_real_key_sets_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("RELIEFSVC_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "f" * 64)
    app = create_app({"INSTANCE_PATH": tmp_path})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_order_defaults_instance_file_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "config.py").write_text('PAGE_SIZE = 20\nSQLALCHEMY_DATABASE_URI = "sqlite:///from-file.db"\n')
    app = create_app({"INSTANCE_PATH": tmp_path})
    assert app.config["PAGE_SIZE"] == 20
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///from-file.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    app = create_app({"INSTANCE_PATH": tmp_path})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_instance_path_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("RELIEFSVC_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.instance_path == str(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'reliefsvc.sqlite'}"
    assert app.config["EVIDENCE_PATH"] == str(tmp_path / "evidence")


def test_bootstrap_is_served_locally(client):
    page = client.get("/login").get_data(as_text=True)
    assert "cdn" not in page.lower()
    assert "/bootstrap/static/css/bootstrap.min.css" in page
    response = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert response.status_code == 200
    response.close()


def test_csrf_is_enforced_on_forms(app, tmp_path):
    app_csrf = create_app({
        "INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": True,
    })
    client = app_csrf.test_client()
    response = client.post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "请求无法处理" in response.get_data(as_text=True)
    response = client.post("/locale", data={"locale": "en"})
    assert response.status_code == 400
    with app_csrf.app_context():
        from reliefsvc.extensions import db

        db.engine.dispose()


def test_the_web_workers_freeze_their_long_lived_objects():
    """gunicorn's settings module (docs/operations.md) hides a worker's application objects from
    the cyclic collector once built: full collections then look only at what requests made."""
    import gc

    from reliefsvc import gunicorn_conf

    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
