"""High availability (compose.ha.yaml): real etcd, Patroni, HAProxy and PgBouncer.

One cluster for the module, in synchronous mode; the tests run in file order and each leaves it
with a leader and two streaming replicas for the next. The password rotations come last: they
leave the members with other passwords than compose.ha.yaml's (and the fixture's) defaults.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from support.bench import check_quick_run
from support.cli import cidb
from support.docker import DOCKER, docker, wait_until
from support.tenantdata import TABLES, make_tenant, tenant_column

from cidb import ha_load
from cidb.devstack import parse_dev_passwords
from cidb.ha import MEMBERS, HaStack
from cidb.ha_load import PROBE_DDL

pytestmark = pytest.mark.ha

# The bound: writes resume through the same connection string within 30 s of the
# leader's death (Patroni ttl 20 s + loop_wait 3 s + promotion + HAProxy's 1 s check).
FAILOVER_BOUND_S = 30
# Patroni's ttl in docker/ha.sh (bootstrap.dcs).
ETCD_TTL_S = 20
ROOT = Path(__file__).resolve().parent.parent


HA_ENV = {
    "POSTGRES_PASSWORD": "x",
    "CI_REPLICATOR_PASSWORD": "r",
    "CI_REWIND_PASSWORD": "w",
    "CI_DB_HA_API_PASSWORD": "a",
    "CI_DB_HA_ETCD_HOSTS": "etcd1:2379",
}
REFUSALS = [
    (
        "db",
        {"CI_DB_HA": "patroni", "POSTGRES_PASSWORD": "x"},
        "only CI_DB_HA=patroni exists, in the image ci-db:17-ha",
    ),
    ("ha", {**HA_ENV, "CI_REPLICATOR_PASSWORD": ""}, "needs CI_REPLICATOR_PASSWORD"),
    ("ha", {**HA_ENV, "CI_DB_HA_ETCD_HOSTS": ""}, "needs CI_DB_HA_ETCD_HOSTS"),
    ("ha", {**HA_ENV, "CI_DB_HA_SYNC": "maybe"}, "CI_DB_HA_SYNC='maybe' must be on or off"),
    ("ha", {**HA_ENV, "CI_DB_TLS_CERT": "x"}, "CI_DB_TLS_CERT is not supported"),
    ("ha", {**HA_ENV, "PGBACKREST_REPO1_TYPE": "posix"}, "PGBACKREST_REPO1_TYPE is not supported"),
]


REFUSAL_IDS = ["plain-image", "no-replicator", "no-etcd", "bad-sync", "tls", "pgbackrest"]


@pytest.mark.parametrize(("image", "env", "message"), REFUSALS, ids=REFUSAL_IDS)
def test_ha_mode_refuses_bad_input_before_starting(
    ha_images_built: dict[str, str],
    images: dict[str, str],
    image: str,
    env: dict[str, str],
    message: str,
) -> None:
    """Wrong or missing HA settings stop the container with one line, before Patroni starts."""
    tag = ha_images_built["ha"] if image == "ha" else images["db"]
    args = [a for k in env for a in ("-e", k)]
    code, _out, err = (
        DOCKER["run", "--rm", *args, tag].with_env(**env).run(retcode=None, timeout=120)
    )
    assert code == 1 and message in err, err


@pytest.fixture(scope="module")
def probe(ha_cluster: HaStack) -> HaStack:
    """ha_probe, a table ci_app may insert into and read (created by the superuser)."""
    leader = ha_cluster.leader()
    assert leader
    ha_cluster.superuser_sql(leader, PROBE_DDL)
    return ha_cluster


def pooled(stack: HaStack, role: str = "ci_app", *, read_only: bool = False) -> str:
    """ROLE's connection string through PgBouncer: contextinject, or contextinject_ro."""
    return stack.settings(read_only=read_only).conninfo(role, pooled=True, connect_timeout=5)


def test_cluster_has_a_leader_and_two_streaming_replicas(ha_cluster: HaStack) -> None:
    """`compose up --wait` gave one leader, two streaming replicas, one of them synchronous."""
    members = ha_cluster.wait_healthy_topology()
    assert {m.name for m in members} == {"db1", "db2", "db3"}
    out = cidb()("ha", "-p", ha_cluster.project, "status", timeout=60)
    assert "Leader" in out and out.count("streaming") == 2
    assert ha_cluster.synchronous()
    leader = ha_cluster.leader()
    assert leader
    standbys = ha_cluster.superuser_sql(
        leader, "SELECT string_agg(sync_state, ',' ORDER BY sync_state) FROM pg_stat_replication"
    )
    assert standbys == "async,sync"


