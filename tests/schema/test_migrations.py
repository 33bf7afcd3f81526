"""Models and migrations may not drift apart; the schema carries the database's own rules."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from reliefsvc.extensions import db as _db


def test_models_match_migrations(app, db):
    """The migrated test database and the models describe the same schema."""
    conn = db.session.connection()
    context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
    diff = compare_metadata(context, _db.metadata)
    assert diff == [], "models and migrations differ; run `make migration m=...`:\n" + "\n".join(map(str, diff))


def test_the_drift_check_can_fail(app, db):
    """A column the migrations do not know about is reported."""
    metadata = sa.MetaData()
    for table in _db.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("region", metadata, sa.Column("extra_column", sa.Integer), extend_existing=True)
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, metadata)
    assert any("extra_column" in str(d) for d in diff)


def test_migrations_are_at_head(app, db):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 — the extension holds the config

    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    current = MigrationContext.configure(db.session.connection()).get_current_heads()
    assert len(heads) == 1, "migrations have branched"
    assert set(current) == set(heads)


@pytest.mark.no_db_rollback
def test_init_is_safe_to_run_twice(run_cli):
    assert run_cli("init").exit_code == 0
    assert run_cli("init").exit_code == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET actor_name = 'x'",
    "DELETE FROM audit_entry",
])
def test_the_database_refuses_to_change_the_audit_log(db, create_user, statement):
    create_user("officer")  # writes audit entries
    db.session.flush()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text(statement))
