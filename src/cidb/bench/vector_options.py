"""Chunk index options (issue 14, part 3): half-precision and binary quantization vs the
full-precision HNSW index, all on the same vector(1024) column, at the same ef_search: index
size, build time, recall@10 and QPS.

Measured on a scratch table: the spec's index on chunks.embedding is binding, and the options
are expression indexes that sit beside a vector(1024) column, so the table shape is the same.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from cidb.bench.core import HIGHER, LOWER, Metric, Result, step
from cidb.embeddings import DIM, clustered
from cidb.settings import Settings

K = 10
EF_SEARCH = 40  # pgvector's default: what an application gets without tuning
RECALL_FLOOR = 0.95
QPS_SLACK = 0.9
TABLE = "public.bench_vector_options"
WITH = "WITH (m = 16, ef_construction = 200)"
BINARY_WIDE = 400


@dataclass(frozen=True)
class Option:
    """One way to index and query the embeddings."""

    name: str
    index: str | None  # CREATE INDEX ... USING hnsw <this> WITH (...); None: an earlier one's
    query: str  # top-K ids; %(q)s is the query vector
    ef_search: int = EF_SEARCH


OPTIONS = [
    Option(
        "full (vector)",
        "(embedding extensions.vector_cosine_ops)",
        f"SELECT id FROM {TABLE} ORDER BY embedding <=> %(q)s LIMIT {K}",
    ),
    Option(
        "halfvec",
        f"((embedding::extensions.halfvec({DIM})) extensions.halfvec_cosine_ops)",
        f"SELECT id FROM {TABLE}"
        f" ORDER BY embedding::extensions.halfvec({DIM}) <=> %(q)s::extensions.halfvec({DIM})"
        f" LIMIT {K}",
    ),
    # Hamming distance on the sign bits finds EF_SEARCH candidates; the full vectors re-rank.
    Option(
        "binary + re-rank",
        f"((extensions.binary_quantize(embedding)::bit({DIM})) extensions.bit_hamming_ops)",
        f"SELECT id FROM (SELECT id, embedding FROM {TABLE}"
        f" ORDER BY extensions.binary_quantize(embedding)::bit({DIM})"
        f" <~> extensions.binary_quantize(%(q)s) LIMIT {EF_SEARCH}) AS candidates"
        f" ORDER BY embedding <=> %(q)s LIMIT {K}",
    ),
    # Not at the same ef_search: how many candidates binary needs for its recall (same index).
    Option(
        f"binary + re-rank, {BINARY_WIDE} candidates",
        None,
        f"SELECT id FROM (SELECT id, embedding FROM {TABLE}"
        f" ORDER BY extensions.binary_quantize(embedding)::bit({DIM})"
        f" <~> extensions.binary_quantize(%(q)s) LIMIT {BINARY_WIDE}) AS candidates"
        f" ORDER BY embedding <=> %(q)s LIMIT {K}",
        BINARY_WIDE,
    ),
]


@dataclass(frozen=True)
class Figures:
    size_mib: float
    build_s: float
    recall: float
    qps: float


def load(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(
        f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding extensions.vector({DIM}) NOT NULL)"
    )
    with conn.cursor().copy(f"COPY {TABLE} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(["int8", "vector"])
        for index, vector in enumerate(vectors):
            cp.write_row((index, vector))
    conn.execute(f"VACUUM ANALYZE {TABLE}")


def build(conn: psycopg.Connection, number: int, index: str) -> tuple[float, float]:
    """Seconds to build the hnsw INDEX (its key and opclass) and its size in MiB."""
    name = f"bench_vector_options_{number}"
    start = time.perf_counter()
    conn.execute(f"CREATE INDEX {name} ON {TABLE} USING hnsw {index} {WITH}")
    seconds = time.perf_counter() - start
    size = conn.execute(f"SELECT pg_relation_size('public.{name}')").fetchall()[0][0]
    return seconds, size / 2**20


def search(
    conn: psycopg.Connection, option: Option, queries: np.ndarray
) -> tuple[list[set[int]], float]:
    """Top-K ids per query (one autocommit statement each) and the queries per second."""
    found = []
    conn.execute(f"SET hnsw.ef_search = {option.ef_search}")
    start = time.perf_counter()
    for query in queries:
        found.append({row[0] for row in conn.execute(option.query, {"q": query}).fetchall()})
    return found, len(queries) / (time.perf_counter() - start)


def uses_index(conn: psycopg.Connection, option: Option, query: np.ndarray, number: int) -> bool:
    plan = conn.execute("EXPLAIN " + option.query, {"q": query}).fetchall()
    return any(f"bench_vector_options_{number}" in row[0] for row in plan)


def recall(found: list[set[int]], truth: list[set[int]]) -> float:
    return statistics.mean(len(f & t) / K for f, t in zip(found, truth, strict=True))


def measure(settings: Settings, n: int, n_queries: int, rounds: int) -> dict[str, Figures]:
    rng = np.random.default_rng(14)
    vectors = clustered(n, 50, rng)
    queries = vectors[rng.integers(0, n, n_queries)] + 0.05 * rng.standard_normal(
        (n_queries, DIM), np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = [{int(i) for i in np.argsort(-(vectors @ q))[:K]} for q in queries]
    with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn:
        register_vector(conn)
        step(f"vector-options: loading {n:,} x {DIM}-dim vectors")
        load(conn, vectors)
        try:
            conn.execute("SET maintenance_work_mem = '512MB'")
            built: dict[str, tuple[float, float]] = {}
            number, previous = -1, OPTIONS[0].name
            for option in OPTIONS:
                if option.index is not None:
                    number += 1
                    step(f"vector-options: building {option.name} (index {number + 1})")
                    built[option.name] = build(conn, number, option.index)
                else:
                    built[option.name] = built[previous]
                previous = option.name
                if not uses_index(conn, option, queries[0], number):
                    raise RuntimeError(f"{option.name}: the query form does not use its index")
            qps: dict[str, list[float]] = {o.name: [] for o in OPTIONS}
            found: dict[str, list[set[int]]] = {}
            for index in range(rounds):
                step(
                    f"vector-options: search round {index + 1}/{rounds} ({n_queries} queries each)"
                )
                order = OPTIONS if index % 2 == 0 else OPTIONS[::-1]
                for option in order:
                    found[option.name], rate = search(conn, option, queries)
                    qps[option.name].append(rate)
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return {
        o.name: Figures(
            built[o.name][1], built[o.name][0], recall(found[o.name], truth), max(qps[o.name])
        )
        for o in OPTIONS
    }


def pick(figures: dict[str, Figures]) -> str:
    """The default: the smallest index whose recall@10 stays at or above the floor and whose
    QPS is within QPS_SLACK of the full index's (QPS differences under that are run-to-run
    noise on a shared machine; a smaller index is what keeps search in memory as chunks grow)."""
    full = figures[OPTIONS[0].name]
    good = [
        name
        for name, f in figures.items()
        if f.recall >= RECALL_FLOOR and f.qps >= QPS_SLACK * full.qps
    ]
    return min(good, key=lambda name: figures[name].size_mib) if good else OPTIONS[0].name


def run(settings: Settings, quick: bool = False) -> Result:
    n, n_queries, rounds = (2_000, 20, 2) if quick else (30_000, 200, 3)
    figures = measure(settings, n, n_queries, rounds)
    full = figures[OPTIONS[0].name]
    result = Result("vector-options", "halfvec / binary quantization", "full-precision HNSW")
    for option in OPTIONS[1:]:
        f = figures[option.name]
        if option.index is not None:
            result.metrics += [
                Metric(
                    f"{option.name}: index size", f.size_mib, full.size_mib, "MiB", better=LOWER
                ),
                Metric(f"{option.name}: build time", f.build_s, full.build_s, "s", better=LOWER),
            ]
        result.metrics += [
            Metric(
                f"{option.name}: recall@10 (goal >= {RECALL_FLOOR} absolute)",
                f.recall,
                full.recall,
                "ratio",
                better=HIGHER,
            ),
            Metric(f"{option.name}: QPS", f.qps, full.qps, "q/s", better=HIGHER),
        ]
    result.notes += [
        f"{n:,} x {DIM}-dim clustered unit vectors; {n_queries} queries (near a stored vector);"
        f" HNSW m=16, ef_construction=200 for every option; hnsw.ef_search = {EF_SEARCH} for"
        f" every option (binary: {EF_SEARCH} candidates by Hamming distance, re-ranked by cosine"
        f" on the full vectors) but the last, which shows what binary needs: {BINARY_WIDE}"
        f" candidates at ef_search {BINARY_WIDE}, same index; QPS = best of {rounds} interleaved"
        " rounds, one query per statement as the migrator over TCP",
        "absolute (size MiB, build s, recall@10, QPS): "
        + "; ".join(
            f"{name} {f.size_mib:.1f}, {f.build_s:.1f}, {f.recall:.3f}, {f.qps:.0f}"
            for name, f in figures.items()
        ),
        f"default by these figures (the smallest index with recall@10 >= {RECALL_FLOOR} and QPS"
        f" >= {QPS_SLACK} x the full index's): {pick(figures)}",
    ]
    return result
