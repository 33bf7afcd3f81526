"""dashboard indexes (issue 16)

Revision ID: a7e1c0de1701
Revises: a7e1c0de1601
Create Date: 2026-11-28 03:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reliefsvc.db  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'a7e1c0de1701'
down_revision = 'a7e1c0de1601'
branch_labels = None
depends_on = None


# Issue 16 (bench/pages.py): the officer dashboard counts the open integrity flags by
# contract and by code (a scan of every flag before), and the home page counts the
# discovered households waiting for confirmation (a scan of the household registry); the
# provider dashboard counts its records sent back and awaiting review (a heap scan of every
# record of its contracts).
OPEN_FLAGS = sa.text("dismissed_at IS NULL")


def upgrade():
    op.create_index("ix_integrity_flag_open_contract_code", "integrity_flag", ["contract_id", "code"],
                    postgresql_where=OPEN_FLAGS, sqlite_where=OPEN_FLAGS)
    op.create_index("ix_assistance_case_discovery_status", "assistance_case", ["discovery_status"])
    op.create_index("ix_service_record_contract_status", "service_record", ["contract_id", "status"])


def downgrade():
    op.drop_index("ix_service_record_contract_status", table_name="service_record")
    op.drop_index("ix_assistance_case_discovery_status", table_name="assistance_case")
    op.drop_index("ix_integrity_flag_open_contract_code", table_name="integrity_flag")
