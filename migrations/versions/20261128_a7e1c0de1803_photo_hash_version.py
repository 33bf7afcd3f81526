"""photo hash version (issue 16: photo intake)

Revision ID: a7e1c0de1803
Revises: a7e1c0de1701
Create Date: 2026-11-28 07:00:00

"""
import sqlalchemy as sa
from alembic import op

import reliefsvc.db  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'a7e1c0de1803'
down_revision = 'a7e1c0de1701'
branch_labels = None
depends_on = None


# Photo intake now takes the perceptual hashes from the one reduced decode that also makes
# the display copy (version 2), a few bits away from those of the hashes' own 1/8-scale
# decode (version 1). Photos stored before are marked 1 and recomputed by
# `reliefsvc services rehash-photos` or the nightly evidence.rehash job. A plain ADD COLUMN
# (no table rebuild), which SQLite does in place on a database with data.
def upgrade():
    op.add_column('photo', sa.Column('hash_version', sa.SmallInteger(), nullable=False, server_default='2'))
    op.execute(sa.text("UPDATE photo SET hash_version = 1"))


def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('hash_version')
