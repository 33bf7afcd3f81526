"""speed indexes (issue 16)

Revision ID: a7e1c0de1601
Revises: a7e1c0de1501
Create Date: 2026-11-28 00:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import reliefsvc.db  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a7e1c0de1601'
down_revision = 'a7e1c0de1501'
branch_labels = None
depends_on = None


# Issue 16 (bench/pages.py, bench/load.py): the record list filtered by status (and type)
# newest first, its page count, and the phone form's "households served last" read these
# instead of scanning every service record.
INDEXES = [
    ("ix_service_record_status_started", ["status", "started_at"]),
    ("ix_service_record_status_type_started", ["status", "service_type_code", "started_at"]),
    ("ix_service_record_submitted_by", ["submitted_by_id", "submitted_at"]),
]


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "service_record", columns)


def downgrade():
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="service_record")
