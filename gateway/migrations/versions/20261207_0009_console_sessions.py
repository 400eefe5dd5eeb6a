"""staff: the code mailed to a member before the enrolment page shows their TOTP seed

Whoever holds an enrolment link could otherwise read the seed and enrol first; the page now
waits for a code sent to the member's own address. Only its keyed hash is kept, with when it
went (it expires, and a new one waits a minute) and the wrong codes typed against the link.

Console sessions need no column: sign-out bumps ``staff.session_version``, and the absolute
lifetime is read from the signed cookie.
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrol_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("enrol_code_sent_at", billing.base.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("enrol_code_failures", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("enrol_code_failures")
        batch_op.drop_column("enrol_code_sent_at")
        batch_op.drop_column("enrol_code_hash")
