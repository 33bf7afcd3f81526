"""assessments and rectifications

Revision ID: a7e1c0de0902
Revises: a7e1c0de0801
Create Date: 2026-11-27 20:40:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de0902'
down_revision = 'a7e1c0de0801'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_standard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='standardstatus', native_enum=False, length=12), nullable=False),
    sa.Column('excellent_from', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('good_from', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('pass_from', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('based_on_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('good_from < excellent_from AND pass_from < good_from', name=op.f('ck_assessment_standard_grade_edges_ordered')),
    sa.ForeignKeyConstraint(['based_on_id'], ['assessment_standard.id'], name=op.f('fk_assessment_standard_based_on_id_assessment_standard'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_assessment_standard_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_assessment_standard_published_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_standard')),
    sa.UniqueConstraint('code', 'version', name='uq_assessment_standard_code_version')
    )
    op.create_table('assessment_section',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_assessment_section_points_positive')),
    sa.ForeignKeyConstraint(['standard_id'], ['assessment_standard.id'], name=op.f('fk_assessment_section_standard_id_assessment_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_section'))
    )
    with op.batch_alter_table('assessment_section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_section_standard_id'), ['standard_id'], unique=False)
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('period_key', sa.String(length=10), nullable=False),
    sa.Column('day_from', sa.Date(), nullable=False),
    sa.Column('day_to', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'commenting', 'signed', name='assessmentstatus', native_enum=False, length=12), nullable=False),
    sa.Column('total', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=True),
    sa.Column('coefficient', sa.Numeric(precision=4, scale=2), nullable=True),
    sa.Column('consequences', sa.String(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment_until', sa.Date(), nullable=True),
    sa.Column('comments_closed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'signed' OR (signed_at IS NOT NULL AND grade IS NOT NULL)", name=op.f('ck_assessment_signed_complete')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_assessment_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_assessment_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'], name=op.f('fk_assessment_signed_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['standard_id'], ['assessment_standard.id'], name=op.f('fk_assessment_standard_id_assessment_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    sa.UniqueConstraint('contract_id', 'period_key', name='uq_assessment_contract_period')
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_status'), ['status'], unique=False)
    op.create_table('assessment_binding',
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('comment_days', sa.Integer(), nullable=False),
    sa.Column('coef_excellent', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('coef_good', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('coef_pass', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('coef_fail', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('bound_by_id', sa.Integer(), nullable=True),
    sa.Column('bound_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period IN ('month', 'quarter')", name=op.f('ck_assessment_binding_period_known')),
    sa.CheckConstraint('comment_days BETWEEN 1 AND 60', name=op.f('ck_assessment_binding_comment_days_range')),
    sa.ForeignKeyConstraint(['bound_by_id'], ['user_account.id'], name=op.f('fk_assessment_binding_bound_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_assessment_binding_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['standard_id'], ['assessment_standard.id'], name=op.f('fk_assessment_binding_standard_id_assessment_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_assessment_binding'))
    )
    op.create_table('assessment_indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('method', sa.Enum('computed', 'entered', 'deduction', name='method', native_enum=False, length=12), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('full_at', sa.Numeric(precision=10, scale=4), nullable=True),
    sa.Column('zero_at', sa.Numeric(precision=10, scale=4), nullable=True),
    sa.Column('per_event', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('guidance', sa.Text(), nullable=False),
    sa.CheckConstraint("method = 'entered' OR source IS NOT NULL", name=op.f('ck_assessment_indicator_source_given')),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_assessment_indicator_max_points_positive')),
    sa.ForeignKeyConstraint(['section_id'], ['assessment_section.id'], name=op.f('fk_assessment_indicator_section_id_assessment_section'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['standard_id'], ['assessment_standard.id'], name=op.f('fk_assessment_indicator_standard_id_assessment_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_indicator'))
    )
    with op.batch_alter_table('assessment_indicator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_indicator_section_id'), ['section_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_indicator_standard_id'), ['standard_id'], unique=False)
    op.create_table('assessment_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IS NULL OR decision IN ('upheld', 'rejected')", name=op.f('ck_assessment_comment_decision_known')),
    sa.CheckConstraint("kind IN ('comment', 'appeal', 'no_further')", name=op.f('ck_assessment_comment_kind_known')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_comment_assessment_id_assessment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_assessment_comment_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_assessment_comment_decided_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['indicator_id'], ['assessment_indicator.id'], name=op.f('fk_assessment_comment_indicator_id_assessment_indicator'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_comment'))
    )
    with op.batch_alter_table('assessment_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_comment_assessment_id'), ['assessment_id'], unique=False)
    op.create_table('assessment_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('figure', sa.Text(), nullable=False),
    sa.Column('source_label', sa.String(length=200), nullable=False),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('points IS NULL OR points >= 0', name=op.f('ck_assessment_score_points_not_negative')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_score_assessment_id_assessment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user_account.id'], name=op.f('fk_assessment_score_entered_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['indicator_id'], ['assessment_indicator.id'], name=op.f('fk_assessment_score_indicator_id_assessment_indicator'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_score')),
    sa.UniqueConstraint('assessment_id', 'indicator_id', name='uq_assessment_score_indicator')
    )
    with op.batch_alter_table('assessment_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_score_assessment_id'), ['assessment_id'], unique=False)
    op.create_table('rectification_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='noticestatus', native_enum=False, length=10), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_rectification_notice_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_rectification_notice_issued_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['record_id'], ['service_record.id'], name=op.f('fk_rectification_notice_record_id_service_record'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_notice'))
    )
    with op.batch_alter_table('rectification_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_notice_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_notice_status'), ['status'], unique=False)
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('people_met', sa.Text(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rectification_notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_inspection_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['evaluator_id'], ['user_account.id'], name=op.f('fk_inspection_evaluator_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rectification_notice_id'], ['rectification_notice.id'], name=op.f('fk_inspection_rectification_notice_id_rectification_notice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_inspection_region_id_region'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection'))
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_contract_id'), ['contract_id'], unique=False)
    op.create_table('rectification_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', 'sent_back', 'accepted', name='itemstatus', native_enum=False, length=12), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('overdue_notified_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(status = 'accepted') = (accepted_on IS NOT NULL)", name=op.f('ck_rectification_item_accepted_has_day')),
    sa.CheckConstraint('length(what) > 0', name=op.f('ck_rectification_item_what_given')),
    sa.ForeignKeyConstraint(['notice_id'], ['rectification_notice.id'], name=op.f('fk_rectification_item_notice_id_rectification_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_item'))
    )
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_item_notice_id'), ['notice_id'], unique=False)
    op.create_table('inspection_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('deducts', sa.Boolean(), nullable=False),
    sa.Column('rectify', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_finding_inspection_id_inspection'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_finding'))
    )
    with op.batch_alter_table('inspection_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_finding_inspection_id'), ['inspection_id'], unique=False)
    op.create_table('inspection_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_photo_inspection_id_inspection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_inspection_photo_photo_id_photo'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_photo'))
    )
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_photo_inspection_id'), ['inspection_id'], unique=False)
    op.create_table('rectification_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=12), nullable=True),
    sa.Column('verdict_note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("verdict IS NULL OR verdict = 'accepted' OR length(verdict_note) > 0", name=op.f('ck_rectification_answer_sent_back_has_reason')),
    sa.CheckConstraint("verdict IS NULL OR verdict IN ('accepted', 'sent_back')", name=op.f('ck_rectification_answer_verdict_known')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_rectification_answer_answered_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_rectification_answer_decided_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], name=op.f('fk_rectification_answer_item_id_rectification_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_answer'))
    )
    with op.batch_alter_table('rectification_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_answer_item_id'), ['item_id'], unique=False)
    create_freeze_triggers()


#: A signed assessment and a published standard never change: the database itself refuses,
#: whoever asks (the services and a before_flush check refuse first, with a readable error).
_FROZEN_ROWS = [
    # (table, trigger name part, the frozen condition on OLD)
    ("assessment", "assessment", "OLD.status = 'signed'"),
    ("assessment_standard", "standard", "OLD.status = 'published'"),
]
_FROZEN_CHILDREN = [
    # (table, parent table, parent key column, frozen parent status)
    ("assessment_score", "assessment", "assessment_id", "signed"),
    ("assessment_comment", "assessment", "assessment_id", "signed"),
    ("assessment_section", "assessment_standard", "standard_id", "published"),
    ("assessment_indicator", "assessment_standard", "standard_id", "published"),
]


def create_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for table, name, condition in _FROZEN_ROWS:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_frozen_{action.lower()} BEFORE {action} ON {table} "
                           f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{name} is frozen: {action} refused'); END")
        for table, parent, key, status in _FROZEN_CHILDREN:
            for action, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
                op.execute(f"CREATE TRIGGER {table}_frozen_{action.lower()} BEFORE {action} ON {table} "
                           f"WHEN (SELECT status FROM {parent} WHERE id = {row}.{key}) = '{status}' "
                           f"BEGIN SELECT RAISE(ABORT, '{parent} is frozen: {action} on {table} refused'); END")
        return
    for table, name, condition in _FROZEN_ROWS:
        op.execute(f"CREATE FUNCTION {table}_refuse_frozen() RETURNS trigger AS $$ "
                   f"BEGIN IF {condition} THEN RAISE EXCEPTION '{name} is frozen: % refused', TG_OP; END IF; "
                   f"IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_frozen()")
    for table, parent, key, status in _FROZEN_CHILDREN:
        op.execute(f"CREATE FUNCTION {table}_refuse_frozen() RETURNS trigger AS $$ "
                   f"DECLARE parent_id integer; BEGIN "
                   f"IF TG_OP = 'INSERT' THEN parent_id := NEW.{key}; ELSE parent_id := OLD.{key}; END IF; "
                   f"IF (SELECT status FROM {parent} WHERE id = parent_id) = '{status}' THEN "
                   f"RAISE EXCEPTION '{parent} is frozen: % on {table} refused', TG_OP; END IF; "
                   f"IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_frozen()")


def drop_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for table, _name, _condition in _FROZEN_ROWS:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_{action}")
        for table, *_rest in _FROZEN_CHILDREN:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_{action}")
        return
    for table, *_rest in _FROZEN_ROWS + _FROZEN_CHILDREN:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_frozen()")


def downgrade():
    drop_freeze_triggers()
    with op.batch_alter_table('rectification_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_answer_item_id'))
    op.drop_table('rectification_answer')
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_photo_inspection_id'))
    op.drop_table('inspection_photo')
    with op.batch_alter_table('inspection_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_finding_inspection_id'))
    op.drop_table('inspection_finding')
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_item_notice_id'))
    op.drop_table('rectification_item')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_contract_id'))
    op.drop_table('inspection')
    with op.batch_alter_table('rectification_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_notice_status'))
        batch_op.drop_index(batch_op.f('ix_rectification_notice_contract_id'))
    op.drop_table('rectification_notice')
    with op.batch_alter_table('assessment_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_score_assessment_id'))
    op.drop_table('assessment_score')
    with op.batch_alter_table('assessment_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_comment_assessment_id'))
    op.drop_table('assessment_comment')
    with op.batch_alter_table('assessment_indicator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_indicator_standard_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_indicator_section_id'))
    op.drop_table('assessment_indicator')
    op.drop_table('assessment_binding')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_status'))
        batch_op.drop_index(batch_op.f('ix_assessment_contract_id'))
    op.drop_table('assessment')
    with op.batch_alter_table('assessment_section', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_section_standard_id'))
    op.drop_table('assessment_section')
    op.drop_table('assessment_standard')
