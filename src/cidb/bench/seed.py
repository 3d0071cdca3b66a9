"""Synthetic-data generator throughput: binary COPY as ci_admin vs pipelined INSERTs as ci_app
under RLS (the generator's default), for the same rows, tenant by tenant, interleaved.

Each write runs in a transaction that is rolled back, so the stack keeps nothing (ci_admin may
not delete audit rows); the tenants rows are deleted at the end. The stack's HNSW index is
maintained row by row on every chunk with an embedding, which is why chunks are reported apart.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import psycopg
from pgvector.psycopg import register_vector

from cidb.bench.core import HIGHER, Metric, Result, step
from cidb.pool import SET_TENANT
from cidb.seed import create_tenants, plan_limits, write_rows
from cidb.settings import Settings
from cidb.synthetic import TENANT_TABLES, Rows, Spec, password_hash, tenant_rows

Timings = dict[str, list[float]]  # "chunks" / "other" -> [rows, seconds]


def _timed_write(
    conn: psycopg.Connection, rows: Rows, copy: bool, before: Callable[[], None], into: Timings
) -> None:
    """Write every table of ROWS in a transaction that is rolled back; add rows and seconds."""
    with conn.transaction(force_rollback=True):
        before()
        for table in TENANT_TABLES:
            start = time.perf_counter()
            write_rows(conn, table, rows.columns[table], rows.tables[table], _nothing, copy=copy)
            part = into["chunks" if table == "chunks" else "other"]
            part[0] += len(rows.tables[table])
            part[1] += time.perf_counter() - start


def _noop() -> None:
    pass


def _nothing(_rows: int) -> None:
    pass


def _rate(t: Timings, key: str | None = None) -> float:
    rows = sum(v[0] for k, v in t.items() if key in (None, k))
    seconds = sum(v[1] for k, v in t.items() if key in (None, k))
    return rows / seconds if seconds else float("nan")


def run(settings: Settings, quick: bool = False) -> Result:
    tenants, documents, chunks = (2, 30, 4) if quick else (4, 250, 10)
    # A random seed: slugs no one else uses, so the clean-up can only touch these tenants.
    spec = Spec(tenants, documents, chunks, seed=secrets.randbits(62))
    password = password_hash(spec.seed)
    copied: Timings = {"chunks": [0, 0.0], "other": [0, 0.0]}
    inserted: Timings = {"chunks": [0, 0.0], "other": [0, 0.0]}
    generated = [0, 0.0]
    with (
        psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin,
        psycopg.connect(settings.conninfo("app")) as app,
    ):
        register_vector(admin)
        register_vector(app)
        create_tenants(admin, spec, plan_limits())
        try:
            for index in range(tenants):
                step(f"tenant {index + 1}/{tenants}: generate, COPY, INSERT")
                start = time.perf_counter()
                rows = tenant_rows(spec, index, password)
                generated[0] += rows.count()
                generated[1] += time.perf_counter() - start

                def as_app(tenant: str = str(rows.tenant_id)) -> None:
                    app.execute(SET_TENANT, (tenant,))

                methods = [
                    (admin, True, _noop, copied),
                    (app, False, as_app, inserted),
                ]
                for conn, copy, before, into in methods[:: 1 if index % 2 == 0 else -1]:
                    _timed_write(conn, rows, copy, before, into)
        finally:
            ids = [spec.tenant_id(i) for i in range(tenants)]
            admin.execute("DELETE FROM public.tenants WHERE id = ANY(%s)", (ids,))

    result = Result(
        "seed", "binary COPY as ci_admin", "executemany INSERT as ci_app under RLS (default)"
    )
    result.metrics += [
        Metric("generator write, all tables", _rate(copied), _rate(inserted), "rows/s",
               better=HIGHER),
        Metric("chunks (HNSW kept per row)", _rate(copied, "chunks"), _rate(inserted, "chunks"),
               "rows/s", better=HIGHER),
        Metric("other tables", _rate(copied, "other"), _rate(inserted, "other"), "rows/s",
               better=HIGHER),
    ]  # fmt: skip
    result.notes += [
        f"{tenants} tenants x {documents} documents x {chunks} chunks ({generated[0]:,} rows per"
        " method); each tenant written by both methods, order alternating, rolled back",
        f"generating the rows in Python (not in the figures above): "
        f"{generated[0] / generated[1]:,.0f} rows/s",
    ]
    return result
