"""staff accounts for the console, and an index for its overview of recent messages"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("enrol_token_hash", sa.String(length=64), nullable=True),
        sa.Column("enrol_expires_at", billing.base.UTCDateTime(), nullable=True),
        sa.Column("enrolled_at", billing.base.UTCDateTime(), nullable=True),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        sa.Column("blocked_until", billing.base.UTCDateTime(), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("disabled_at", billing.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", billing.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_email")),
        sa.UniqueConstraint("enrol_token_hash", name=op.f("uq_staff_enrol_token_hash")),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_messages_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_messages_created_at")
    op.drop_table("staff")
