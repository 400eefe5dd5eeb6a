"""keyword services: the forwards to the agency's systems, the service on each charge, and who
set a switch and why

8079 answers BH QT, BH HS and BH THE besides BH MK (docs/services.md): the worker forwards each
such message to the system that owns the answer (service_forwards), each charge names its
service and is priced by its tariff (ledger_entries.service; existing rows are BH MK's), and a
service that keeps failing turns its switch off, saying so (switches.actor, switches.reason).
"""

import sqlalchemy as sa
from alembic import op

import billing.base

revision = "0011"
down_revision = "0010"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "service_forwards",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("argument", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "done", name="forwardstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "reset_sent",
                "wrong_syntax",
                "not_matched",
                "rate_limited",
                "service_disabled",
                "system_error",
                "sim_swapped",
                "forwarded",
                "answered",
                "not_found",
                "refused",
                "interrupted",
                name="outcome",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("give_up_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", billing.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", billing.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_service_forwards_message_id_inbound_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_forwards")),
        sa.UniqueConstraint("message_id", name=op.f("uq_service_forwards_message_id")),
    )
    with op.batch_alter_table("service_forwards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_forwards_status_next", ["status", "next_try_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_forwards_service"), ["service"], unique=False)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("service", sa.String(length=32), server_default="recovery", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_ledger_entries_service"), ["service"], unique=False)
    with op.batch_alter_table("switches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("switches", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("actor")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_service"))
        batch_op.drop_column("service")
    with op.batch_alter_table("service_forwards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_forwards_service"))
        batch_op.drop_index("ix_service_forwards_status_next")
    op.drop_table("service_forwards")
