"""api tokens

Revision ID: a7e1c0de1401
Revises: a7e1c0de1201
Create Date: 2026-11-27 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import reliefsvc.db


# revision identifiers, used by Alembic.
revision = 'a7e1c0de1401'
down_revision = 'a7e1c0de1201'
branch_labels = None
depends_on = None

ROLES = ('admin', 'officer', 'evaluator', 'provider_manager', 'provider_worker', 'inspector')


def upgrade():
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('role', sa.Enum(*ROLES, name='role', native_enum=False, length=20), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_api_token_expires_after_creation')),
        sa.CheckConstraint('revoked_at IS NULL OR revoked_by_id IS NOT NULL',
                           name=op.f('ck_api_token_revocation_has_actor')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_api_token_organisation_id_organisation'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'],
                                name=op.f('fk_api_token_revoked_by_id_user_account'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_api_token_user_id_user_account'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table(
        'api_idempotency_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('operation', sa.String(length=120), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('location', sa.String(length=300), nullable=True),
        sa.Column('created_at', reliefsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_api_idempotency_key_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_key')),
        sa.UniqueConstraint('user_id', 'key', name=op.f('uq_api_idempotency_key_user_key')),
    )


def downgrade():
    op.drop_table('api_idempotency_key')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
    op.drop_table('api_token')
