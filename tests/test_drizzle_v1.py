"""drizzle-kit 1.0 pull against the stack: unlike the stable 0.31 (tests/test_drizzle.py), it
sees the partitioned log tables.

tests/fixtures/drizzle-v1 pins drizzle-kit and drizzle-orm 1.0.0-rc.5 (and the 0.31 fixture's pg,
typescript and @types); it is installed and pulled as ci_migrator the same way (support/drizzle).
Its config must say `schemaFilter: ["public"]` (1.0 pulls every schema by default) and keeps the
0.31 tablesFilter. 1.0 writes drizzle/schema.ts, relations.ts and
drizzle/<timestamp>_<name>/{migration.sql,snapshot.json}, whose `ddl` is a flat list of entities
(entityType tables, pks, indexes, policies, ...): the tests read that, and compare it with the
catalog. The pulled schema must hold the 11 spec tables and no partition, each partitioned
table with RLS, its (id, created_at) primary key and the parent's indexes, and type-check with
db.ts, a tenant-scoped client of the partitioned tables.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from support.docker import Container
from support.drizzle import (
    FOREIGN_KEYS_SQL,
    UNIQUES_SQL,
    catalog_rows,
    install,
    pull,
    typecheck,
)
from support.tenantdata import TABLES

from cidb.partitions import LOG_TABLES
from cidb.settings import Settings

Entity = dict[str, Any]

# The partitions of public's partitioned tables (pg_partman's <table>_pYYYYMMDD and _default).
PARTITIONS_SQL = """
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relnamespace = 'public'::regnamespace AND p.relkind = 'p'"""
# Schemas other than public that hold tables: what drizzle-kit 1.0 pulls without a schemaFilter.
OTHER_SCHEMAS_SQL = """
    SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('public', 'pg_catalog', 'pg_toast',
                                                         'information_schema')"""
ENUMS_SQL = (
    "SELECT typname FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace"
)
PRIMARY_KEY_SQL = """
    SELECT c.conname, string_agg(a.attname, ',' ORDER BY k.n) FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(att, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att
    WHERE c.conrelid = 'public.{table}'::regclass AND c.contype = 'p' GROUP BY c.conname"""
# Each index of public's tables as "column opclass" in key order, "default" for the operator
# class that is its type's default (drizzle-kit 1.0 writes no opclass for those).
OPCLASSES_SQL = """
    SELECT x.relname, string_agg(
        a.attname || ' ' || CASE WHEN o.opcdefault THEN 'default' ELSE o.opcname END, ','
        ORDER BY k.n)
    FROM pg_index i
    JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid AND t.relnamespace = 'public'::regnamespace
    CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) WITH ORDINALITY AS k(att, cls, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att
    JOIN pg_opclass o ON o.oid = k.cls
    GROUP BY x.relname"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1.0 fixture project copied to a temporary directory and installed with `npm ci`."""
    return install("drizzle-v1", tmp_path_factory)


@pytest.fixture(scope="module")
def pulled(project: Path, settings: Settings) -> Path:
    """`drizzle-kit pull` as ci_migrator with the fixture's filters; the password only in the env.
    It writes schema.ts, relations.ts and one <timestamp>_<name>/ (no meta/ as 0.31 does)."""
    out = pull(project, settings.libpq_env("ci_migrator"))
    wrote = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    folders = {name.split("/")[0] for name in wrote if "/" in name}
    assert len(folders) == 1, wrote
    (folder,) = folders
    assert re.fullmatch(r"\d{14}_\w+", folder), wrote
    assert wrote == {
        "schema.ts", "relations.ts", f"{folder}/migration.sql", f"{folder}/snapshot.json"
    }  # fmt: skip
    return out


@pytest.fixture(scope="module")
def ddl(pulled: Path) -> list[Entity]:
    """The snapshot's entities."""
    (snapshot,) = pulled.glob("*/snapshot.json")
    entities: list[Entity] = json.loads(snapshot.read_text())["ddl"]
    return entities


@pytest.fixture(scope="module")
def schema_ts(pulled: Path) -> str:
    return (pulled / "schema.ts").read_text()


def of(ddl: list[Entity], kind: str, table: str | None = None) -> list[Entity]:
    """The entities of KIND (their entityType), only TABLE's if given."""
    return [e for e in ddl if e["entityType"] == kind and table in (None, e.get("table"))]


def declaration(schema_ts: str, table: str) -> str:
    """TABLE's `export const … = pgTable…("table", …);` in schema.ts."""
    found = [
        block
        for block in schema_ts.split("\nexport const ")
        if re.match(rf'\w+ = pgTable(\.withRLS)?\("{table}",', block)
    ]
    assert len(found) == 1, f"schema.ts declares {table} {len(found)} times"
    return found[0]


def names(db: Container, sql: str) -> set[str]:
    """The first column of SQL's rows."""
    return {row[0] for row in catalog_rows(db, sql)}


def test_pull_finds_all_spec_tables_and_no_partition(
    ddl: list[Entity], schema_ts: str, db: Container
) -> None:
    """All 11 spec tables, the partitioned parents among them, and none of their partitions."""
    partitions = names(db, PARTITIONS_SQL)
    assert partitions, "no partition in the database: the tablesFilter is not being tested"
    assert {e["name"] for e in of(ddl, "tables")} == set(TABLES)
    declared = re.findall(r'^export const \w+ = pgTable(?:\.withRLS)?\("(\w+)"', schema_ts, re.M)
    assert sorted(declared) == sorted(TABLES)
    assert not {e["table"] for e in ddl if "table" in e} & partitions
    assert not [name for name in sorted(partitions) if f'"{name}"' in schema_ts]


def test_pull_keeps_to_public(ddl: list[Entity], db: Container) -> None:
    """schemaFilter ["public"]: nothing of the other schemas (ci_guard, cron, partman, sqitch, …),
    which drizzle-kit 1.0 pulls by default; the enums are public's."""
    assert names(db, OTHER_SCHEMAS_SQL), "no table outside public: schemaFilter is not tested"
    elsewhere = [e for e in ddl if e.get("schema") != "public"]
    assert not elsewhere, elsewhere[:5]
    assert {e["name"] for e in of(ddl, "enums")} == names(db, ENUMS_SQL)


@pytest.mark.parametrize("table", LOG_TABLES)
def test_partitioned_table_has_rls_and_its_policies(
    table: str, ddl: list[Entity], schema_ts: str, db: Container
) -> None:
    """The partitioned parent is pulled as pgTable.withRLS, with the policies it has."""
    rel = f"'public.{table}'::regclass"
    kind = catalog_rows(db, f"SELECT relkind, relrowsecurity FROM pg_class WHERE oid = {rel}")
    assert kind == [["p", "t"]]
    assert [e["isRlsEnabled"] for e in of(ddl, "tables") if e["name"] == table] == [True]
    assert re.match(rf'\w+ = pgTable\.withRLS\("{table}",', declaration(schema_ts, table))
    policies = names(db, f"SELECT polname FROM pg_policy WHERE polrelid = {rel}")
    assert policies
    assert {e["name"] for e in of(ddl, "policies", table)} == policies


@pytest.mark.parametrize("table", LOG_TABLES)
def test_partitioned_table_primary_key_is_id_and_created_at(
    table: str, ddl: list[Entity], schema_ts: str, db: Container
) -> None:
    """The parent's primary key (id, created_at), in the snapshot and in schema.ts."""
    want = catalog_rows(db, PRIMARY_KEY_SQL.format(table=table))
    assert want == [[f"{table}_pkey", "id,created_at"]]
    assert [[e["name"], ",".join(e["columns"])] for e in of(ddl, "pks", table)] == want
    primary_key = f'primaryKey({{ columns: [table.id, table.createdAt], name: "{table}_pkey"}})'
    assert primary_key in declaration(schema_ts, table)


@pytest.mark.parametrize("table", LOG_TABLES)
def test_partitioned_table_has_the_parents_indexes(
    table: str, ddl: list[Entity], db: Container
) -> None:
    """Each index pg_indexes lists for the parent is pulled under its name: plain ones as
    indexes, the primary key's and the unique constraints' as those constraints."""
    want = names(
        db,
        f"SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{table}'",
    )
    assert want - {f"{table}_pkey"}, f"{table} has no index but its primary key"
    got = {e["name"] for kind in ("indexes", "pks", "uniques") for e in of(ddl, kind, table)}
    assert got == want


def test_composite_keys_keep_their_column_pairs(ddl: list[Entity], db: Container) -> None:
    """Each pulled foreign key pairs the columns PostgreSQL pairs, and each unique key keeps its
    column order (0.31 mispairs 11 of the 12 composite keys: tests/test_drizzle.py)."""
    want_fks = dict(catalog_rows(db, FOREIGN_KEYS_SQL))
    assert any("," in pairs for pairs in want_fks.values()), "no composite foreign key to test"
    got_fks = {
        e["name"]: ",".join(sorted(map("->".join, zip(e["columns"], e["columnsTo"], strict=True))))
        for e in of(ddl, "fks")
    }
    assert got_fks == want_fks
    got_uniques = {e["name"]: ",".join(e["columns"]) for e in of(ddl, "uniques")}
    assert got_uniques == dict(catalog_rows(db, UNIQUES_SQL))


def test_index_operator_classes_match_their_columns(ddl: list[Entity], db: Container) -> None:
    """Each column of each pulled index carries the operator class PostgreSQL has for it: none
    for its type's default, the name otherwise (the HNSW index's vector_cosine_ops); 0.31 swaps
    them in 4 multi-column indexes, so a migration generated from its pull fails."""
    want = dict(catalog_rows(db, OPCLASSES_SQL))
    got = {
        e["name"]: ",".join(
            f"{c['value']} {c['opclass']['name'] if c['opclass'] else 'default'}"
            for c in e["columns"]
        )
        for e in of(ddl, "indexes")
    }
    assert "vector_cosine_ops" in got.get("chunks_embedding_hnsw_idx", ""), got
    assert got == {name: want.get(name) for name in got}


def test_every_column_type_is_pulled(schema_ts: str) -> None:
    """No column left as a TODO and `unknown(...)` (0.31 does that to bytea)."""
    assert "TODO" not in schema_ts
    assert not re.search(r"\bunknown\(", schema_ts)


def test_pulled_schema_and_tenant_client_type_check(pulled: Path, project: Path) -> None:
    """tsc --noEmit over schema.ts and relations.ts as pulled, and db.ts: a drizzle-orm 1.0 client
    that reads a tenant's query_logs and writes usage_events, each in a transaction that first
    sets app.tenant_id."""
    result = typecheck(project)
    assert result.returncode == 0, result.stdout + result.stderr
