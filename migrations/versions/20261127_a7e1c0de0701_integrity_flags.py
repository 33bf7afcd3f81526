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
    pass


def downgrade():
    pass
