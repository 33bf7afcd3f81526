"""payments and fund use

Revision ID: a7e1c0de1101
Revises: a7e1c0de1001
Create Date: 2026-11-27 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de1101'
down_revision = 'a7e1c0de1001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fund_use_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'reviewed', name='reportstatus', native_enum=False, length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.CheckConstraint('period_to >= period_from', name=op.f('ck_fund_use_report_period_in_order')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_fund_use_report_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_fund_use_report_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_fund_use_report_reviewed_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_use_report'))
    )
    with op.batch_alter_table('fund_use_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_use_report_contract_id'), ['contract_id'], unique=False)

    op.create_table('payment_anomaly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('baseline', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('found_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_anomaly_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_anomaly')),
    sa.UniqueConstraint('contract_id', 'month', 'kind', name='uq_payment_anomaly_month_kind')
    )
    with op.batch_alter_table('payment_anomaly', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_anomaly_contract_id'), ['contract_id'], unique=False)

    op.create_table('payment_instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('share', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('milestone', sa.String(length=200), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('due_on IS NOT NULL OR length(milestone) > 0', name=op.f('ck_payment_instalment_due_date_or_milestone')),
    sa.CheckConstraint('period_to >= period_from', name=op.f('ck_payment_instalment_period_in_order')),
    sa.CheckConstraint('share > 0 AND share <= 1', name=op.f('ck_payment_instalment_share_fraction')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_instalment_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_payment_instalment_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_instalment')),
    sa.UniqueConstraint('contract_id', 'number', name='uq_payment_instalment_number')
    )
    with op.batch_alter_table('payment_instalment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_instalment_contract_id'), ['contract_id'], unique=False)

    op.create_table('payment_settings',
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('fee_cap', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('quantity_weight', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('budget', sa.JSON(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('fee_cap >= 0 AND fee_cap <= 1', name=op.f('ck_payment_settings_fee_cap_share')),
    sa.CheckConstraint('quantity_weight >= 0 AND quantity_weight <= 1', name=op.f('ck_payment_settings_quantity_weight_share')),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user_account.id'], name=op.f('fk_payment_settings_changed_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_settings_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_payment_settings'))
    )
    op.create_table('fund_use_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('staff', 'travel', 'materials', 'training', 'management_fee', 'other', name='category', native_enum=False, length=20), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_fund_use_line_amount_not_negative')),
    sa.ForeignKeyConstraint(['report_id'], ['fund_use_report.id'], name=op.f('fk_fund_use_line_report_id_fund_use_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_use_line'))
    )
    with op.batch_alter_table('fund_use_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_use_line_report_id'), ['report_id'], unique=False)

    op.create_table('payment_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('instalment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('payment', 'reversal', name='entrykind', native_enum=False, length=10), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('proposed', 'approved', 'refused', name='entrystatus', native_enum=False, length=10), nullable=False),
    sa.Column('planned', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('computed', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('deductions', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('computation', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.CheckConstraint("kind = 'payment' OR reverses_id IS NOT NULL", name=op.f('ck_payment_entry_reversal_names_entry')),
    sa.CheckConstraint("status = 'proposed' OR (approved_by_id IS NOT NULL AND decided_at IS NOT NULL)", name=op.f('ck_payment_entry_decided_complete')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payment_entry_amount_not_negative')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> proposed_by_id', name=op.f('ck_payment_entry_two_people')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_payment_entry_approved_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_entry_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['instalment_id'], ['payment_instalment.id'], name=op.f('fk_payment_entry_instalment_id_payment_instalment'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_payment_entry_proposed_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reverses_id'], ['payment_entry.id'], name=op.f('fk_payment_entry_reverses_id_payment_entry'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_entry')),
    sa.UniqueConstraint('reverses_id', name='uq_payment_entry_reverses_id')
    )
    with op.batch_alter_table('payment_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_entry_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_entry_instalment_id'), ['instalment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_entry_status'), ['status'], unique=False)

    op.create_table('fund_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['fund_use_line.id'], name=op.f('fk_fund_receipt_line_id_fund_use_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_fund_receipt_uploaded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_receipt'))
    )
    with op.batch_alter_table('fund_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_receipt_line_id'), ['line_id'], unique=False)

    op.create_table('payment_disbursement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('disbursed_on', sa.Date(), nullable=False),
    sa.Column('voucher_no', sa.String(length=60), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['payment_entry.id'], name=op.f('fk_payment_disbursement_entry_id_payment_entry'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_payment_disbursement_recorded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_disbursement')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_payment_disbursement_entry_id'))
    )

    create_freeze_triggers()


#: What is decided never changes: the database itself refuses, whoever asks (the service and a
#: before_flush check refuse first, with a readable error). A decided payment entry (approved or
#: not approved) refuses UPDATE and DELETE; a recorded disbursement refuses both always.
_FROZEN = [
    # (table, the frozen condition on OLD, name in the message)
    ("payment_entry", "OLD.status <> 'proposed'", "payment entry"),
    ("payment_disbursement", "1 = 1", "disbursement"),
]


def create_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for table, condition, name in _FROZEN:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_frozen_{action.lower()} BEFORE {action} ON {table} "
                           f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{name} is decided: {action} refused'); END")
        return
    for table, condition, name in _FROZEN:
        op.execute(f"CREATE FUNCTION {table}_refuse_frozen() RETURNS trigger AS $$ "
                   f"BEGIN IF {condition} THEN RAISE EXCEPTION '{name} is decided: % refused', TG_OP; END IF; "
                   f"IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_frozen()")


def drop_freeze_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for table, _condition, _name in _FROZEN:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_{action}")
        return
    for table, _condition, _name in _FROZEN:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_frozen()")


def downgrade():
    drop_freeze_triggers()
    op.drop_table('payment_disbursement')
    with op.batch_alter_table('fund_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_receipt_line_id'))

    op.drop_table('fund_receipt')
    with op.batch_alter_table('payment_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_entry_status'))
        batch_op.drop_index(batch_op.f('ix_payment_entry_instalment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_entry_contract_id'))

    op.drop_table('payment_entry')
    with op.batch_alter_table('fund_use_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_use_line_report_id'))

    op.drop_table('fund_use_line')
    op.drop_table('payment_settings')
    with op.batch_alter_table('payment_instalment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_instalment_contract_id'))

    op.drop_table('payment_instalment')
    with op.batch_alter_table('payment_anomaly', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_anomaly_contract_id'))

    op.drop_table('payment_anomaly')
    with op.batch_alter_table('fund_use_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_use_report_contract_id'))

    op.drop_table('fund_use_report')
