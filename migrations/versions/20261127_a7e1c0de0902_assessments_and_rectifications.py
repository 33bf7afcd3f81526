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
    pass


def downgrade():
    pass
