"""smart_otp: the seed of each citizen's code app, sealed, and the last step it accepted

Smart OTP (State Bank Circular 50/2024's "Soft OTP") is a free way back into an account and
the step-up for sensitive changes. One row per account that has, or is setting up, one.
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0008"
down_revision = "0007"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "smart_otp",
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("secret", sa.String(length=255), nullable=True),
        sa.Column("enabled_at", billing.base.UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("pending_secret", sa.String(length=255), nullable=True),
        sa.Column("pending_since", billing.base.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("smart_otp")
