"""HA (compose.ha.yaml): failover drills, synchronous vs asynchronous commits, reads on the
replicas vs the leader. Runs against CI_DB_HA_PROJECT when set (a running compose.ha.yaml
project), else brings up its own on ephemeral ports and removes it, volumes included."""

from __future__ import annotations

import os
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from cidb import ha_load
from cidb.bench.core import HIGHER, LOWER, Metric, Result, step
from cidb.compose import project_dir
from cidb.ha import HaStack, throwaway_env
from cidb.names import ha_images, pooler_image

# Writers and readers at once: enough to keep 2 cores busy without queueing in PgBouncer.
CLIENTS = 4
FAILOVER_BOUND_S = 30.0


@contextmanager
def ha_stack() -> Iterator[HaStack]:
    existing = os.environ.get("CI_DB_HA_PROJECT")
    if existing:
        yield HaStack(project_dir(), existing)
        return
    env = throwaway_env(ha_images(), pooler_image())
    stack = HaStack(project_dir(), f"cidb-bench-ha-{uuid.uuid4().hex[:8]}", env)
    step(f"bringing up compose.ha.yaml as {stack.project}")
    try:
        stack.compose("up", "-d", "--wait")(timeout=900)
        yield stack
    finally:
        stack.compose("down", "-v", "-t", "10").run(retcode=None, timeout=300)


def set_sync(stack: HaStack, on: bool) -> None:
    """synchronous_mode on or off, and wait until the leader reports it applied."""
    stack.set_synchronous(on)
    want = 1 if on else 0

    def applied() -> bool:
        leader = stack.leader()
        return leader is not None and stack.superuser_sql(
            leader, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
        ) == str(want)

    stack.wait_members(lambda _: applied(), 120, f"synchronous_mode={on}")


def commit_rate(conninfo: str, seconds: float) -> float:
    """Acknowledged commits per second of CLIENTS writers."""
    writers = [ha_load.Writer(conninfo) for _ in range(CLIENTS)]
    for w in writers:
        w.start()
    writers[0].stop.wait(seconds)
    return sum(len(w.finish()) for w in writers) / seconds


def run(settings: object, quick: bool = False) -> Result:
    del settings  # its own cluster (or CI_DB_HA_PROJECT's)
    drills, rounds, seconds = (1, 1, 2.0) if quick else (5, 3, 15.0)
    result = Result("ha", "HA stack", "baseline named per metric")
    with ha_stack() as stack:
        leader = stack.leader()
        assert leader is not None
        stack.superuser_sql(leader, ha_load.PROBE_DDL)
        writes = stack.settings().conninfo("ci_app", pooled=True, connect_timeout=5)
        reads = stack.settings(read_only=True).conninfo("ci_app", pooled=True, connect_timeout=5)
        leader_reads = stack.settings().conninfo("ci_app", pooled=True, connect_timeout=5)
        was_sync = stack.synchronous()
        set_sync(stack, True)
        kills = []
        for index in range(drills):
            step(f"failover drill {index + 1}/{drills}: SIGKILL of the leader under load")
            kills.append(ha_load.kill_leader(stack, writes))
        step("planned switchover under load")
        over = ha_load.switchover(stack, writes)
        sync_rates, async_rates, ro_rates, rw_rates = [], [], [], []
        for index in range(rounds):
            step(f"round {index + 1}/{rounds}: commits sync vs async, reads replicas vs leader")
            set_sync(stack, True)
            sync_rates.append(commit_rate(writes, seconds))
            set_sync(stack, False)
            async_rates.append(commit_rate(writes, seconds))
            ro_rates.append(ha_load.read_rate(reads, CLIENTS, seconds))
            rw_rates.append(ha_load.read_rate(leader_reads, CLIENTS, seconds))
        set_sync(stack, was_sync)
    times = sorted(d.resumed_s for d in kills)
    acked = sum(d.acked for d in kills) + over.acked
    lost = sum(len(d.lost) for d in kills) + len(over.lost)
    result.metrics += [
        Metric(
            "failover: writes resume, min vs 30 s", times[0], FAILOVER_BOUND_S, "s", better=LOWER
        ),
        Metric(
            "failover: writes resume, median vs 30 s",
            statistics.median(times),
            FAILOVER_BOUND_S,
            "s",
            better=LOWER,
        ),
        Metric(
            "failover: writes resume, max vs 30 s", times[-1], FAILOVER_BOUND_S, "s", better=LOWER
        ),
        Metric(
            "switchover pause vs failover median",
            over.longest_pause_s,
            statistics.median(times),
            "s",
            better=LOWER,
        ),
        Metric("acked commits lost vs acked (sync)", lost, acked, "commits", better=LOWER),
        Metric(
            "commits/s sync vs async",
            statistics.median(sync_rates),
            statistics.median(async_rates),
            "1/s",
            better=HIGHER,
        ),
        Metric(
            "reads/s contextinject_ro vs leader",
            statistics.median(ro_rates),
            statistics.median(rw_rates),
            "1/s",
            better=HIGHER,
        ),
    ]
    result.notes += [
        f"{drills} SIGKILL drills of the leader while one client commits through PgBouncer"
        " (synchronous mode); resume = SIGKILL to the first acknowledged commit after it;"
        " lost = acknowledged ids missing afterwards (drills and switchover together)",
        f"commits: {CLIENTS} clients, autocommit INSERTs through PgBouncer, {seconds:.0f} s per"
        f" side per round; reads: {CLIENTS} clients, a small indexed count",
        "reads: two replicas behind contextinject_ro vs the leader alone, all on one 2-core"
        " machine: the replicas share the leader's cores, so this shows the routing's cost, not"
        " scaling; real read scaling needs replicas on their own hosts",
    ]
    return result
