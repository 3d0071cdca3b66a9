"""The price of PgBouncer's reset after every transaction (server_reset_query_always, the
guard that keeps a session-level app.tenant_id or a hijacked prepared statement from reaching
the next client): pgbench through the stack's PgBouncer vs a second PgBouncer of the same image
whose only difference is server_reset_query_always = 0, interleaved.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
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
# The stock file, then the one setting turned back to PgBouncer's default.
NO_GUARD_INI = "%include /etc/pgbouncer/pgbouncer.ini\n[pgbouncer]\nserver_reset_query_always = 0\n"


def start_unguarded_pooler(settings: Settings, network: str, ini_dir: Path) -> str:
    """A PgBouncer beside the stack's one, reset only on session end; its container name."""
    name = f"cidb-bench-noguard-{uuid.uuid4().hex[:8]}"
    (ini_dir / "noguard.ini").write_text(NO_GUARD_INI, encoding="utf-8")
    (ini_dir / "noguard.ini").chmod(0o644)
    DOCKER.with_env(PGBOUNCER_AUTH_PASSWORD=settings.passwords["pgbouncer_auth"])(
        "run", "-d", "--name", name, "--network", network,
        "-e", "PGBOUNCER_AUTH_PASSWORD", "-e", "DB_HOST=db",
        "-v", f"{ini_dir}:/etc/pgbouncer/bench:ro",
        IMAGE, "pgbouncer", "/etc/pgbouncer/bench/noguard.ini",
    )  # fmt: skip
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
    raise RuntimeError(f"the unguarded PgBouncer did not get healthy:\n{logs[1]}{logs[2]}")


def run(settings: Settings, quick: bool = False) -> Result:
    rounds, seconds, rows, clients = (1, 2, 10_000, 20) if quick else (3, 10, 100_000, 50)
    db = db_container()
    network = network_of(db)
    create_table(db, rows)
    result = Result("pool-guard", "reset after every transaction", "reset at session end only")
    sides = {"guarded": Side(), "unguarded": Side()}
    with tempfile.TemporaryDirectory(prefix="cidb-noguard-") as tmp:
        ini_dir = Path(tmp)
        ini_dir.chmod(0o755)
        unguarded = start_unguarded_pooler(settings, network, ini_dir)
        hosts = {"guarded": "pgbouncer", "unguarded": unguarded}
        try:
            for index in range(rounds):
                order = ["guarded", "unguarded"] if index % 2 == 0 else ["unguarded", "guarded"]
                for side in order:
                    print(f"  pool-guard: round {index + 1}/{rounds}, {side}", flush=True)
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
            DOCKER["rm", "-f", unguarded].run(retcode=None)
            drop_table(db)
    result.metrics += tps_and_p99(f"{clients} clients", sides["guarded"], sides["unguarded"])
    result.notes.append(
        f"pgbench select-only as ci_app, {clients} clients, {rounds} interleaved round(s) of"
        f" {seconds} s: the stack's PgBouncer (SELECT pgbouncer.reset_server() after every"
        " transaction) vs the same image with server_reset_query_always = 0"
    )
    return result
