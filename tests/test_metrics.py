"""The metrics profile running: pinned exporter and Prometheus versions, loopback-only ports,
the exporters logged in as ci_monitor, and alerts that fire on real faults and clear after."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fixtures_images import ROOT
from fixtures_metrics import RULES, fast_rules, install_rules
from fixtures_stack import Stack
from support.docker import wait_until
from support.prometheus import Prometheus

pytestmark = pytest.mark.slow

# Dockerfile target -> (Debian package, the ARG that pins it).
PACKAGES = {
    "postgres-exporter": ("prometheus-postgres-exporter", "POSTGRES_EXPORTER_VERSION"),
    "pgbouncer-exporter": ("prometheus-pgbouncer-exporter", "PGBOUNCER_EXPORTER_VERSION"),
    "prometheus": ("prometheus", "PROMETHEUS_VERSION"),
}
# The versions: a Dockerfile pin that moves away from them fails here.
UPSTREAM = {"postgres-exporter": "0.17.1", "pgbouncer-exporter": "0.10.2", "prometheus": "2.53.3"}
SERVICE_PORTS = {"postgres-exporter": 9187, "pgbouncer-exporter": 9127, "prometheus": 9090}


def pinned(arg: str) -> str:
    match = re.search(rf"(?m)^ARG {arg}=(\S+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    assert match, f"Dockerfile pins no {arg}"
    return match.group(1)


@pytest.fixture(scope="module")
def prometheus(metrics_stack: Stack) -> Prometheus:
    return Prometheus(metrics_stack.container("prometheus").port(9090))


@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_metrics_images_run_the_pinned_debian_packages(metrics_stack: Stack, service: str) -> None:
    package, arg = PACKAGES[service]
    installed = metrics_stack.container(service).exec(
        "dpkg-query", "-W", "-f", "${Version}", package
    )
    assert installed == pinned(arg)
    assert re.sub(r"^\d+:", "", installed).startswith(UPSTREAM[service])


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_metrics_services_publish_on_loopback_only_and_are_healthy(
    metrics_stack: Stack, service: str
) -> None:
    container = metrics_stack.container(service)
    bindings = container.inspect()["NetworkSettings"]["Ports"][f"{SERVICE_PORTS[service]}/tcp"]
    assert bindings and {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    assert container.health() == "healthy"
    assert container.inspect()["Config"]["User"] == "999:999"


def test_prometheus_scrapes_both_exporters(prometheus: Prometheus) -> None:
    def all_up() -> bool:
        targets = prometheus.get("/api/v1/targets")["activeTargets"]
        return {t["labels"]["job"] for t in targets if t["health"] == "up"} >= {
            "postgres",
            "pgbouncer",
            "prometheus",
        }

    wait_until(all_up, 60, lambda: str(prometheus.get("/api/v1/targets")))
    results = prometheus.get("/api/v1/query?query=pg_up%20%2B%20on()%20pgbouncer_up")["result"]
    assert results and results[0]["value"][1] == "2"


def test_exporters_log_in_as_the_monitoring_role(metrics_stack: Stack) -> None:
    """PostgreSQL sees the exporter as ci_monitor; PgBouncer lists the exporter's console login."""
    db = metrics_stack.container("db")

    def exporter_sessions() -> str:
        return db.psql(
            "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity"
            " WHERE application_name = 'ci-db-postgres-exporter'"
        )

    wait_until(lambda: exporter_sessions() != "", 60, lambda: "no exporter session seen")
    assert exporter_sessions() == "ci_monitor"
    pooler = metrics_stack.container("pgbouncer")
    clients = pooler.exec(
        "psql", "-XAt", "-h", "/var/run/pgbouncer", "-p", "6432", "-U", "pgbouncer", "pgbouncer",
        "-c", "SHOW CLIENTS",
    )  # fmt: skip
    # SHOW CLIENTS: type|user|database|...: the exporter is on the console as ci_monitor.
    rows = [line.split("|") for line in clients.splitlines()]
    assert any(row[1:3] == ["ci_monitor", "pgbouncer"] for row in rows), clients


def test_custom_metrics_include_the_hnsw_index_and_top_statements(prometheus: Prometheus) -> None:
    def found(query: str) -> list[dict[str, object]]:
        import urllib.parse

        result: list[dict[str, object]] = prometheus.get(
            "/api/v1/query?query=" + urllib.parse.quote(query)
        )["result"]
        return result

    wait_until(
        lambda: bool(found('ci_db_index_size_bytes{indexrelname="chunks_embedding_hnsw_idx"}')),
        60,
        lambda: "no HNSW index size scraped",
    )
    statements = found("ci_db_statements_calls")
    assert 0 < len(statements) <= 20
    assert found('ci_db_table_dead_tuples{relname="chunks"}')
    assert found("ci_db_archiver_enabled")


