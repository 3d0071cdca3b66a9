"""`cidb bench`: run scenarios against the running stack and write bench/report.md."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cidb.bench import (
    backup,
    ci,
    ha,
    ingest,
    metrics,
    migrate_job,
    migration,
    partitions,
    pool,
    pool_guard,
    report,
    rls,
    rls_setting,
    seed,
    startup,
    tuning,
    vector,
    vector_options,
)
from cidb.bench.core import Result, step
from cidb.settings import Settings

QUICK_NOTE = " (--quick: shows the scenarios work; the figures mean nothing)"
Scenario = Callable[[Settings, bool], Result]
SCENARIOS: dict[str, Scenario] = {
    "pool": pool.run,
    "pool-guard": pool_guard.run,
    "rls": rls.run,
    "rls-setting": rls_setting.run,
    "vector": vector.run,
    "vector-options": vector_options.run,
    "ingest": ingest.run,
    "tuning": tuning.run,
    "migration": migration.run,
    "migrate-job": migrate_job.run,
    "startup": startup.run,
    "seed": seed.run,
    "ci": ci.run,
    "backup": backup.run,
    "metrics": metrics.run,
    "ha": ha.run,
    "partitions": partitions.run,
}


def machine_line() -> str:
    memory_kib = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            memory_kib = int(meminfo.readline().split()[1])
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {memory_kib / 2**20:.1f} GiB memory, {platform.machine()},"
        f" {platform.system()} {platform.release()}"
    )


def server_versions(settings: Settings) -> str:
    import psycopg

    try:
        with psycopg.connect(settings.conninfo("admin"), connect_timeout=10) as conn:
            pg = conn.execute("SHOW server_version").fetchall()[0][0]
            vector = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchall()[0][0]
    except psycopg.OperationalError:
        # `cidb bench ha` (or startup, ci) alone needs no stack: they start their own servers.
        return "the stack was not running; the scenarios run started their own servers"
    return f"PostgreSQL {pg}, pgvector {vector}"


def write_report(results: Sequence[Result], settings: Settings, out_dir: Path, quick: bool) -> Path:
    """Merge RESULTS into OUT_DIR/report.md: the scenarios run replace theirs, the rest stay."""
    out_dir.mkdir(parents=True, exist_ok=True)
    now = f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}"
    header = [
        f"- last written: {now}; each scenario's section says when it was measured",
        f"- machine: {machine_line()}",
        f"- versions: {server_versions(settings)}",
        "- method: variant and baseline measured side by side in one run, interleaved;"
        " compare the ratios, not the absolute figures; the charts colour each ratio better"
        " (blue) or worse (vermilion) by its metric's direction (↑ higher is better, ↓ lower)",
    ]
    measured = f"measured in the run that ended {now}{QUICK_NOTE if quick else ''}"
    return report.write(out_dir / "report.md", results, header, list(SCENARIOS), measured)


def run(
    names: Sequence[str], *, quick: bool, out_dir: Path, settings: Settings | None = None
) -> int:
    settings = settings or Settings.from_env()
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"cidb bench: unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
        return 2
    results = []
    chosen = list(names or SCENARIOS)
    for number, name in enumerate(chosen, start=1):
        step(f"[{number}/{len(chosen)}] {name} started{' (--quick)' if quick else ''}")
        start = time.monotonic()
        result = SCENARIOS[name](settings, quick)
        step(f"[{number}/{len(chosen)}] {name} done in {time.monotonic() - start:.0f} s")
        print(result.table(), flush=True)
        results.append(result)
    print(f"report: {write_report(results, settings, out_dir, quick)}")
    return 0
