"""Alembic environment: runs migrations on the connection `gateway.schema` hands it.

Run from the command line (``alembic ...``), it connects to DATABASE_URL, or to the default
SQLite file, without needing the gateway's secrets.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from billing.base import Base
from gateway import db  # importing it registers every table on Base.metadata
from gateway.settings import DEFAULT_INSTANCE_DIR

config = context.config


def run(connection: Connection) -> None:
    """Run the migrations in one transaction on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_INSTANCE_DIR / 'gateway.db'}"
    engine = db.make_engine(url)
    with engine.connect() as fresh:
        run(fresh)
    engine.dispose()