def test_schema_is_deployed_once_by_the_leader(ha_cluster: HaStack) -> None:
    """The Sqitch plan is deployed (by the bootstrap hook) and each change has one registry row,
    on the leader and, replayed, on every replica."""
    counts = {
        m.name: ha_cluster.superuser_sql(
            m.name, "SELECT count(*) || ',' || count(DISTINCT change_id) FROM sqitch.changes"
        )
        for m in ha_cluster.wait_healthy_topology()
    }
    total, distinct = next(iter(counts.values())).split(",")
    assert int(total) > 0 and total == distinct
    assert len(set(counts.values())) == 1, counts


def test_partition_maintenance_is_scheduled_in_the_application_database(
    ha_cluster: HaStack,
) -> None:
    """Patroni starts PostgreSQL with pg_cron's database set to contextinject, so the leader's
    bootstrap scheduled pg_partman's maintenance there, once (replicas replay the job, and pg_cron
    runs nothing during recovery)."""
    leader = ha_cluster.leader()
    assert leader
    assert ha_cluster.superuser_sql(leader, "SHOW cron.database_name") == "contextinject"
    jobs = ha_cluster.superuser_sql(
        leader,
        "SELECT count(*) || ',' || min(username) FROM cron.job WHERE database = 'contextinject'",
    )
    assert jobs == "1,ci_partman"


def test_only_the_replication_role_may_replicate(ha_cluster: HaStack) -> None:
    """pg_hba admits replication for ci_replicator only; no other non-superuser has REPLICATION;
    the superuser is still refused over TCP (HAProxy's write port, straight to the leader)."""
    leader = ha_cluster.leader()
    assert leader
    rules = ha_cluster.superuser_sql(
        leader,
        "SELECT string_agg(DISTINCT array_to_string(user_name, ','), ';') FROM pg_hba_file_rules"
        " WHERE 'replication' = ANY(database) AND auth_method <> 'reject'",
    )
    assert rules == "ci_replicator"
    replicators = ha_cluster.superuser_sql(
        leader,
        "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolreplication AND NOT rolsuper",
    )
    assert replicators == "ci_replicator"
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
        psycopg.connect(
            host="127.0.0.1",
            port=ha_cluster.port("haproxy", 5000),
            dbname="contextinject",
            user="postgres",
            password="dev-postgres-password",
            connect_timeout=5,
        ).close()


def test_reads_through_contextinject_ro_see_a_commit_on_a_replica(probe: HaStack) -> None:
    """A row committed through contextinject is visible through contextinject_ro, which is
    served by a replica (in recovery), within a bounded wait."""
    with psycopg.connect(pooled(probe), autocommit=True) as conn:
        conn.execute("INSERT INTO public.ha_probe (id) VALUES (-1)")
    with psycopg.connect(pooled(probe, read_only=True), autocommit=True) as ro:
        assert ro.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        lag = wait_until(
            lambda: (
                ro.execute("SELECT count(*) FROM public.ha_probe WHERE id = -1").fetchone() == (1,)
            ),
            30,
            lambda: "the row never reached the replica behind contextinject_ro",
            interval=0.05,
        )
        with pytest.raises(errors.ReadOnlySqlTransaction):
            ro.execute("INSERT INTO public.ha_probe (id) VALUES (-2)")
    print(f"\nreplica read-your-write lag observed: {lag:.3f} s")


@pytest.fixture(scope="module")
def tenants(ha_cluster: HaStack) -> dict[str, dict[str, Any]]:
    """Tenants A and B with one row in every table, written on the leader as ci_admin."""
    with psycopg.connect(pooled(ha_cluster, "ci_admin"), autocommit=True) as admin:
        return {"a": make_tenant(admin), "b": make_tenant(admin)}


ROLES = ["ci_app", "ci_readonly"]


