"""Failed logins counted per identifier as typed; the caller's address in the audit trail."""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("identifier", sa.String(length=16), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", billing.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ip", sa.String(length=45), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("client_ip")
    op.drop_table("login_failures")
