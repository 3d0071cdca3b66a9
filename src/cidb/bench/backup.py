"""Backups with pgBackRest (issue 13): full-backup throughput vs pg_basebackup of the same
database, restore time at two database sizes, and the recovery point measured after losing the
primary (cidb.bench.recovery_point).

Every database here is the benchmark's own (label cidb-bench=1), archiving to a posix repository
volume of its own with the image's backup defaults, and removed at the end."""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plumbum import local

from cidb import backup
from cidb.bench import recovery_point
from cidb.bench.archiving import (
    PGDATA,
    Primary,
    cluster_mib,
    create_documents,
    fill,
    largest_file_mib,
    pgbackrest_seconds,
    start_primary,
    timed_restore,
)
from cidb.bench.core import HIGHER, NEITHER, Metric, Result, step
from cidb.containers import Container
from cidb.names import db_image
from cidb.settings import Settings

DOCKER = local["docker"]
SOCKET_DIR = "/var/run/postgresql"
# pg_basebackup writes to a volume of its own, on the same disk as the repository volume.
BASEBACKUP_MOUNT = "/var/lib/basebackup"
# -c fast as pgBackRest's start-fast=y (the image's default): neither waits for a spread
# checkpoint. Plain format with streamed WAL is pg_basebackup's default form; the compressed tar
# is the like-for-like one (zstd level 1, as the image's compress-type=zst, compress-level=1).
BASEBACKUPS = {
    "pg_basebackup": ["-Fp", "-X", "stream"],
    "pg_basebackup zstd:1": ["-Ft", "-X", "stream", "--compress=client-zstd:1"],
}
PGBACKREST = "pgBackRest"


def allow_basebackup(db: Container) -> None:
    """A replication entry for the superuser over the socket (the image's pg_hba.conf has none:
    pgBackRest needs none) and the output volume's owner; this container only."""
    line = f"local replication {db.psql('SELECT current_user')} peer\n"
    (DOCKER["exec", "-i", db.name, "tee", "-a", f"{PGDATA}/pg_hba.conf"] << line)()
    db.psql("SELECT pg_reload_conf()")
    db.exec("chown", "postgres:postgres", BASEBACKUP_MOUNT, user="root")


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_pgbackrest(db: Container) -> float:
    """`ci-db-backup backup --type full`: the image's defaults (zst 1, bundles, 2 processes)."""
    return seconds(lambda: backup.take_backup(db.name, "full"))


def time_basebackup(db: Container, form: str) -> float:
    """pg_basebackup inside the container as the postgres OS user over the socket; the output
    is removed afterwards, untimed."""
    target = f"{BASEBACKUP_MOUNT}/backup"
    argv = ["pg_basebackup", "-h", SOCKET_DIR, "-D", target, "-c", "fast", *BASEBACKUPS[form]]
    taken = seconds(lambda: db.exec(*argv, user="postgres"))
    db.exec("rm", "-rf", target, user="postgres")
    return taken


def throughput(primary: Primary, rounds: int) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per full backup of each contender, in an order that rotates every round, and
    the machine's 1-minute load average after each round (CPU-bound pgBackRest feels it most)."""
    allow_basebackup(primary.db)
    contenders: dict[str, Callable[[], float]] = {PGBACKREST: lambda: time_pgbackrest(primary.db)}
    for form in BASEBACKUPS:
        contenders[form] = functools.partial(time_basebackup, primary.db, form)
    names = list(contenders)
    taken: dict[str, list[float]] = {name: [] for name in names}
    loads = []
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            taken[name].append(contenders[name]())
        loads.append(os.getloadavg()[0])
        step(
            f"backup round {index + 1}/{rounds}: "
            + ", ".join(f"{name} {taken[name][-1]:.1f} s" for name in names)
            + f" (load average {loads[-1]:.1f})"
        )
    return taken, loads


@dataclass
class Restores:
    """One database's restores: wall time, and pgBackRest's own restore step within it."""

    wall: list[float] = field(default_factory=list)
    files: list[float] = field(default_factory=list)

    def add(self, primary: Primary) -> None:
        wall, result = timed_restore(primary)
        self.wall.append(wall)
        self.files.append(pgbackrest_seconds(result.output, "restore"))


def restores(small: Primary, big: Primary, rounds: int) -> tuple[Restores, Restores]:
    """Restores of the small and the big database, alternating, each into a fresh volume, from
    a full backup taken just before (so little WAL follows it)."""
    backup.take_backup(small.db.name, "full")
    backup.take_backup(big.db.name, "full")
    done = (Restores(), Restores())
    for index in range(rounds):
        order = [(small, done[0]), (big, done[1])]
        if index % 2:
            order.reverse()
        for primary, sink in order:
            sink.add(primary)
        step(
            f"restore round {index + 1}/{rounds}: small {done[0].wall[-1]:.1f} s,"
            f" big {done[1].wall[-1]:.1f} s"
        )
    return done


