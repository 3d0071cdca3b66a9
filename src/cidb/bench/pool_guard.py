"""The price of PgBouncer's reset after every transaction (server_reset_query_always, the
guard that keeps a session-level app.tenant_id, or a client's PREPARE under one of PgBouncer's
statement names, from reaching the next client). pgbench through the stack's PgBouncer (the
default PGBOUNCER_RESET=full) beside two more poolers of the same image on the same network:
PGBOUNCER_RESET=settings (RESET ALL only) and no per-transaction reset at all, interleaved.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from plumbum import local

from cidb.bench.core import Result
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
from cidb.settings import Settings

DOCKER = local["docker"]
IMAGE = os.environ.get("CI_DB_POOLER_IMAGE", "ci-db-pgbouncer:17")
# Appended to the image's own pgbouncer.ini (its last section is [pgbouncer]): the reset goes
# back to PgBouncer's default, session pooling only.
NO_RESET = "\nserver_reset_query_always = 0\n"


def start_pooler(
    settings: Settings, network: str, env: Mapping[str, str], ini_dir: Path | None
) -> str:
    """A PgBouncer of IMAGE beside the stack's one; its container name once healthy."""
    name = f"cidb-bench-pooler-{uuid.uuid4().hex[:8]}"
    args = ["run", "-d", "--name", name, "--network", network, "-e", "PGBOUNCER_AUTH_PASSWORD"]
    args += ["-e", "DB_HOST=db", *(f"--env={key}={value}" for key, value in env.items())]
    command = ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
    if ini_dir is not None:
        stock = DOCKER("run", "--rm", "--entrypoint", "cat", IMAGE, "/etc/pgbouncer/pgbouncer.ini")
        (ini_dir / "variant.ini").write_text(stock + NO_RESET, encoding="utf-8")
        (ini_dir / "variant.ini").chmod(0o644)
        args += ["-v", f"{ini_dir}:/etc/pgbouncer/bench:ro"]
        command = ["pgbouncer", "/etc/pgbouncer/bench/variant.ini"]
    DOCKER.with_env(PGBOUNCER_AUTH_PASSWORD=settings.passwords["pgbouncer_auth"])(
        *args, IMAGE, *command
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        code, _, _ = DOCKER["exec", name, "/usr/local/bin/pgbouncer-healthcheck.sh"].run(
            retcode=None
        )
        if code == 0:
            return name
        time.sleep(0.2)
    logs = DOCKER["logs", name].run(retcode=None)
    DOCKER["rm", "-f", name].run(retcode=None)
    raise RuntimeError(f"the benchmark's PgBouncer {name} did not get healthy:\n{logs[1]}{logs[2]}")


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
                    print(f"  pool-guard: round {index + 1}/{rounds}, reset {side}", flush=True)
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
                DOCKER["rm", "-f", name].run(retcode=None)
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
