"""Load for HA drills (tests/test_ha.py, `cidb bench ha`): a writer that records every
acknowledged commit, the check that none was lost, and read throughput."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from plumbum import local

from cidb.containers import wait_until
from cidb.ha import HaStack

# The drills' table: ci_app inserts ids and reads them back; made by the superuser.
PROBE_DDL = (
    "CREATE TABLE IF NOT EXISTS public.ha_probe (id bigint PRIMARY KEY, at timestamptz DEFAULT"
    " now()); GRANT SELECT, INSERT ON public.ha_probe TO ci_app"
)
# Ids for every Writer of the process: unique across writers, so none collides with another's.
_IDS = itertools.count(int(time.time() * 1000) * 1000)


@dataclass(eq=False)
class Writer(threading.Thread):
    """Inserts new ids into ha_probe through one connection string, one autocommit INSERT
    each; records an id only once its COMMIT was acknowledged, and when."""

    conninfo: str
    acked: list[int] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)

    def run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        while not self.stop.is_set():
            next_id = next(_IDS)
            try:
                if conn is None:
                    conn = psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=None)
                conn.execute("INSERT INTO public.ha_probe (id) VALUES (%s)", (next_id,))
            except psycopg.Error as exc:
                self.errors += 1
                self.last_error = str(exc)
                if conn is not None:
                    conn.close()
                conn = None
                self.stop.wait(0.2)  # back off between reconnects while no leader serves
                continue
            self.acked.append(next_id)
            self.ack_times.append(time.monotonic())
        if conn is not None:
            conn.close()

    def acks_after(self, moment: float) -> int:
        return sum(1 for t in list(self.ack_times) if t > moment)

    def first_ack_after(self, moment: float) -> float | None:
        return next((t for t in list(self.ack_times) if t > moment), None)

    def longest_pause(self) -> float:
        return max((b - a for a, b in itertools.pairwise(list(self.ack_times))), default=0.0)

    def finish(self) -> list[int]:
        self.stop.set()
        self.join(timeout=30)
        return list(self.acked)


def missing_ids(conninfo: str, acked: list[int]) -> list[int]:
    """Acknowledged ids the database does not have."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a FROM unnest(%s::bigint[]) AS a EXCEPT SELECT id FROM public.ha_probe",
            (acked,),
        ).fetchall()
    return sorted(int(str(r[0])) for r in rows)


def read_rate(conninfo: str, clients: int, seconds: float) -> float:
    """Queries per second of CLIENTS threads, each a connection running a small indexed read."""
    counts = [0] * clients
    deadline = time.monotonic() + seconds

    def reader(index: int) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while time.monotonic() < deadline:
                conn.execute("SELECT count(*) FROM public.ha_probe WHERE id > 0 AND id < 1000")
                counts[index] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


@dataclass(frozen=True)
class Drill:
    """What one drill measured: the old leader, when writes resumed after the act (SIGKILL,
    switchover request) had returned, the longest gap between two commits, the commits, the
    lost ones."""

    old_leader: str
    resumed_s: float
    longest_pause_s: float
    acked: int
    lost: list[int]
    errors: int


def _loaded(stack: HaStack, conninfo: str, act: Callable[[str], object], timeout: float) -> Drill:
    """ACT(leader) while a Writer commits through CONNINFO; until 20 commits after ACT."""
    stack.wait_healthy_topology()
    old = stack.leader()
    if old is None:
        raise RuntimeError("no leader")
    writer = Writer(conninfo)
    writer.start()
    wait_until(
        lambda: len(writer.acked) >= 20,
        60,
        lambda: f"no writes before the drill: {writer.errors} errors, last: {writer.last_error}",
    )
    act(old)
    # From when the act returned: a commit in flight while `docker kill` ran is not a resume.
    acted = time.monotonic()
    wait_until(
        lambda: writer.acks_after(acted) >= 20,
        timeout,
        lambda: f"writes did not resume: {writer.errors} errors, last: {writer.last_error}",
    )
    acked = writer.finish()
    first = writer.first_ack_after(acted)
    assert first is not None
    lost = missing_ids(conninfo, acked)
    return Drill(old, first - acted, writer.longest_pause(), len(acked), lost, writer.errors)


def kill_leader(stack: HaStack, conninfo: str, timeout: float = 120) -> Drill:
    """SIGKILL the leader's container under load; the old leader is started again and the
    drill waits until it streams as a replica."""
    drill = _loaded(
        stack,
        conninfo,
        lambda old: local["docker"]("kill", "--signal", "KILL", stack.container(old)),
        timeout,
    )
    local["docker"]["start", stack.container(drill.old_leader)].run(retcode=None)
    stack.wait_healthy_topology(timeout=300)
    return drill


def switchover(stack: HaStack, conninfo: str, timeout: float = 120) -> Drill:
    """A planned switchover under load (`cidb ha switchover`)."""
    drill = _loaded(stack, conninfo, lambda old: stack.switchover(), timeout)
    stack.wait_healthy_topology(timeout=300)
    return drill
