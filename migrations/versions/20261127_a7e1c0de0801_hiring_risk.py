"""hiring risk

Revision ID: a7e1c0de0801
Revises: a7e1c0de0701
Create Date: 2026-11-27 20:40:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de0801'
down_revision = 'a7e1c0de0701'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hiring_risk_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('low', 'medium', 'high', name='risklevel', native_enum=False, length=10), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('score BETWEEN 0 AND 100', name=op.f('ck_hiring_risk_result_score_range')),
    sa.ForeignKeyConstraint(['computed_by_id'], ['user_account.id'], name=op.f('fk_hiring_risk_result_computed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_hiring_risk_result_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_risk_result'))
    )
    with op.batch_alter_table('hiring_risk_result', schema=None) as batch_op:
        batch_op.create_index('ix_hiring_risk_result_contract_computed', ['contract_id', 'computed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_risk_result_level'), ['level'], unique=False)


def downgrade():
    with op.batch_alter_table('hiring_risk_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_risk_result_level'))
        batch_op.drop_index('ix_hiring_risk_result_contract_computed')

    op.drop_table('hiring_risk_result')
