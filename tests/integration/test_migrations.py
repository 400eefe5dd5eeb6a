"""Alembic builds the schema from nothing, and it matches the models exactly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from billing.base import Base
from gateway import schema
from gateway.db import make_engine
from tests.conftest import fresh_database


def test_migrations_build_the_models_schema_from_nothing(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        with engine.connect() as connection:
            assert not schema.is_current(connection)

        schema.upgrade(engine)

        with engine.connect() as connection:
            assert schema.is_current(connection)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        schema.upgrade(engine)
        schema.upgrade(engine)  # a second run is a no-op
        schema.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        schema.upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()
