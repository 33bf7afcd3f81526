"""integrity flags

Revision ID: a7e1c0de0701
Revises: 9b4d97216d0e
Create Date: 2026-11-27 20:40:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de0701'
down_revision = '9b4d97216d0e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integrity_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('started_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.Column('records_checked', sa.Integer(), nullable=False),
    sa.Column('records_read', sa.Integer(), nullable=False),
    sa.Column('flags_found', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_integrity_run_contract_id_contract'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_run'))
    )
    op.create_table('integrity_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('related_record_id', sa.Integer(), nullable=True),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('related_photo_id', sa.Integer(), nullable=True),
    sa.Column('found_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dismissed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.Column('dismiss_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("dismissed_at IS NULL OR (dismissed_by_id IS NOT NULL AND dismiss_reason <> '')", name=op.f('ck_integrity_flag_dismissal_has_reason')),
    sa.CheckConstraint("severity IN ('high', 'medium', 'low')", name=op.f('ck_integrity_flag_severity_known')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_integrity_flag_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['user_account.id'], name=op.f('fk_integrity_flag_dismissed_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_integrity_flag_photo_id_photo'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['service_record.id'], name=op.f('fk_integrity_flag_record_id_service_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['related_photo_id'], ['photo.id'], name=op.f('fk_integrity_flag_related_photo_id_photo'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['related_record_id'], ['service_record.id'], name=op.f('fk_integrity_flag_related_record_id_service_record'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['worker_id'], ['staff.id'], name=op.f('fk_integrity_flag_worker_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_flag')),
    sa.UniqueConstraint('record_id', 'code', name='uq_integrity_flag_record_code')
    )
    with op.batch_alter_table('integrity_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrity_flag_code'), ['code'], unique=False)
        batch_op.create_index('ix_integrity_flag_contract_month', ['contract_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_flag_worker_id'), ['worker_id'], unique=False)
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trim_hashes', sa.LargeBinary(length=256), nullable=True))
        batch_op.add_column(sa.Column('colours', sa.LargeBinary(length=192), nullable=True))
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_service_record_risk_score'), ['risk_score'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_record_risk_score'))
        batch_op.drop_column('checked_version')
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('colours')
        batch_op.drop_column('trim_hashes')
    with op.batch_alter_table('integrity_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_flag_worker_id'))
        batch_op.drop_index('ix_integrity_flag_contract_month')
        batch_op.drop_index(batch_op.f('ix_integrity_flag_code'))
    op.drop_table('integrity_flag')
    op.drop_table('integrity_run')
