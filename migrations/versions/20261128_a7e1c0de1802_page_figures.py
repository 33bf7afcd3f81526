"""kept page figures (issue 16)

Revision ID: a7e1c0de1802
Revises: a7e1c0de1801
Create Date: 2026-11-28 06:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reliefsvc.db  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'a7e1c0de1802'
down_revision = 'a7e1c0de1801'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
