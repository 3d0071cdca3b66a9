"""The recovery point, measured: a writer commits rows on a primary archiving with
archive_timeout; the primary is SIGKILLed and its container and data volume removed; the latest
backup is restored from the repository alone into a new volume and served; the acknowledged
commits the restored server lacks are what was lost."""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field

import psycopg

from cidb import backup
from cidb.bench.archiving import (
    LABEL,
    PGDATA,
    PREFIX,
    SCHEMA,
    Primary,
    stand_in,
    start_primary,
)
from cidb.bench.core import LOWER, Metric, step
from cidb.containers import Container, create_volume, docker, remove_volume, run_container
from cidb.names import DATABASE

COMMITS = f"{SCHEMA}.commits"
# The writer's pause between commits: about a hundred a second, a steady trickle that leaves
# the machine's two cores to the server and the archiver.
PACE = 0.01
# Whatever a lost connection does, the writer notices within seconds (libpq, milliseconds).
TCP_USER_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class Loss:
    """One round: what the writer had acknowledged, and what the restored server holds."""

    archive_timeout: float
    writer_seconds: float
    acknowledged: int
    lost_commits: int
    lost_seconds: float
    restore_seconds: float
    recovery_time: str  # the restored server's last replayed commit, by the server's clock
    complete: bool  # every acknowledged id up to the last restored one is there


@dataclass
class Writer:
    """Commits one row at a time in a thread, recording each acknowledged id and the client's
    clock when the acknowledgement arrived."""

    port: int
    password: str
    acknowledged: list[tuple[int, float]] = field(default_factory=list)
    error: BaseException | None = None
    failed_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                dbname=DATABASE,
                user="ci_migrator",
                password=self.password,
                autocommit=True,
                connect_timeout=10,
                tcp_user_timeout=TCP_USER_TIMEOUT_MS,
            ) as conn:
                next_id = 1
                while not self._stop.is_set():
                    conn.execute(f"INSERT INTO {COMMITS} (id) VALUES (%s)", (next_id,))
                    self.acknowledged.append((next_id, time.time()))
                    next_id += 1
                    time.sleep(PACE)
        except psycopg.Error as error:  # the kill ends it so; stop() tells the two apart
            self.error, self.failed_at = error, time.time()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < 3:
            if self.error is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the writer did not start committing: {self.error}")
            time.sleep(0.05)

    def join(self, kill_sent_at: float) -> None:
        """After the kill: the writer's connection has failed (or it is told to stop)."""
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        if self.error is not None and self.failed_at < kill_sent_at:
            raise RuntimeError(f"the writer failed before the kill: {self.error}")


def prepare(db: Container) -> float:
    """The commits table and its row 0, committed before the backup; the client's clock then.
    The writer logs in as ci_migrator, whose sessions act as ci_owner (role = ci_owner)."""
    db.psql(
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA};"
        f" CREATE TABLE {COMMITS} (id bigint PRIMARY KEY,"
        " at timestamptz NOT NULL DEFAULT clock_timestamp());"
        f" GRANT USAGE ON SCHEMA {SCHEMA} TO ci_owner;"
        f" GRANT INSERT ON {COMMITS} TO ci_owner;"
        f" INSERT INTO {COMMITS} (id) VALUES (0)"
    )
    return time.time()


def serve(image: str, volume: str) -> Container:
    """The image started on a restored volume (no repository: it does not archive)."""
    env = {"POSTGRES_PASSWORD": uuid.uuid4().hex, "CI_MIGRATOR_PASSWORD": uuid.uuid4().hex}
    server = run_container(
        image, env=env, prefix=PREFIX, label=LABEL, volumes=[f"{volume}:{PGDATA}"],
        extra=["--shm-size", "1g"],
    )  # fmt: skip
    server.wait_ready()
    return server


def lose_and_restore(primary: Primary, volume: str) -> tuple[float, backup.RestoreResult]:
    """SIGKILL is done; now the container and its data volume go, and the latest backup is
    restored into VOLUME from the repository alone (through a never-started stand-in)."""
    primary.db.remove()
    host = stand_in(primary)
    try:
        start = time.perf_counter()
        result = backup.restore(host.name, volume, archive=False)
        return time.perf_counter() - start, result
    finally:
        host.remove()