@pytest.mark.parametrize("role", ROLES)
def test_rls_isolation_matrix_holds_on_a_replica(
    ha_cluster: HaStack, tenants: dict[str, dict[str, Any]], role: str
) -> None:
    """Through contextinject_ro, for every table: tenant A sees only A's rows and never B's;
    no tenant sees nothing."""
    a, b = tenants["a"], tenants["b"]
    with psycopg.connect(pooled(ha_cluster, role, read_only=True)) as ro:
        assert ro.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        ro.commit()
        for table in TABLES:
            query = sql.SQL("SELECT {}, id FROM public.{}").format(
                sql.Identifier(tenant_column(table)), sql.Identifier(table)
            )

            def rows_as(tenant: Any, query: sql.Composed = query) -> list[tuple[Any, Any]]:
                if tenant is not None:
                    ro.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
                found = ro.execute(query).fetchall()
                ro.commit()
                return found

            wait_until(
                lambda table=table: any(r[1] == b[table] for r in rows_as(b["tenants"])),
                30,
                lambda table=table: f"{table}: B's row never reached the replica",
                interval=0.1,
            )
            seen = rows_as(a["tenants"])
            assert {owner for owner, _ in seen} == {a["tenants"]}, table
            assert b[table] not in {row_id for _, row_id in seen}, table
            assert rows_as(None) == [], table


def test_switchover_under_load_loses_no_acknowledged_commit(probe: HaStack) -> None:
    """A planned switchover while a client commits through PgBouncer: the writes pause, resume
    through the same connection string, and every acknowledged id is on the new leader."""
    drill = ha_load.switchover(probe, pooled(probe))
    print(
        f"\nswitchover from {drill.old_leader}: longest write pause"
        f" {drill.longest_pause_s:.2f} s, {drill.acked} acknowledged, {drill.errors} failed"
    )
    assert drill.lost == []
    assert probe.leader() != drill.old_leader


def test_killed_leader_fails_over_and_loses_no_acknowledged_commit(probe: HaStack) -> None:
    """SIGKILL of the leader's container while a client commits through PgBouncer (synchronous
    mode): writes resume through the same connection string within 30 s, no acknowledged id is
    lost, and the old leader, started again, rejoins as a streaming replica."""
    assert probe.synchronous()
    drill = ha_load.kill_leader(probe, pooled(probe))
    print(
        f"\nfailover: writes resumed {drill.resumed_s:.1f} s after SIGKILL of"
        f" {drill.old_leader} (longest pause {drill.longest_pause_s:.1f} s);"
        f" {drill.acked} acknowledged, {drill.errors} failed attempts"
    )
    assert drill.lost == []
    assert drill.resumed_s <= FAILOVER_BOUND_S
    members = probe.wait_healthy_topology()
    assert next(m for m in members if m.name == drill.old_leader).is_streaming_replica


def test_leader_keeps_serving_when_etcd_loses_quorum(probe: HaStack) -> None:
    """Two of three etcd members stopped: with failsafe_mode the leader, which still reaches
    every member, keeps its role and takes commits well past the leader key's ttl (20 s); no
    acknowledged commit is lost; etcd back, the cluster is whole again."""
    leader = probe.wait_healthy_topology() and probe.leader()
    assert leader
    writer = ha_load.Writer(pooled(probe))
    writer.start()
    try:
        wait_until(lambda: len(writer.acked) >= 20, 60, lambda: f"no writes: {writer.last_error}")
        docker("stop", "-t", "5", probe.container("etcd2"), probe.container("etcd3"))
        lost_quorum = time.monotonic()
        # Past twice the ttl: without failsafe_mode the leader would have demoted itself by now.
        wait_until(
            lambda: writer.acks_after(lost_quorum + 2 * ETCD_TTL_S) >= 20,
            4 * ETCD_TTL_S + 60,
            lambda: f"writes stopped without etcd quorum: {writer.last_error}",
        )
        assert probe.superuser_sql(leader, "SELECT pg_is_in_recovery()") == "f"
    finally:
        acked = writer.finish()
        docker("start", probe.container("etcd2"), probe.container("etcd3"))
    assert ha_load.missing_ids(pooled(probe), acked) == []
    probe.wait_healthy_topology(timeout=300)
    assert probe.leader() == leader


def test_bench_ha_quick_reports_numeric_ratios(probe: HaStack, tmp_path: Path) -> None:
    """`cidb bench ha --quick` on this cluster: a failover drill, a switchover, sync vs async
    commits and replica vs leader reads, each a numeric ratio in report.md."""
    env = {
        "CI_DB_HA_PROJECT": probe.project,
        "CI_DB_PORT": str(probe.port("haproxy", 5000)),
        "CI_DB_POOL_PORT": str(probe.port("pgbouncer", 6432)),
    }
    out = cidb()["bench", "ha", "--quick", "--out", str(tmp_path)].with_env(**env)(timeout=1200)
    print(out)
    check_quick_run(out, tmp_path, "ha")
    assert probe.synchronous()


