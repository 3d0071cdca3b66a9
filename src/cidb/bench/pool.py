"""PgBouncer (6432) vs direct (5432): pgbench select-only TPS and p99 at 50 and 1,000 clients,
with persistent connections and with a new connection per transaction (-C), interleaved.

pgbench runs in a throwaway ci-db container on the stack's network, against `db:5432` and
`pgbouncer:6432` alike, as ci_app, on a table the superuser creates for the run and drops after.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field

from plumbum import local

from cidb.bench.core import HIGHER, LOWER, Metric, Result, percentile, step
from cidb.bench.pgbench import PgbenchRun, run_pgbench
from cidb.compose import compose
from cidb.settings import Settings

SCHEMA = "bench_pool"
SELECT_ONLY = f"""\\set aid random(1, :rows)
SELECT abalance FROM {SCHEMA}.accounts WHERE aid = :aid;
"""
TARGETS = {"pooled": ("pgbouncer", 6432), "direct": ("db", 5432)}
ABORTED = re.compile(r"client \d+ aborted")
# pgbench stops the whole run when a client's first connection fails (persistent mode only).
FIRST_REFUSED = re.compile(r"could not create connection for client (\d+)")
SERVER_ERROR = re.compile(r"FATAL:\s+(.+)")
CONNECTION_TIME = re.compile(r"average connection time = ([\d.]+) ms")


@dataclass
class Side:
    """One target's runs of one configuration, over all rounds."""

    tps: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    connection_ms: list[float] = field(default_factory=list)
    refused: int = 0
    error: str = ""

    def add(self, run: PgbenchRun, clients: int, per_transaction: bool) -> None:
        self.latencies_ms += run.latencies_ms
        if match := CONNECTION_TIME.search(run.output):
            self.connection_ms.append(float(match.group(1)))
        if not per_transaction and (first := FIRST_REFUSED.search(run.output)):
            # One thread (-j 1) connects clients 0, 1, 2, ... in order: client N failing means
            # N were admitted and the rest never ran.
            self.refused = max(self.refused, clients - int(first.group(1)))
            self.tps.append(0.0)
        else:
            self.refused = max(self.refused, len(ABORTED.findall(run.output)))
            self.tps.append(run.tps)
        if error := SERVER_ERROR.search(run.output):
            self.error = error.group(1).strip()

    @property
    def served(self) -> bool:
        return bool(self.latencies_ms) and statistics.mean(self.tps) > 0


def db_container() -> str:
    db_id = compose("ps", "-q", "db")().strip()
    if not db_id:
        raise RuntimeError("the compose stack's db service is not running: run `cidb up` first")
    return db_id


def network_of(container: str) -> str:
    networks = json.loads(local["docker"]("inspect", container))[0]["NetworkSettings"]["Networks"]
    return str(next(iter(networks)))