def one_round(image: str, archive_timeout: int, writer_seconds: float) -> Loss:
    primary = start_primary(image, f"{archive_timeout}s")
    volume = create_volume(f"{PREFIX}-restore", label=LABEL)
    server: Container | None = None
    try:
        primary.db.wait_ready()
        row_zero_at = prepare(primary.db)
        backup.take_backup(primary.db.name, "full")
        writer = Writer(primary.db.port(5432), primary.env["CI_MIGRATOR_PASSWORD"])
        writer.start()
        time.sleep(writer_seconds)
        kill_sent_at = time.time()
        docker("kill", "-s", "KILL", primary.db.name)
        writer.join(kill_sent_at)
        restore_seconds, result = lose_and_restore(primary, volume)
        server = serve(image, volume)
        last, count = server.psql(f"SELECT max(id), count(*) FROM {COMMITS}").split("|")
    finally:
        if server is not None:
            server.remove()
        remove_volume(volume)
        primary.remove()
    acked = dict(writer.acknowledged)
    acked[0] = row_zero_at
    last_acked, last_acked_at = writer.acknowledged[-1]
    restored = int(last)
    # A commit that reached the WAL but whose acknowledgement the kill cut off may be
    # restored: it was never acknowledged, so it is not counted, either way.
    lost = max(0, last_acked - restored)
    return Loss(
        archive_timeout=archive_timeout,
        writer_seconds=writer_seconds,
        acknowledged=len(writer.acknowledged),
        lost_commits=lost,
        lost_seconds=last_acked_at - acked[restored] if lost else 0.0,
        restore_seconds=restore_seconds,
        recovery_time=result.recovery_point.get("time", "?"),
        complete=int(count) == restored + 1,
    )


def writer_spans(archive_timeout: int, rounds: int, first: float) -> list[float]:
    """How long the writer runs in each round: FIRST to FIRST + 1 archive_timeouts, one random
    point (seeded: the same every run) in each of ROUNDS equal slices, so the kills fall across
    the archiver's whole cycle instead of wherever chance puts them."""
    rng = random.Random(13)
    return [archive_timeout * (first + (index + rng.random()) / rounds) for index in range(rounds)]


def measure(image: str, *, quick: bool) -> list[Loss]:
    """Rounds of write, kill, lose, restore (cidb.bench.backup prints the figures)."""
    archive_timeout, rounds, first = (5, 1, 1.0) if quick else (10, 3, 2.0)
    losses = []
    for index, writer_seconds in enumerate(writer_spans(archive_timeout, rounds, first)):
        step(
            f"recovery point round {index + 1}/{rounds}: writer for {writer_seconds:.1f} s,"
            f" archive_timeout {archive_timeout} s, then SIGKILL and the volume lost"
        )
        loss = one_round(image, archive_timeout, writer_seconds)
        step(
            f"recovery point round {index + 1}/{rounds}: lost {loss.lost_commits} of"
            f" {loss.acknowledged} acknowledged commits, {loss.lost_seconds:.2f} s"
            f" (restore {loss.restore_seconds:.1f} s)"
        )
        losses.append(loss)
    return losses


def metrics(losses: list[Loss]) -> list[Metric]:
    bound = losses[0].archive_timeout
    seconds = [loss.lost_seconds for loss in losses]
    per_timeout = statistics.median(
        loss.acknowledged / loss.writer_seconds * loss.archive_timeout for loss in losses
    )
    return [
        Metric("acknowledged commits lost, median vs archive_timeout", statistics.median(seconds),
               bound, "s", better=LOWER),
        Metric("acknowledged commits lost, worst vs archive_timeout", max(seconds), bound, "s",
               better=LOWER),
        Metric("commits lost, median vs commits per archive_timeout",
               statistics.median(loss.lost_commits for loss in losses), per_timeout, "commits",
               better=LOWER),
    ]  # fmt: skip


def notes(losses: list[Loss]) -> list[str]:
    rounds = "; ".join(
        f"writer {loss.writer_seconds:.1f} s, {loss.acknowledged} acknowledged, lost"
        f" {loss.lost_commits} = {loss.lost_seconds:.2f} s, restore {loss.restore_seconds:.1f} s,"
        f" recovered to {loss.recovery_time}"
        for loss in losses
    )
    complete = all(loss.complete for loss in losses)
    return [
        f"recovery point: CI_DB_ARCHIVE_TIMEOUT={losses[0].archive_timeout:.0f}s (the bound);"
        " one writer commits one row at a time (autocommit, ~100/s, over TCP) and records each"
        " acknowledged id with the client's clock; after a random"
        f" {min(loss.writer_seconds for loss in losses):.1f}-"
        f"{max(loss.writer_seconds for loss in losses):.1f} s (a seeded point in each equal slice"
        " of one archive_timeout, so the kills fall across the archiver's cycle)"
        " `docker kill -s KILL`, then the container and its data volume are removed; the latest"
        " full backup (taken before the writer started) is restored to the end of the archive"
        " from the repository alone (a never-started container with the same settings lends"
        " them), the image is started on the new volume, and loss = last acknowledged commit's"
        " time minus the last restored commit's acknowledgement time (client clock both);"
        f" rounds: {rounds}; every acknowledged commit up to the last restored one was restored:"
        f" {'yes' if complete else 'NO'}",
    ]
