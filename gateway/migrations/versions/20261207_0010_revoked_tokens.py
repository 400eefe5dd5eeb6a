"""revoked_tokens: login tokens ended by signing out, kept until they would have expired

Signing out of the portal (or POST /api/v1/auth/logout) used to forget the cookie in the
browser only; a copy of it still opened the account until the token expired.
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(length=32), primary_key=True),
        sa.Column("expires_at", billing.base.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
