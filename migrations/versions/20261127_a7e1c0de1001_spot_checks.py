"""spot checks

Revision ID: a7e1c0de1001
Revises: a7e1c0de0902
Create Date: 2026-11-27 20:40:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de1001'
down_revision = 'a7e1c0de0902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spotcheck_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('day_from', sa.Date(), nullable=False),
    sa.Column('day_to', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'frozen', 'drawn', name='drawstatus', native_enum=False, length=12), nullable=False),
    sa.Column('size_rule', sa.Enum('share', 'attribute', 'fixed', name='sizerule', native_enum=False, length=12), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('share', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('confidence', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('tolerable_rate', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('expected_errors', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('initial_size', sa.Integer(), nullable=False),
    sa.Column('risk_size', sa.Integer(), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=False),
    sa.Column('frame_hash', sa.String(length=64), nullable=True),
    sa.Column('frame_text', sa.Text(), nullable=True),
    sa.Column('risk_scores', sa.JSON(), nullable=True),
    sa.Column('frozen_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.Column('seed', sa.String(length=200), nullable=True),
    sa.Column('seed_rolled_by', sa.String(length=200), nullable=True),
    sa.Column('seed_witnesses', sa.String(length=300), nullable=True),
    sa.Column('seed_rolled_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drawn_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('proposed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'drawn' OR seed IS NOT NULL", name=op.f('ck_spotcheck_draw_drawn_has_seed')),
    sa.CheckConstraint("status = 'proposed' OR frame_hash IS NOT NULL", name=op.f('ck_spotcheck_draw_frozen_has_frame')),
    sa.CheckConstraint('day_to >= day_from', name=op.f('ck_spotcheck_draw_period_in_order')),
    sa.CheckConstraint('size >= 0 AND risk_size >= 0', name=op.f('ck_spotcheck_draw_sizes_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_spotcheck_draw_contract_id_contract'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['user_account.id'], name=op.f('fk_spotcheck_draw_drawn_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['user_account.id'], name=op.f('fk_spotcheck_draw_frozen_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_spotcheck_draw_published_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_draw'))
    )
    with op.batch_alter_table('spotcheck_draw', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_draw_contract_id'), ['contract_id'], unique=False)

    op.create_table('spotcheck_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_ref', sa.String(length=60), nullable=False),
    sa.Column('ticket', sa.String(length=64), nullable=False),
    sa.Column('stratum', sa.Enum('random', 'risk', name='stratum', native_enum=False, length=10), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('confirmed', 'partly', 'not_delivered', name='checkoutcome', native_enum=False, length=16), nullable=True),
    sa.Column('method', sa.Enum('phone', 'revisit', name='checkmethod', native_enum=False, length=10), nullable=True),
    sa.Column('service_happened', sa.Boolean(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('what_done', sa.Text(), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('checked_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('outcome IS NULL OR checked_at IS NOT NULL', name=op.f('ck_spotcheck_item_outcome_has_time')),
    sa.CheckConstraint('satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)', name=op.f('ck_spotcheck_item_satisfaction_range')),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user_account.id'], name=op.f('fk_spotcheck_item_checked_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['draw_id'], ['spotcheck_draw.id'], name=op.f('fk_spotcheck_item_draw_id_spotcheck_draw'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['evaluator_id'], ['user_account.id'], name=op.f('fk_spotcheck_item_evaluator_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_spotcheck_item_photo_id_photo'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['record_id'], ['service_record.id'], name=op.f('fk_spotcheck_item_record_id_service_record'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spotcheck_item')),
    sa.UniqueConstraint('draw_id', 'record_id', name='uq_spotcheck_item_draw_record')
    )
    with op.batch_alter_table('spotcheck_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spotcheck_item_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_item_evaluator_id'), ['evaluator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spotcheck_item_record_id'), ['record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('spotcheck_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_item_record_id'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_item_evaluator_id'))
        batch_op.drop_index(batch_op.f('ix_spotcheck_item_draw_id'))

    op.drop_table('spotcheck_item')
    with op.batch_alter_table('spotcheck_draw', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spotcheck_draw_contract_id'))

    op.drop_table('spotcheck_draw')