def spread(samples: list[float]) -> str:
    return f"{min(samples):.1f}-{max(samples):.1f}"


def throughput_findings(
    taken: dict[str, list[float]], loads: list[float], cluster: float, largest: float
) -> tuple[list[Metric], list[str]]:
    """MiB/s of each contender (the same CLUSTER MiB over each one's seconds)."""
    med = statistics.median
    rate = {name: [cluster / s for s in samples] for name, samples in taken.items()}
    metrics = [
        Metric(
            f"full backup MiB/s vs {form}{' (goal >= 1.0)' if form == 'pg_basebackup' else ''}",
            med(rate[PGBACKREST]),
            med(rate[form]),
            "MiB/s",
            better=HIGHER,
        )
        for form in BASEBACKUPS
    ]
    per_round = [p / b for p, b in zip(taken[PGBACKREST], taken["pg_basebackup"], strict=True)]
    notes = [
        f"throughput: a {cluster:.0f} MiB cluster (pgBackRest's count of its files, WAL not"
        " included; the same figure divides every contender's time): documents of ~1 KiB text"
        " and a 1024-dim random vector; "
        + "; ".join(
            f"{name} {med(rate[name]):.1f} MiB/s median, {spread(rate[name])} over"
            f" {len(rate[name])} rounds"
            for name in rate
        )
        + f"; per-round time ratio pgBackRest / pg_basebackup {spread(per_round)}; the largest"
        f" file is {largest:.0f} MiB (the documents' TOAST): pgBackRest shares work out by"
        " file, so one of its two processes compresses that file alone",
        "pgBackRest = `ci-db-backup backup --type full` (image defaults: compress-type=zst level"
        " 1, repo bundles and block incremental, process-max=2, start-fast, then expire with"
        " retention-full=2);"
        " pg_basebackup = `pg_basebackup -h /var/run/postgresql -D DIR -c fast` as the postgres"
        " OS user inside the same container, plain format with -X stream (its default form),"
        " and as a zstd:1 compressed tar (-Ft -X stream --compress=client-zstd:1); each writes to"
        " a volume on the same disk; times are `docker exec` wall time; the contenders' order"
        f" rotates every round; 1-minute load average after each round {spread(loads)} on"
        f" {os.cpu_count()} cores",
    ]
    return metrics, notes


def restore_findings(
    small: Restores, big: Restores, small_mib: float, big_mib: float
) -> tuple[list[Metric], list[str]]:
    med = statistics.median
    metric = Metric(
        f"restore time, {big_mib:.0f} vs {small_mib:.0f} MiB",
        med(big.wall),
        med(small.wall),
        "s",
        better=NEITHER,
    )
    note = (
        "restore: ci-db-backup restore of the latest full backup (taken just before) into a"
        " fresh volume, recovery to the end of the archive, promotion and a clean stop, timed"
        f" from the host around `cidb.backup.restore`; {small_mib:.0f} MiB: {spread(small.wall)}"
        f" s, {big_mib:.0f} MiB: {spread(big.wall)} s over {len(big.wall)} alternating rounds;"
        f" size ratio {big_mib / small_mib:.2f}, time ratio {med(big.wall) / med(small.wall):.2f};"
        f" of which pgBackRest's restore step (files only, by its log): {med(small.files):.1f} s"
        f" and {med(big.files):.1f} s median, the rest is the restore container's start,"
        " recovery, promotion and the clean stop"
    )
    return [metric], [note]


def run(settings: Settings, quick: bool = False) -> Result:
    del settings  # starts its own databases
    image = db_image()
    small_rows, big_rows = (300, 1_500) if quick else (15_000, 60_000)
    backup_rounds, restore_rounds = (1, 1) if quick else (5, 3)
    step(f"starting two databases archiving to repositories of their own ({image})")
    small = start_primary(image)
    big = start_primary(image, extra_mounts=[BASEBACKUP_MOUNT])
    try:
        for primary, rows in ((small, small_rows), (big, big_rows)):
            primary.db.wait_ready()
            create_documents(primary.db)
            step(f"{primary.db.name}: {rows} documents (text + 1024-dim vector)")
            fill(primary.db, 1, rows)
        taken, loads = throughput(big, backup_rounds)
        big_mib, largest_mib = cluster_mib(big.db), largest_file_mib(big.db)
        small_restores, big_restores = restores(small, big, restore_rounds)
        small_mib = cluster_mib(small.db)
    finally:
        small.remove()
        big.remove()
    losses = recovery_point.measure(image, quick=quick)

    result = Result(
        "backup",
        "pgBackRest (zst 1, bundles, 2 processes) / the bigger DB / measured loss",
        "pg_basebackup / the smaller DB / archive_timeout",
    )
    for metrics, notes in (
        throughput_findings(taken, loads, big_mib, largest_mib),
        restore_findings(small_restores, big_restores, small_mib, big_mib),
        (recovery_point.metrics(losses), recovery_point.notes(losses)),
    ):
        result.metrics += metrics
        result.notes += notes
    return result
