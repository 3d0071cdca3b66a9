"""Bulk loading of embedded chunks (cidb.ingest, `cidb ingest`): one tenant's rows under RLS,
all or nothing, and the spec's HNSW index back after a load that dropped it."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import ConnectionPool
from support.cli import cidb
from support.tenantdata import made_tenants

from cidb.ingest import DIM, INDEX, Chunk, IngestError, load_chunks
from cidb.pool import build_pool, with_tenant
from cidb.settings import Settings

INDEX_STATE = (
    "SELECT pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index AS i"
    f" JOIN pg_class AS c ON c.oid = i.indexrelid WHERE c.relname = '{INDEX}'"
)


@pytest.fixture(scope="module")
def tenants(settings: Settings, db) -> Iterator[list[dict[str, Any]]]:
    """Two tenants with a document each, made as ci_admin."""
    with made_tenants(settings, db, 2) as made:
        yield made


@pytest.fixture
def app_pool(settings: Settings) -> Iterator[ConnectionPool]:
    pool = build_pool(settings, role="ci_app", pooled=False, min_size=1, max_size=1)
    pool.open(wait=True, timeout=30)
    yield pool
    pool.close()


def chunks(document: Any, count: int, tag: str, dim: int = DIM) -> list[Chunk]:
    rng = random.Random(tag)
    return [
        Chunk(
            uuid.UUID(str(document)),
            f"chunk {i}",
            10 + i,
            i,
            f"{tag}-{i}",
            [rng.uniform(-1, 1) for _ in range(dim)],
            {"n": i},
        )
        for i in range(count)
    ]


def loaded(pool: ConnectionPool, tenant: Any, tag: str) -> list[tuple[Any, ...]]:
    """The tenant's rows of TAG as ci_app sees them under RLS."""
    with with_tenant(pool, tenant) as conn:
        return conn.execute(
            "SELECT tenant_id, project_id, document_id, chunk_index, vector_dims(embedding),"
            " metadata FROM public.chunks WHERE vector_id LIKE %s ORDER BY chunk_index",
            (f"{tag}-%",),
        ).fetchall()


def test_load_chunks_writes_one_tenants_rows_under_rls(
    app_pool: ConnectionPool, tenants: list[dict[str, Any]]
) -> None:
    """Every chunk lands with the tenant, its document's project and its embedding; the other
    tenant sees none of them."""
    own, other = tenants
    tag = uuid.uuid4().hex
    assert load_chunks(app_pool, own["tenants"], chunks(own["documents"], 25, tag)) == 25
    rows = loaded(app_pool, own["tenants"], tag)
    assert [r[3] for r in rows] == list(range(25))
    assert {(r[0], r[1], r[2], r[4]) for r in rows} == {
        (own["tenants"], own["projects"], own["documents"], DIM)
    }
    assert rows[3][5] == {"n": 3}
    assert loaded(app_pool, other["tenants"], tag) == []


def test_a_wrong_dimension_is_refused_and_nothing_is_loaded(
    app_pool: ConnectionPool, tenants: list[dict[str, Any]]
) -> None:
    """One 768-dim embedding among 1024-dim ones: a clear error naming it, no row written."""
    own = tenants[0]
    tag = uuid.uuid4().hex
    batch = chunks(own["documents"], 5, tag) + chunks(own["documents"], 1, f"{tag}-bad", 768)
    with pytest.raises(
        IngestError, match=r"chunk 6 .* 768 dimensions; chunks.embedding is vector\(1024\)"
    ):
        load_chunks(app_pool, own["tenants"], batch)
    assert loaded(app_pool, own["tenants"], tag) == []


def test_another_tenants_document_is_refused_and_nothing_is_loaded(
    app_pool: ConnectionPool, tenants: list[dict[str, Any]]
) -> None:
    """A chunk naming the other tenant's document: refused (RLS hides it), no row written."""
    own, other = tenants
    tag = uuid.uuid4().hex
    batch = chunks(own["documents"], 3, tag) + chunks(other["documents"], 1, f"{tag}-x")
    with pytest.raises(IngestError, match="not found for this tenant"):
        load_chunks(app_pool, own["tenants"], batch)
    assert loaded(app_pool, own["tenants"], tag) == []
    assert loaded(app_pool, other["tenants"], tag) == []


def cli_env(settings: Settings, stack) -> dict[str, str]:
    return {
        "CI_DB_PORT": str(settings.port),
        "CI_DB_POOL_PORT": str(settings.pool_port),
        "COMPOSE_PROJECT_NAME": stack.project,
    }


def write_jsonl(path: Path, batch: list[Chunk]) -> None:
    path.write_text(
        "".join(
            json.dumps(
                {**c.__dict__, "document_id": str(c.document_id), "embedding": list(c.embedding)}
            )
            + "\n"
            for c in batch
        )
    )


def test_cli_rebuild_index_loads_and_the_spec_index_is_back(
    settings: Settings,
    stack,
    db,
    app_pool: ConnectionPool,
    tenants: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """`cidb ingest --rebuild-index` loads the file and leaves the spec's HNSW index as it was:
    same definition, valid."""
    own = tenants[0]
    before = db.psql(INDEX_STATE)
    assert before.endswith("|t") and "hnsw" in before
    tag = uuid.uuid4().hex
    path = tmp_path / "chunks.jsonl"
    write_jsonl(path, chunks(own["documents"], 40, tag))
    out = cidb()["ingest", "--tenant", str(own["tenants"]), "--rebuild-index", str(path)].with_env(
        **cli_env(settings, stack)
    )(timeout=600)
    assert "40 chunks loaded" in out
    assert len(loaded(app_pool, own["tenants"], tag)) == 40
    assert db.psql(INDEX_STATE) == before


def test_cli_refuses_a_wrong_dimension_before_touching_the_index(
    settings: Settings,
    stack,
    db,
    app_pool: ConnectionPool,
    tenants: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """A 768-dim line: exit 1 with the reason, no row, the index untouched."""
    own = tenants[0]
    before = db.psql(INDEX_STATE)
    tag = uuid.uuid4().hex
    path = tmp_path / "bad.jsonl"
    write_jsonl(
        path, chunks(own["documents"], 2, tag) + chunks(own["documents"], 1, f"{tag}-b", 768)
    )
    code, out, err = (
        cidb()["ingest", "--tenant", str(own["tenants"]), "--rebuild-index", str(path)]
        .with_env(**cli_env(settings, stack))
        .run(retcode=None, timeout=120)
    )
    assert code == 1, out + err
    assert "768 dimensions" in err and "nothing was loaded" in err
    assert loaded(app_pool, own["tenants"], tag) == []
    assert db.psql(INDEX_STATE) == before