def test_no_secret_in_patroni_or_postgres_environment_or_logs(ha_cluster: HaStack) -> None:
    """Patroni and PostgreSQL run without the passwords in their environment; Patroni's config
    and the roles' passwords for its callback (which must hold some) are private to uid 999; no
    password appears in any member's log."""
    leader = ha_cluster.leader()
    assert leader
    container = ha_cluster.container(leader)
    found = docker(
        "exec",
        container,
        "bash",
        "-c",
        "for p in /proc/[0-9]*; do case $(cat $p/comm 2>/dev/null) in patroni|postgres|tini)"
        " tr '\\0' '\\n' <$p/environ | grep -c '_PASSWORD=' || true;; esac; done",
    ).split()
    assert found and set(found) == {"0"}
    modes = docker(
        "exec",
        container,
        "stat",
        "-c",
        "%a",
        "/var/lib/postgresql/ha",
        "/var/lib/postgresql/ha/patroni.yml",
        "/var/lib/postgresql/ha/roles.env",
    ).split()
    assert modes == ["700", "600", "600"]
    passwords = parse_dev_passwords((ROOT / "compose.ha.yaml").read_text()).values()
    logs = ha_cluster.compose("logs", "--no-color").run(retcode=None, timeout=120)[1]
    assert [p for p in passwords if p in logs] == []


def test_replica_whose_volume_is_lost_comes_back_by_itself(probe: HaStack) -> None:
    """A replica recreated on an empty volume is rebuilt from the leader by Patroni
    (pg_basebackup) and streams again, with the rows it never had."""
    probe.wait_healthy_topology()
    leader = probe.leader()
    replica = next(m for m in ("db1", "db2", "db3") if m != leader)
    project = probe.project
    probe.compose("rm", "-s", "-f", "-v", replica).run(timeout=120)
    docker("volume", "rm", f"{project}_pgdata{replica[-1]}")
    probe.compose("up", "-d", "--no-deps", replica).run(timeout=120)
    members = probe.wait_healthy_topology(timeout=300)
    assert any(m.name == replica and m.is_streaming_replica for m in members)
    rows = probe.superuser_sql(replica, "SELECT count(*) FROM public.ha_probe")
    assert int(rows) > 0


def login_error(conninfo: str) -> str | None:
    """None if CONNINFO logs in, else the server's (or PgBouncer's) refusal."""
    try:
        psycopg.connect(conninfo).close()
    except psycopg.OperationalError as exc:
        return str(exc)
    return None


def direct(stack: HaStack, role: str) -> str:
    """ROLE's connection string through HAProxy's write port (straight to the leader)."""
    return stack.settings().conninfo(role, connect_timeout=5)


def wait_login(conninfo: str, what: str) -> float:
    """Seconds until CONNINFO logs in (the leader's callback runs asynchronously)."""
    seen: list[str | None] = [None]

    def logs_in() -> bool:
        seen[0] = login_error(conninfo)
        return seen[0] is None

    return wait_until(logs_in, 120, lambda: f"{what} never logged in: {seen[0]}")


def assert_rotated(
    old: HaStack, new: HaStack, role: str, paths: Sequence[Callable[[HaStack, str], str]]
) -> None:
    """Through each of PATHS: NEW's password for ROLE logs in on the leader, OLD's is refused as
    a wrong password."""
    for path in paths:
        waited = wait_login(path(new, role), f"{role}'s rotated password ({path.__name__})")
        print(f"\n{role}'s rotated password logs in ({path.__name__}) after {waited:.1f} s")
        refused = login_error(path(old, role))
        assert refused is not None, f"{role}'s old password still logs in ({path.__name__})"
        assert re.search(r"password authentication failed|SASL authentication failed", refused)


def rotated(stack: HaStack, **passwords: str) -> HaStack:
    """STACK with PASSWORDS (CI_APP_PASSWORD=...) in the environment compose gets."""
    return replace(stack, env={**(stack.env or {}), **passwords})


HA_DIR = "/var/lib/postgresql/ha"
ROLE_CALLBACK = "/usr/local/lib/ci-db/ci-db-ha-on-role"


