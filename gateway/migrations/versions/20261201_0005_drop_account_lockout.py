"""drop accounts.failed_logins and accounts.locked_until

Login failures are counted per identifier in login_failures (revision 0002), so that an
attacker who knows a social insurance number cannot lock its owner out; these two columns of
the first schema have been written and read by nothing since.
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", billing.base.UTCDateTime(), nullable=True))