def superuser_sql(
    container: str, sql: str, *, database: str = "contextinject", **variables: str | int
) -> str:
    """SQL as the superuser over the db container's socket; values travel as psql variables.
    Returns what psql printed (unaligned, tuples only)."""
    args = ["exec", "-i", container, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    return str((local["docker"][(*args, "-d", database)] << sql)())


def create_table(container: str, rows: int) -> None:
    superuser_sql(
        container,
        f"""SET client_min_messages = warning;
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.accounts (aid integer PRIMARY KEY, abalance integer NOT NULL,
                                filler char(84) NOT NULL DEFAULT '');
INSERT INTO {SCHEMA}.accounts (aid, abalance) SELECT g, 0 FROM generate_series(1, :rows) g;
VACUUM ANALYZE {SCHEMA}.accounts;
GRANT USAGE ON SCHEMA {SCHEMA} TO ci_app;
GRANT SELECT ON {SCHEMA}.accounts TO ci_app;
""",
        rows=rows,
    )


def drop_table(container: str) -> None:
    superuser_sql(container, f"SET client_min_messages = warning;\nDROP SCHEMA {SCHEMA} CASCADE;\n")


def compare(
    settings: Settings,
    network: str,
    *,
    clients: int,
    per_transaction: bool,
    rounds: int,
    seconds: float,
    rows: int,
) -> dict[str, Side]:
    """Direct and pooled runs of one configuration, alternating which goes first each round."""
    sides = {name: Side() for name in TARGETS}
    extra = ["-D", f"rows={rows}"]
    if per_transaction:
        extra.append("-C")
    for index in range(rounds):
        step(
            f"round {index + 1}/{rounds}"
            + (", a connection per transaction" if per_transaction else "")
        )
        order = list(TARGETS) if index % 2 == 0 else list(reversed(TARGETS))
        for name in order:
            host, port = TARGETS[name]
            # Persistent direct runs connect with one thread so a refusal tells how many got in.
            threads = ["-j", "1"] if name == "direct" and not per_transaction else []
            run = run_pgbench(
                SELECT_ONLY,
                user="ci_app",
                password=settings.passwords["ci_app"],
                clients=clients,
                seconds=seconds,
                network=network,
                host=host,
                port=port,
                extra=(*extra, *threads),
            )
            sides[name].add(run, clients, per_transaction)
    return sides


def tps_and_p99(label: str, variant: Side, baseline: Side) -> list[Metric]:
    return [
        Metric(
            f"{label} TPS",
            statistics.mean(variant.tps),
            statistics.mean(baseline.tps),
            "tx/s",
            better=HIGHER,
        ),
        Metric(
            f"{label} p99",
            percentile(variant.latencies_ms, 99),
            percentile(baseline.latencies_ms, 99),
            "ms",
            better=LOWER,
        ),
    ]


def metrics_for(label: str, sides: dict[str, Side], per_transaction: bool) -> list[Metric]:
    """Ratios only where both sides have figures, so every ratio is a finite number."""
    pooled, direct = sides["pooled"], sides["direct"]
    metrics: list[Metric] = []
    if pooled.served and direct.served:
        metrics += tps_and_p99(label, pooled, direct)
    if per_transaction and pooled.connection_ms and direct.connection_ms:
        metrics.append(
            Metric(
                f"{label} connect",
                statistics.mean(pooled.connection_ms),
                statistics.mean(direct.connection_ms),
                "ms",
                better=LOWER,
            )
        )
    if direct.refused:
        metrics.append(
            Metric(
                f"{label}: clients refused", pooled.refused, direct.refused, "clients", better=LOWER
            )
        )
    return metrics


def describe(label: str, sides: dict[str, Side], clients: int, per_transaction: bool) -> str:
    pooled, direct = sides["pooled"], sides["direct"]
    parts = []
    for name, side in (("direct", direct), ("PgBouncer", pooled)):
        if side.refused and not per_transaction:
            parts.append(
                f"{name}: {clients - side.refused} of {clients} clients got one of the free"
                f" connection slots, then pgbench stopped ({side.error or 'connection refused'});"
                " no TPS to compare"
            )
        elif side.refused:
            parts.append(
                f"{name}: {side.refused} of {clients} clients aborted on a refused connection"
                f" ({side.error or 'connection refused'}); TPS counts the survivors"
            )
        else:
            parts.append(f"{name}: all {clients} clients served")
    return f"{label}: " + "; ".join(parts)


def beside_direct_at_its_best(many: int, pooled: Side, direct_50: Side) -> list[Metric]:
    """When direct cannot serve MANY clients at all: PgBouncer at MANY beside direct at 50."""
    if not (pooled.served and direct_50.served):
        return []
    return tps_and_p99(f"{many:,} pooled vs 50 direct", pooled, direct_50)


def run(settings: Settings, quick: bool = False) -> Result:
    many = 200 if quick else 1000
    rounds, seconds, rows = (1, 2, 10_000) if quick else (2, 10, 100_000)
    db = db_container()
    network = network_of(db)
    create_table(db, rows)
    result = Result("pool", "PgBouncer (6432)", "direct (5432)")
    measured: dict[tuple[int, bool], dict[str, Side]] = {}
    try:
        for clients in (50, many):
            for per_transaction in (False, True):
                label = f"{clients:,} clients{' -C' if per_transaction else ''}"
                sides = compare(
                    settings,
                    network,
                    clients=clients,
                    per_transaction=per_transaction,
                    rounds=rounds,
                    seconds=seconds,
                    rows=rows,
                )
                measured[clients, per_transaction] = sides
                result.metrics += metrics_for(label, sides, per_transaction)
                if sides["direct"].refused or sides["pooled"].refused:
                    result.notes.append(describe(label, sides, clients, per_transaction))
    finally:
        drop_table(db)
    if not measured[many, False]["direct"].served:
        result.metrics += beside_direct_at_its_best(
            many, measured[many, False]["pooled"], measured[50, False]["direct"]
        )
    result.notes.append(
        f"pgbench select-only (random primary-key look-up in {rows:,} rows) as ci_app, {rounds}"
        f" interleaved round(s) of {seconds} s per figure, from a container on the stack's network"
        " to db:5432 and pgbouncer:6432; -C opens a new connection (SCRAM login) per transaction,"
        " and its p99 includes that login; PgBouncer's pool for ci_app is 20 (+5 reserve)"
    )
    return result
