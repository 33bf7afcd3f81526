"""Settings: defaults here, then ``instance/config.py``, then the environment.

The instance folder holds everything that belongs to one installation and is never
committed: the SQLite database, evidence files, the secret key and the audit HMAC key.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Keys that must never be used in production; a generated key replaces them.
INSECURE_SECRET_KEYS = {"", "dev", "change-me", "secret"}


class Defaults:
    SECRET_KEY = "dev"  # noqa: S105 — a placeholder: replaced by a generated key, refused in production
    ENV_NAME = "development"  #: "production" makes the app refuse insecure settings
    SQLALCHEMY_DATABASE_URI: str | None = None  #: default: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 15000
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    BOOTSTRAP_SERVE_LOCAL = True  #: the county network is closed: no CDN
    BOOTSTRAP_BTN_SIZE = "md"
    WTF_CSRF_TIME_LIMIT = None  #: the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    COUNTY_NAME = "康乐县"
    BUREAU_NAME = "康乐县民政局"
    PAGE_SIZE = 50
    #: issue 13: the open-contracting ocid prefix (registered with OCP: "ocds-" and six characters) and the
    #: address the published release packages live under
    OCDS_PREFIX = "ocds-kl0622"
    OCDS_PUBLISH_URI = "https://mz.kangle.gov.cn/opendata/ocds"
    ALERT_DEADLINE_HOURS = {"red": 24, "orange": 72, "yellow": 168}  #: door-to-door check due after an alert (section 十二)
    # --- identity and sessions (issue 15; docs/identity.md) ---
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MIN_CLASSES = 3  #: of four: lower case, upper case, digit, symbol
    PASSWORD_MAX_AGE_DAYS = 180  #: a password older than this must be changed before anything else; 0: never
    LOGIN_MAX_FAILURES = 5  #: failed logins (password or second factor) that lock an account
    LOGIN_LOCKOUT_MINUTES = 15
    LOGIN_ADDRESS_MAX_FAILURES = 20  #: failed logins from one address within the window below
    LOGIN_ADDRESS_WINDOW_MINUTES = 15
    #: roles that must use a TOTP second factor; others may enrol from their account page.
    #: A development or demo instance may set [] in instance/config.py (`demo logins` says so).
    TOTP_REQUIRED_ROLES = ("admin", "officer", "inspector", "security_admin", "auditor")
    TOTP_ISSUER = "康乐县购买服务监管平台"
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    # --- issue 15: HTTP, uploads ---
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: how many reverse proxies (nginx) in front of the app set X-Forwarded-*; 0: none, trust no header
    PROXY_FIX = 0
    #: Strict-Transport-Security max-age, sent only on requests that came over TLS
    HSTS_SECONDS = 365 * 24 * 3600
    #: evidence and document bytes one organisation may store in total; None: no limit
    UPLOAD_QUOTA_BYTES_PER_ORG: int | None = 20 * 1024 * 1024 * 1024


def _read_or_create_key(instance_path: Path, name: str) -> str:
    """A random key kept in a file of the instance folder, created on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Written whole under a temporary name, then linked into place: two processes starting at
    # once (gunicorn's workers on a new instance) agree on the one key that got there first.
    fd, temporary = tempfile.mkstemp(prefix=f".{name}-", dir=instance_path)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        os.unlink(temporary)
    return key


def instance_path_from_env() -> Path:
    configured = os.environ.get("RELIEFSVC_INSTANCE_PATH")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "instance"


def load(app, config_override: dict | None = None) -> None:
    """Fill ``app.config`` in order: defaults, instance/config.py, environment, override."""
    app.config.from_object(Defaults)
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.from_pyfile(str(instance_path / "config.py"), silent=True)

    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("RELIEFSVC_ENV"):
        app.config["ENV_NAME"] = os.environ["RELIEFSVC_ENV"]
    if config_override:
        app.config.update(config_override)

    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = f"sqlite:///{instance_path / 'reliefsvc.sqlite'}"
    if uri.startswith(("postgres://", "postgresql://")):
        # psycopg 3 is the driver we ship; plain URLs from operators mean it.
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri

    production = app.config["ENV_NAME"] == "production"
    if app.config["SECRET_KEY"] in INSECURE_SECRET_KEYS:
        if production:
            raise RuntimeError(
                "生产环境不能使用默认密钥：请在 instance/config.py 或环境变量 SECRET_KEY 中设置。"
                " / Refusing to start in production with a default SECRET_KEY."
            )
        app.config["SECRET_KEY"] = _read_or_create_key(instance_path, "secret_key")
    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        # Links built outside a request (messages, reports) point at the TLS site.
        app.config["PREFERRED_URL_SCHEME"] = "https"

    # The audit HMAC key lives beside the database, never inside it: whoever can
    # rewrite the table cannot forge the row MACs without this file.
    if not app.config.get("AUDIT_HMAC_KEY"):
        app.config["AUDIT_HMAC_KEY"] = _read_or_create_key(instance_path, "audit_hmac_key")
    # The key that seals the second factors' secrets (issue 15), beside the database like the
    # audit key: a copy of the database alone does not reveal anybody's authenticator.
    if not app.config.get("TOTP_KEY"):
        app.config["TOTP_KEY"] = _read_or_create_key(instance_path, "totp_key")
    app.config.setdefault("EVIDENCE_PATH", str(instance_path / "evidence"))