# --- Fault injection: each alert fires on a real fault and clears when it is removed ----------

FAST = {
    "CiDbLongTransaction": ("longest_seconds > 300", "longest_seconds > 3"),
    "CiDbIdleInTransaction": ("longest_seconds > 60", "longest_seconds > 3"),
    "CiDbPgBouncerMaxWaitHigh": ("maxwait_seconds) > 5", "maxwait_seconds) > 1"),
}


@pytest.fixture(scope="module")
def fast_alerts(
    metrics_stack: Stack, prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory
) -> Prometheus:
    """Prometheus with the test-only rules (for: 2s, lower time thresholds) loaded."""
    text = fast_rules(RULES.read_text(encoding="utf-8"), FAST)
    install_rules(metrics_stack, text, tmp_path_factory.mktemp("rules"))
    wait_until(
        lambda: "longest_seconds > 3" in prometheus.rule_queries().get("CiDbLongTransaction", ""),
        60,
        lambda: f"test rules not loaded: {prometheus.rule_queries()}",
    )
    return prometheus


def test_long_and_idle_transaction_alerts_fire_and_clear(
    fast_alerts: Prometheus, metrics_stack: Stack
) -> None:
    settings = metrics_stack.settings()
    with psycopg.connect(settings.conninfo("app")) as conn:
        conn.execute("SELECT txid_current()")  # a transaction, left open and idle
        fast_alerts.wait_firing("CiDbLongTransaction")
        fast_alerts.wait_firing("CiDbIdleInTransaction")
        conn.rollback()
    fast_alerts.wait_cleared("CiDbLongTransaction")
    fast_alerts.wait_cleared("CiDbIdleInTransaction")


def test_connections_near_max_fires_and_clears(
    fast_alerts: Prometheus, metrics_stack: Stack
) -> None:
    """82 direct connections: with the stack's own few, over 80% of max_connections (100)."""
    settings = metrics_stack.settings()
    conns = []
    try:
        for _ in range(82):
            conns.append(psycopg.connect(settings.conninfo("app"), autocommit=True))
        fast_alerts.wait_firing("CiDbConnectionsNearMax")
    finally:
        for conn in conns:
            conn.close()
    fast_alerts.wait_cleared("CiDbConnectionsNearMax")


@contextmanager
def waiting_client(conninfo: str) -> Iterator[None]:
    """A client that keeps asking PgBouncer for a server connection (again after each
    query_wait_timeout) until the block ends."""
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                    conn.execute("SELECT 1")
            except psycopg.Error:
                pass  # query_wait_timeout: ask again

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def test_pgbouncer_waiting_clients_alerts_fire_and_clear(
    fast_alerts: Prometheus, metrics_stack: Stack
) -> None:
    """ci_readonly's pool is capped at 5 server connections: five open transactions hold it,
    a sixth client waits."""
    settings = metrics_stack.settings()
    conninfo = settings.conninfo("readonly", pooled=True)
    holders = [psycopg.connect(conninfo, prepare_threshold=None) for _ in range(5)]
    try:
        for conn in holders:
            conn.execute("SELECT 1")  # BEGIN ... left open: the server connection is held
        with waiting_client(conninfo):
            fast_alerts.wait_firing("CiDbPgBouncerClientsWaiting")
            fast_alerts.wait_firing("CiDbPgBouncerMaxWaitHigh")
            for conn in holders:
                conn.rollback()
    finally:
        for conn in holders:
            conn.close()
    fast_alerts.wait_cleared("CiDbPgBouncerClientsWaiting")
    fast_alerts.wait_cleared("CiDbPgBouncerMaxWaitHigh")


def test_instance_down_fires_when_db_stops_and_clears_when_it_is_back(
    fast_alerts: Prometheus, metrics_stack: Stack
) -> None:
    db = metrics_stack.container("db")
    metrics_stack.compose("stop", "db")
    try:
        fast_alerts.wait_firing("CiDbInstanceDown")
    finally:
        metrics_stack.compose("start", "db")
        db.wait_healthy()
    fast_alerts.wait_cleared("CiDbInstanceDown")
