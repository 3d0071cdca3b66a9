"""The price of PgBouncer's reset after every transaction (server_reset_query_always, the
guard that keeps a session-level app.tenant_id, or a client's PREPARE under one of PgBouncer's
statement names, from reaching the next client). pgbench through the stack's PgBouncer (the
default PGBOUNCER_RESET=full) beside two more poolers of the same image on the same network:
PGBOUNCER_RESET=settings (RESET ALL only) and no per-transaction reset at all, interleaved.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from cidb.bench.core import Result, step
from cidb.bench.pgbench import run_pgbench
from cidb.bench.pool import (
    SELECT_ONLY,
    Side,
    create_table,
    db_container,
    drop_table,
    network_of,
    tps_and_p99,
)
from cidb.containers import Container, DeadlinePassed, docker, unique_name
from cidb.names import pooler_image
from cidb.settings import Settings

# Appended to the image's own pgbouncer.ini (its last section is [pgbouncer]): the reset goes
# back to PgBouncer's default, session pooling only.
NO_RESET = "\nserver_reset_query_always = 0\n"


def start_pooler(
    settings: Settings, network: str, env: Mapping[str, str], ini_dir: Path | None
) -> str:
    """A PgBouncer of the pooler image beside the stack's one; its container name once healthy."""
    name, image = unique_name("cidb-bench-pooler"), pooler_image()
    args = ["run", "-d", "--name", name, "--network", network, "-e", "PGBOUNCER_AUTH_PASSWORD"]
    args += ["-e", "DB_HOST=db", *(f"--env={key}={value}" for key, value in env.items())]
    command = ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
    if ini_dir is not None:
        stock = docker("run", "--rm", "--entrypoint", "cat", image, "/etc/pgbouncer/pgbouncer.ini")
        (ini_dir / "variant.ini").write_text(stock + NO_RESET, encoding="utf-8")
        (ini_dir / "variant.ini").chmod(0o644)
        args += ["-v", f"{ini_dir}:/etc/pgbouncer/bench:ro"]
        command = ["pgbouncer", "/etc/pgbouncer/bench/variant.ini"]
    secret = {"PGBOUNCER_AUTH_PASSWORD": settings.passwords["pgbouncer_auth"]}
    docker(*args, image, *command, env=secret)
    pooler = Container(name)
    try:
        pooler.wait_ready(60, "/usr/local/bin/pgbouncer-healthcheck.sh")
    except DeadlinePassed:
        pooler.remove()
        raise
    return name


def run(settings: Settings, quick: bool = False) -> Result:
    rounds, seconds, rows, clients = (1, 2, 10_000, 20) if quick else (3, 10, 100_000, 50)
    db = db_container()
    network = network_of(db)
    create_table(db, rows)
    result = Result("pool-guard", "reset after every transaction", "no reset")
    sides = {name: Side() for name in ("full", "settings", "none")}
    started: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cidb-pool-guard-") as tmp:
        ini_dir = Path(tmp)
        ini_dir.chmod(0o755)
        try:
            started.append(start_pooler(settings, network, {"PGBOUNCER_RESET": "settings"}, None))
            started.append(start_pooler(settings, network, {}, ini_dir))
            hosts = {"full": "pgbouncer", "settings": started[0], "none": started[1]}
            for index in range(rounds):
                order = list(hosts) if index % 2 == 0 else list(reversed(hosts))
                for side in order:
                    step(f"round {index + 1}/{rounds}, reset {side}")
                    pgbench = run_pgbench(
                        SELECT_ONLY,
                        user="ci_app",
                        password=settings.passwords["ci_app"],
                        clients=clients,
                        seconds=seconds,
                        network=network,
                        host=hosts[side],
                        port=6432,
                        extra=("-D", f"rows={rows}"),
                    )
                    sides[side].add(pgbench, clients, per_transaction=False)
        finally:
            for name in started:
                docker("rm", "-f", name, retcode=None)
            drop_table(db)
    result.metrics += tps_and_p99(f"full reset, {clients} clients", sides["full"], sides["none"])
    result.metrics += tps_and_p99(
        f"RESET ALL only, {clients} clients", sides["settings"], sides["none"]
    )
    result.notes.append(
        f"pgbench select-only (one-statement transactions: the worst case for a per-transaction"
        f" reset) as ci_app, {clients} clients, {rounds} interleaved round(s) of {seconds} s:"
        " PGBOUNCER_RESET=full (RESET ALL; SELECT pgbouncer.close_if_prepared_in_sql()) and"
        " PGBOUNCER_RESET=settings (RESET ALL) vs the same image with server_reset_query_always=0"
    )
    return result
