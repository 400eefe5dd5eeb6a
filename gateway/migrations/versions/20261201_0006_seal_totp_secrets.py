"""staff.totp_secret holds an encrypted seed (gateway/sealed.py): room for a Fernet token

Seeds stored before this revision stay readable as plain text and are sealed the next time
they are written (a reset or an enrolment); `gateway staff reset` seals one at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=True,
        )


def downgrade() -> None:
    # A sealed seed does not fit back in 64 characters: those members enrol again.
    op.execute(sa.text("UPDATE staff SET totp_secret = NULL WHERE length(totp_secret) > 64"))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
