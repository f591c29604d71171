"""The Alembic migrations build exactly the schema the models describe, on both engines."""

import json
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, String, inspect, text

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.db import metadata
from app.core.migrations import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    include_object,
    upgrade,
)
from tests.conftest import Database

TABLES = [
    "alembic_version",
    "author",
    "consent",
    "consent_state",
    "dataset_state",
    "idempotency_key",
    "publication",
    "publication_author",
    "venue",
]


def schema_diff(engine: Engine, target: MetaData = metadata) -> list[Any]:
    """What autogenerate would write to bring the database to `target`: [] when in step."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        return list(compare_metadata(context, target))


# The search index: an FTS5 virtual table with its shadow tables, or a tsvector table.
SEARCH_TABLES = {
    "sqlite": [
        "publication_search",
        "publication_search_config",
        "publication_search_content",
        "publication_search_data",
        "publication_search_docsize",
        "publication_search_idx",
    ],
    "postgresql": ["publication_search"],
}


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def all_tables(engine: Engine) -> list[str]:
    return sorted(TABLES + SEARCH_TABLES[engine.dialect.name])


def copy_of_metadata() -> MetaData:
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert table_names(engine) == all_tables(engine)
    assert schema_diff(engine) == []


def test_collations_match_the_models(empty_db: Database, engine: Engine) -> None:
    """compare_metadata does not compare collations: the sort keys' "C" collation on
    PostgreSQL (byte-wise order, as on SQLite; see app/models/types.py) is checked here."""
    expected = {
        (table.name, column.name, collation)
        for table in metadata.sorted_tables
        for column in table.columns
        if (collation := getattr(column.type.dialect_impl(engine.dialect), "collation", None))
    }
    inspector = inspect(engine)
    reflected = {
        (table, column["name"], collation)
        for table in inspector.get_table_names()
        for column in inspector.get_columns(table)
        if (collation := getattr(column["type"], "collation", None))
    }
    assert reflected == expected
    if empty_db.kind == "postgresql":
        assert expected == {
            ("author", "sort_name", "C"),
            ("venue", "sort_name", "C"),
            ("publication", "sort_title", "C"),
        }
    else:
        assert expected == set()


def test_database_is_at_the_single_head(empty_db: Database, engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_db.url))
    assert script.get_heads() == [head_revision()]
    # Every file in migrations/versions is on the one chain from base to head.
    chain = sorted(revision.path for revision in script.walk_revisions())
    assert chain == sorted(str(path) for path in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_then_upgrade_to_head(empty_db: Database, engine: Engine) -> None:
    command.downgrade(alembic_config(empty_db.url), "base")
    engine.dispose()
    assert table_names(engine) == ["alembic_version"]
    assert current_revision(engine) is None
    if empty_db.kind == "postgresql":
        # The id sequences went with their tables.
        assert inspect(engine).get_sequence_names() == []

    upgrade(empty_db.url)
    engine.dispose()
    assert table_names(engine) == all_tables(engine)
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []


def test_the_comparison_reports_an_extra_column(engine: Engine) -> None:
    target = copy_of_metadata()
    target.tables["publication"].append_column(Column("doi", String(), nullable=True))
    diff = schema_diff(engine, target)
    assert len(diff) == 1
    operation, schema, table, column = diff[0]
    assert (operation, schema, table, column.name) == ("add_column", None, "publication", "doi")
    # The copy was changed, not the application's metadata.
    assert "doi" not in metadata.tables["publication"].c


def test_the_comparison_reports_a_changed_type(engine: Engine) -> None:
    target = copy_of_metadata()
    target.tables["publication"].c.year.type = String()
    diff = schema_diff(engine, target)
    assert len(diff) == 1
    assert len(diff[0]) == 1
    operation, schema, table, column, _info, existing, new = diff[0][0]
    assert (operation, schema, table, column) == ("modify_type", None, "publication", "year")
    assert (isinstance(existing, Integer), isinstance(new, String)) == (True, True)
    assert isinstance(metadata.tables["publication"].c.year.type, Integer)


def test_the_byline_migration_fills_in_publications_loaded_before_it(
    empty_db: Database, engine: Engine
) -> None:
    """0007 copies each byline onto its publication's row, in position order, as the API shows
    it; a publication without authors gets an empty one."""
    command.downgrade(alembic_config(empty_db.url), "0006")
    engine.dispose()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO publication (id, key, content_hash) "
                "VALUES (1, 'k1', 'h1'), (2, 'k2', 'h2')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO author (id, name, sort_name, publication_count) "
                "VALUES (1, 'Zoë Ölm', 'zoe olm', 1), (2, 'Bo \"B\" Li', 'bo \"b\" li', 1)"
            )
        )
        # Inserted out of position order.
        conn.execute(
            text(
                "INSERT INTO publication_author (publication_id, position, author_id) "
                "VALUES (2, 2, 1), (2, 1, 2)"
            )
        )
    upgrade(empty_db.url)
    engine.dispose()
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id, byline FROM publication ORDER BY id")).all()
    assert [(ident, json.loads(byline)) for ident, byline in found] == [
        (1, []),
        (
            2,
            [
                {"id": 2, "name": 'Bo "B" Li', "position": 1},
                {"id": 1, "name": "Zoë Ölm", "position": 2},
            ],
        ),
    ]
