"""passkeys and their challenges; when the email on file was added

A passkey (WebAuthn credential) signs an account in and recovers it for free. Its challenges
are stored so that any web node can finish a ceremony another one started, and each is used
once. accounts.email_added_at lets the page after a recovery show when the address came.
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0007"
down_revision = "0006"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_added_at", billing.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("webauthn_user_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_accounts_webauthn_user_id", ["webauthn_user_id"])
    op.create_table(
        "passkeys",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", billing.base.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_passkeys_account_id", "passkeys", ["account_id"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("created_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", billing.base.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_webauthn_challenges_expires_at", "webauthn_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webauthn_challenges_expires_at", table_name="webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_passkeys_account_id", table_name="passkeys")
    op.drop_table("passkeys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_accounts_webauthn_user_id", type_="unique")
        batch_op.drop_column("webauthn_user_id")
        batch_op.drop_column("email_added_at")
