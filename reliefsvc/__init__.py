"""reliefsvc: the county platform for purchased social-assistance services."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from reliefsvc import config

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Domain packages, in dependency order; each may have models, views, cli and jobs.
DOMAINS = ("security", "audit", "regions", "notifications", "jobs", "providers", "contracts", "cases", "evidence",
           "integrity", "hiring", "rectifications", "assessments", "spotchecks", "payments", "evaluations", "api", "ops",
           "dashboards", "ledgers")


def domain_modules(part: str, extra: tuple[str, ...] = ()):
    """Each domain's ``part`` module (``views``, ``models``, ``cli``, ``jobs``), where it has one."""
    import importlib

    for name in (*DOMAINS, *extra):
        try:
            yield importlib.import_module(f"reliefsvc.{name}.{part}")
        except ModuleNotFoundError as exc:
            if exc.name != f"reliefsvc.{name}.{part}":
                raise


def create_app(config_override: dict | None = None) -> Flask:
    """Build the application: extensions, blueprints, CLI, nothing else."""
    instance_path = (config_override or {}).get("INSTANCE_PATH") or config.instance_path_from_env()
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    config.load(app, config_override)

    from reliefsvc import web
    from reliefsvc.extensions import babel, bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=web.select_timezone)
    bootstrap.init_app(app)

    with app.app_context():
        from reliefsvc.db import install_sqlite_discipline

        install_sqlite_discipline(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    web.import_models()
    web.init_app(app)
    for blueprint in web.blueprints():
        app.register_blueprint(blueprint)

    from reliefsvc.security.access import check_every_endpoint_guarded

    check_every_endpoint_guarded(app)
    return app
