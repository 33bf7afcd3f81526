"""annual evaluations

Revision ID: a7e1c0de1201
Revises: a7e1c0de1101
Create Date: 2026-11-27 21:10:00

"""
import sqlalchemy as sa
from alembic import op

import reliefsvc.db

# revision identifiers, used by Alembic.
revision = 'a7e1c0de1201'
down_revision = 'a7e1c0de1101'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('year_no', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('day_from', sa.Date(), nullable=False),
    sa.Column('day_to', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'commenting', 'signed', name='evaluationstatus', native_enum=False, length=12), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('figures_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assessor_id', sa.Integer(), nullable=True),
    sa.Column('rating', sa.String(length=10), nullable=True),
    sa.Column('rebuy', sa.Boolean(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('sent_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment_until', sa.Date(), nullable=True),
    sa.Column('comments_closed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('doc_no', sa.String(length=40), nullable=True),
    sa.CheckConstraint('year_no >= 1', name=op.f('ck_evaluation_year_no_positive')),
    sa.CheckConstraint('day_from <= day_to', name=op.f('ck_evaluation_days_ordered')),
    sa.CheckConstraint("origin IN ('job', 'officer', 'demo', 'cli')", name=op.f('ck_evaluation_origin_known')),
    sa.CheckConstraint("rating IS NULL OR rating IN ('excellent', 'good', 'pass', 'fail')", name=op.f('ck_evaluation_rating_known')),
    sa.CheckConstraint("status <> 'signed' OR (signed_at IS NOT NULL AND signed_by_id IS NOT NULL AND rating IS NOT NULL AND rebuy IS NOT NULL AND doc_no IS NOT NULL)", name=op.f('ck_evaluation_signed_complete')),
    sa.CheckConstraint('signed_by_id IS NULL OR assessor_id IS NULL OR signed_by_id <> assessor_id', name=op.f('ck_evaluation_signer_not_assessor')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_evaluation_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_evaluation_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['assessor_id'], ['user_account.id'], name=op.f('fk_evaluation_assessor_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'], name=op.f('fk_evaluation_signed_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation')),
    sa.UniqueConstraint('contract_id', 'year_no', name='uq_evaluation_contract_year'),
    sa.UniqueConstraint('doc_no', name='uq_evaluation_doc_no')
    )
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_year'), ['year'], unique=False)
    op.create_table('evaluation_dimension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('scored_by_id', sa.Integer(), nullable=True),
    sa.Column('scored_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("code IN ('management', 'outcomes', 'funds')", name=op.f('ck_evaluation_dimension_code_known')),
    sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 100)', name=op.f('ck_evaluation_dimension_score_range')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_evaluation_dimension_evaluation_id_evaluation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['scored_by_id'], ['user_account.id'], name=op.f('fk_evaluation_dimension_scored_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_dimension')),
    sa.UniqueConstraint('evaluation_id', 'code', name='uq_evaluation_dimension_code')
    )
    with op.batch_alter_table('evaluation_dimension', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_dimension_evaluation_id'), ['evaluation_id'], unique=False)
    op.create_table('evaluation_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('comment', 'no_further')", name=op.f('ck_evaluation_comment_kind_known')),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_evaluation_comment_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_evaluation_comment_evaluation_id_evaluation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_comment'))
    )
    with op.batch_alter_table('evaluation_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_comment_evaluation_id'), ['evaluation_id'], unique=False)
    create_freeze_triggers()


#: A signed evaluation never changes: the database itself refuses, whoever asks (the
#: service and a before_flush check refuse first, with a readable error).
_CHILDREN = ("evaluation_dimension", "evaluation_comment")


def create_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER evaluation_frozen_{action.lower()} BEFORE {action} ON evaluation "
                       f"WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, 'evaluation is frozen: {action} refused'); END")
        for table in _CHILDREN:
            for action, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
                op.execute(f"CREATE TRIGGER {table}_frozen_{action.lower()} BEFORE {action} ON {table} "  # noqa: S608 — table names are constants
                           f"WHEN (SELECT status FROM evaluation WHERE id = {row}.evaluation_id) = 'signed' "
                           f"BEGIN SELECT RAISE(ABORT, 'evaluation is frozen: {action} on {table} refused'); END")
        return
    op.execute("CREATE FUNCTION evaluation_refuse_frozen() RETURNS trigger AS $$ "
               "BEGIN IF OLD.status = 'signed' THEN RAISE EXCEPTION 'evaluation is frozen: % refused', TG_OP; END IF; "
               "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql")
    op.execute("CREATE TRIGGER evaluation_frozen BEFORE UPDATE OR DELETE ON evaluation "
               "FOR EACH ROW EXECUTE FUNCTION evaluation_refuse_frozen()")
    for table in _CHILDREN:
        op.execute(f"CREATE FUNCTION {table}_refuse_frozen() RETURNS trigger AS $$ "  # noqa: S608 — table names are constants
                   f"DECLARE parent_id integer; BEGIN "
                   f"IF TG_OP = 'INSERT' THEN parent_id := NEW.evaluation_id; ELSE parent_id := OLD.evaluation_id; END IF; "
                   f"IF (SELECT status FROM evaluation WHERE id = parent_id) = 'signed' THEN "
                   f"RAISE EXCEPTION 'evaluation is frozen: % on {table} refused', TG_OP; END IF; "
                   f"IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_frozen()")


def drop_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS evaluation_frozen_{action}")
        for table in _CHILDREN:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_{action}")
        return
    for table in ("evaluation", *_CHILDREN):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_frozen()")


def downgrade():
    drop_freeze_triggers()
    with op.batch_alter_table('evaluation_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_comment_evaluation_id'))
    op.drop_table('evaluation_comment')
    with op.batch_alter_table('evaluation_dimension', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_dimension_evaluation_id'))
    op.drop_table('evaluation_dimension')
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_year'))
        batch_op.drop_index(batch_op.f('ix_evaluation_status'))
        batch_op.drop_index(batch_op.f('ix_evaluation_contract_id'))
    op.drop_table('evaluation')
