"""sealed second-factor secrets (issue 15)

Revision ID: a7e1c0de1703
Revises: a7e1c0de1701
Create Date: 2026-11-28 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e1c0de1703'
down_revision = 'a7e1c0de1701'
branch_labels = None
depends_on = None


# A TOTP secret is now stored sealed with AES-256-GCM under instance/totp_key
# ("aesgcm:" + base64 of nonce, ciphertext and tag: 87 characters). Secrets stored in clear
# before are sealed by `reliefsvc init` (identity.seal_clear_secrets) and at their next use.
def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(64), type_=sa.String(128),
                           existing_nullable=True)


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(128), type_=sa.String(64),
                           existing_nullable=True)
