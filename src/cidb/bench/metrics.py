"""The metrics profile's cost: pooled pgbench TPS while Prometheus scrapes both exporters every
15 s, beside the same runs with the profile's three containers paused, in interleaved rounds
(goal >= 0.97).

pgbench (select-only, 20 clients as ci_app, PgBouncer's pool size) runs in a throwaway ci-db
container on the stack's network against pgbouncer:6432; the figures are medians over rounds.
Paused (the cgroup freezer), not stopped: the comparison is the steady-state cost of scraping,
not Prometheus's start-up. The services are removed at the end unless they were running before.
"""

from __future__ import annotations

import statistics

from plumbum.commands.base import BaseCommand

from cidb.bench.core import HIGHER, LOWER, Metric, Result, percentile, step
from cidb.bench.pgbench import run_pgbench
from cidb.bench.pool import SELECT_ONLY, create_table, db_container, drop_table, network_of
from cidb.compose import compose
from cidb.settings import Settings

SERVICES = ("postgres-exporter", "pgbouncer-exporter", "prometheus")
SCRAPE_INTERVAL = "15s"
CLIENTS = 20
GOAL = 0.97


def metrics_compose(*args: str) -> BaseCommand:
    """compose with the metrics profile, scraping every 15 s whatever the caller's env says."""
    return compose(*args).with_env(
        COMPOSE_PROFILES="metrics", CI_DB_SCRAPE_INTERVAL=SCRAPE_INTERVAL
    )


def running_services() -> set[str]:
    out = metrics_compose("ps", "--services", "--status", "running")()
    return set(out.split()) & set(SERVICES)


def metrics_on() -> None:
    # --no-deps: db and pgbouncer stay as they are (never recreated under the benchmark).
    metrics_compose("up", "-d", "--wait", "--no-build", "--no-deps", *SERVICES)(timeout=600)


def pause(on: bool) -> None:
    metrics_compose("pause" if on else "unpause", *SERVICES)(timeout=120)


def run(settings: Settings, quick: bool = False) -> Result:
    # Many short rounds: the machine's load drifts (shared hosts), and medians of interleaved
    # pairs follow it better than a few long runs; on average a run spans 8/15 of a scrape.
    rounds, seconds, rows = (1, 3, 10_000) if quick else (6, 8, 100_000)
    db = db_container()
    network = network_of(db)
    was_running = running_services()
    create_table(db, rows)
    tps: dict[str, list[float]] = {"with": [], "without": []}
    latencies: dict[str, list[float]] = {"with": [], "without": []}

    def pgbench(run_seconds: float) -> tuple[float, list[float]]:
        result = run_pgbench(
            SELECT_ONLY,
            user="ci_app",
            password=settings.passwords["ci_app"],
            clients=CLIENTS,
            seconds=run_seconds,
            network=network,
            host="pgbouncer",
            port=6432,
            extra=("-D", f"rows={rows}"),
        )
        return result.tps, result.latencies_ms

    paused = False
    try:
        metrics_on()
        # Not measured: PgBouncer's pool and the caches warm up while Prometheus settles.
        step("warm-up")
        pgbench(2 if quick else 8)
        for index in range(rounds):
            order = ["with", "without"] if index % 2 == 0 else ["without", "with"]
            for side in order:
                step(f"round {index + 1}/{rounds}: {side} metrics")
                if (side == "without") != paused:
                    paused = side == "without"
                    pause(paused)
                run_tps, run_latencies = pgbench(seconds)
                tps[side].append(run_tps)
                latencies[side] += run_latencies
    finally:
        if paused:
            pause(False)
        drop_table(db)
        if not was_running >= set(SERVICES):
            metrics_compose("rm", "-s", "-f", *SERVICES)(timeout=120)
    report = Result("metrics", f"scraped every {SCRAPE_INTERVAL}", "metrics profile paused")
    report.metrics = [
        Metric(
            f"pooled TPS, {CLIENTS} clients (goal >= {GOAL})",
            statistics.median(tps["with"]),
            statistics.median(tps["without"]),
            "tx/s",
            better=HIGHER,
        ),
        Metric(
            f"pooled p99, {CLIENTS} clients",
            percentile(latencies["with"], 99),
            percentile(latencies["without"], 99),
            "ms",
            better=LOWER,
        ),
    ]
    report.notes.append(
        f"pgbench select-only through PgBouncer as ci_app, {CLIENTS} clients, {rounds} interleaved"
        f" round(s) of {seconds} s per side, TPS medians; with: both exporters and Prometheus"
        f" running, scraping every {SCRAPE_INTERVAL}; without: the three containers paused"
    )
    # Per round, so a drift in the machine's load (it is shared) shows beside the means.
    report.notes.append(
        "TPS per round, with / without: "
        + ", ".join(
            f"{w:.0f} / {wo:.0f}" for w, wo in zip(tps["with"], tps["without"], strict=True)
        )
    )
    return report
