"""Bulk loading of embedded chunks for one tenant (issue 14, part 3).

- `load_chunks(pool, tenant, chunks)`: every chunk in ONE transaction as the pool's role
  (ci_app) inside with_tenant, so the tenant policy's WITH CHECK and the tenant-safe foreign
  key hold every row; the INSERTs are pipelined (psycopg's executemany), one round trip for the
  lot instead of one per chunk. All or nothing: a bad row rolls back every row.
  Not COPY: PostgreSQL refuses COPY FROM for a role under RLS, ci_app may not create the
  temporary table a COPY-then-INSERT would need, and a COPY as BYPASSRLS ci_admin would put
  the policy out of the path.
- `without_embedding_index(migrator)`: for a large import (an initial load, a re-embedding),
  drop the HNSW index, load, then build it again CONCURRENTLY from its own definition. One
  HNSW build is several times faster than maintaining the graph row by row, but while the
  index is gone every tenant's vector search scans the table: an admin operation for a
  maintenance window, as ci_migrator (the owner's role), never the API's path.

The API's row-at-a-time path (an INSERT per chunk inside with_tenant) stays as it is.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from cidb.pool import tenant_uuid, with_tenant

DIM = 1024  # chunks.embedding is the spec's vector(1024)
INDEX = "chunks_embedding_hnsw_idx"
INSERT = (
    "INSERT INTO public.chunks (tenant_id, project_id, document_id, content, token_count,"
    " chunk_index, vector_id, metadata, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


class IngestError(ValueError):
    """Input that cannot be loaded; nothing of it was written."""


@dataclass(frozen=True)
class Chunk:
    """One embedded chunk of a document of the tenant being loaded."""

    document_id: uuid.UUID
    content: str
    token_count: int
    chunk_index: int
    vector_id: str
    embedding: Sequence[float]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, line: str) -> Chunk:
        """A chunk from one JSON object (the fields above; metadata optional)."""
        data = json.loads(line)
        return cls(
            uuid.UUID(str(data["document_id"])),
            str(data["content"]),
            int(data["token_count"]),
            int(data["chunk_index"]),
            str(data["vector_id"]),
            [float(x) for x in data["embedding"]],
            dict(data.get("metadata") or {}),
        )


def check_dimensions(chunks: Sequence[Chunk]) -> None:
    """Refuse the whole load, before it starts, if any embedding is not DIM-dimensional."""
    for number, chunk in enumerate(chunks, start=1):
        if len(chunk.embedding) != DIM:
            raise IngestError(
                f"chunk {number} (vector_id {chunk.vector_id!r}): the embedding has"
                f" {len(chunk.embedding)} dimensions; chunks.embedding is vector({DIM});"
                " nothing was loaded"
            )


def load_chunks(pool: ConnectionPool, tenant_id: object, chunks: Sequence[Chunk]) -> int:
    """Insert CHUNKS for TENANT_ID in one transaction under RLS; returns the rows written."""
    check_dimensions(chunks)
    if not chunks:
        return 0
    tenant = uuid.UUID(tenant_uuid(tenant_id))
    with with_tenant(pool, tenant) as conn:
        register_vector(conn)
        projects = document_projects(conn, {c.document_id for c in chunks})
        rows = [
            (
                tenant,
                projects[c.document_id],
                c.document_id,
                c.content,
                c.token_count,
                c.chunk_index,
                c.vector_id,
                Jsonb(dict(c.metadata)),
                c.embedding,
            )
            for c in chunks
        ]
        with conn.cursor() as cursor:
            cursor.executemany(INSERT, rows)
    return len(rows)


def document_projects(conn: psycopg.Connection, documents: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each document's project, read under RLS: another tenant's document is not found."""
    found: dict[uuid.UUID, Any] = dict(
        conn.execute(
            "SELECT id, project_id FROM public.documents WHERE id = ANY(%s)", (list(documents),)
        ).fetchall()
    )
    missing = sorted(str(d) for d in documents - found.keys())
    if missing:
        raise IngestError(
            f"document(s) {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} not found"
            " for this tenant; nothing was loaded"
        )
    return found


def read_jsonl(lines: Iterable[str]) -> list[Chunk]:
    chunks = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                chunks.append(Chunk.from_json(line))
            except (KeyError, TypeError, ValueError) as error:
                raise IngestError(
                    f"line {number}: not a chunk ({error!r}); nothing was loaded"
                ) from error
    return chunks


def index_definition(migrator: psycopg.Connection) -> str:
    """The spec's HNSW index as the database defines it (so a rebuild cannot drift from it)."""
    rows = migrator.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index AS i"
        " JOIN pg_class AS c ON c.oid = i.indexrelid"
        " WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace AND i.indisvalid",
        (INDEX,),
    ).fetchall()
    if not rows:
        raise IngestError(f"public.{INDEX} is missing or invalid: deploy the schema first")
    return str(rows[0][0])


def build_embedding_index(migrator: psycopg.Connection, definition: str) -> float:
    """Build the index of DEFINITION concurrently (writes go on); seconds taken."""
    migrator.execute("SET statement_timeout = 0")
    start = time.perf_counter()
    migrator.execute(definition.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1))
    return time.perf_counter() - start


@contextmanager
def without_embedding_index(migrator: psycopg.Connection) -> Iterator[None]:
    """Drop the chunks' HNSW index for the block, then build it again, even if the block
    failed. MIGRATOR: an autocommit connection as ci_migrator."""
    definition = index_definition(migrator)
    migrator.execute("SET lock_timeout = '5s'")
    migrator.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{INDEX}")
    try:
        yield
    finally:
        migrator.execute("SET lock_timeout = 0")
        build_embedding_index(migrator, definition)
