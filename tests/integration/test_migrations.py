"""Alembic builds the schema from nothing, and it matches the models exactly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def test_the_version_is_read_as_alembic_reads_it(tmp_path: Path) -> None:
    # gateway.schema reads heads from the scripts' text and the version from alembic_version,
    # so that a command need not load Alembic: both must agree with Alembic at every step.
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert schema.head_revisions() == frozenset(scripts.get_heads())

    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        for step in [None, *reversed([s.revision for s in scripts.walk_revisions()])]:
            if step is not None:
                schema.upgrade(engine, step)
            with engine.connect() as connection:
                ours = schema.current_revisions(connection)
                theirs = frozenset(MigrationContext.configure(connection).get_current_heads())
            assert ours == theirs
            assert (step is not None) == bool(ours)
        engine.dispose()