def test_leader_that_cannot_apply_its_roles_says_so_and_turns_unhealthy(
    ha_cluster: HaStack,
) -> None:
    """The leader's role callback (run as Patroni runs it) without roles.env: it exits non-zero
    with an error naming the file and the member, and the member's healthcheck fails; with the
    file back the next run applies the roles and the healthcheck passes again."""
    leader = ha_cluster.wait_healthy_topology() and ha_cluster.leader()
    assert leader
    container = ha_cluster.container(leader)
    callback = DOCKER["exec", container, ROLE_CALLBACK, "on_role_change", "primary", "ci-db"]
    healthcheck = DOCKER["exec", container, "/usr/local/bin/ci-db-ha-healthcheck"]
    docker("exec", container, "mv", f"{HA_DIR}/roles.env", f"{HA_DIR}/roles.env.away")
    try:
        code, _out, err = callback.run(retcode=None, timeout=120)
        assert code != 0
        assert f"ci-db: error: HA: {HA_DIR}/roles.env is missing" in err
        assert f"on leader {leader}" in err
        code, _out, err = healthcheck.run(retcode=None, timeout=60)
        assert code != 0 and "failed to apply the roles and passwords" in err
    finally:
        docker("exec", container, "mv", f"{HA_DIR}/roles.env.away", f"{HA_DIR}/roles.env")
    code, _out, err = callback.run(retcode=None, timeout=300)
    assert code == 0 and "roles and passwords applied" in err, err
    assert healthcheck.run(retcode=None, timeout=60)[0] == 0


def test_replica_role_callback_writes_nothing(ha_cluster: HaStack) -> None:
    """On a replica the callback returns at once, without connecting (no write is tried)."""
    members = ha_cluster.wait_healthy_topology()
    replica = next(m.name for m in members if m.is_streaming_replica)
    out = docker(
        "exec",
        ha_cluster.container(replica),
        "bash",
        "-c",
        f"{ROLE_CALLBACK} on_role_change replica ci-db 2>&1; echo rc=$?",
    )
    assert out.strip() == "rc=0"


def test_member_promoted_by_switchover_applies_its_own_environment(ha_cluster: HaStack) -> None:
    """CI_READONLY_PASSWORD rotated in one replica's environment only (that container recreated):
    as a replica it writes nothing, the old password still works; switched over to, it applies
    its environment as the leader, so the new password logs in and the old one is refused."""
    ha_cluster.wait_healthy_topology()
    leader = ha_cluster.leader()
    target = next(m for m in MEMBERS if m != leader)
    new = rotated(ha_cluster, CI_READONLY_PASSWORD="rotated-readonly-password-1")
    new.compose("up", "-d", "--no-deps", "--wait", target).run(timeout=600)
    ha_cluster.wait_healthy_topology(timeout=300)
    assert login_error(direct(ha_cluster, "ci_readonly")) is None
    # In synchronous mode Patroni switches over only to the synchronous standby.
    ha_cluster.set_synchronous(False)
    try:
        ha_cluster.switchover(target)
        ha_cluster.wait_members(
            lambda ms: any(m.name == target and m.is_leader and m.state == "running" for m in ms),
            120,
            f"{target} leading",
        )
    finally:
        ha_cluster.set_synchronous(True)
    assert_rotated(ha_cluster, new, "ci_readonly", [direct])
    # The window in which the old password still works: promotion to the callback's end.
    _code, out, err = DOCKER["logs", "-t", ha_cluster.container(target)].run(timeout=60)
    marks = [ln for ln in (out + err).splitlines() if "promote" in ln or "passwords applied" in ln]
    print("", *marks[-4:], sep="\n")
    ha_cluster.wait_healthy_topology(timeout=300)


def test_password_rotated_in_the_environment_applies_when_the_members_are_recreated(
    ha_cluster: HaStack,
) -> None:
    """CI_APP_PASSWORD changed and the members recreated as an operator would (`docker compose
    -f compose.ha.yaml up -d`): whichever member leads applies it, so the new password logs in
    through HAProxy's write port and PgBouncer, the old one is refused, and neither is logged."""
    ha_cluster.wait_healthy_topology()
    new = rotated(ha_cluster, CI_APP_PASSWORD="rotated-app-password-1")
    new.compose("up", "-d", "--wait", *MEMBERS).run(timeout=900)
    new.wait_healthy_topology(timeout=300)
    assert_rotated(ha_cluster, new, "ci_app", [direct, pooled])
    logs = ha_cluster.compose("logs", "--no-color", *MEMBERS).run(retcode=None, timeout=120)[1]
    assert "rotated-app-password-1" not in logs and "dev-app-password" not in logs
    assert "roles and passwords applied" in logs
