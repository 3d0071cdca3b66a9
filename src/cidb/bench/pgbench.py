"""pgbench, run in a throwaway ci-db container next to the stack's db (the host needs no client)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plumbum import local

from cidb.compose import compose
from cidb.names import db_image


@dataclass(frozen=True)
class PgbenchRun:
    """What one pgbench run did: throughput, per-transaction latencies (ms), failures."""

    tps: float
    latencies_ms: list[float]
    failed: int
    output: str


def db_network() -> str:
    """`container:<db>`: pgbench then reaches the database at 127.0.0.1:5432 (and PgBouncer's
    container is not needed for direct runs)."""
    db_id = compose("ps", "-q", "db")().strip()
    if not db_id:
        raise RuntimeError("the compose stack's db service is not running: run `cidb up` first")
    return f"container:{db_id}"


def run_pgbench(
    script: str | dict[str, tuple[str, int]],
    *,
    user: str,
    password: str,
    clients: int,
    seconds: float,
    network: str | None = None,
    host: str = "127.0.0.1",
    port: int = 5432,
    database: str = "contextinject",
    extra: tuple[str, ...] = (),
) -> PgbenchRun:
    """Run SCRIPT (pgbench syntax; or name -> (script, weight)) for SECONDS with CLIENTS.

    The password travels in the environment only.
    """
    scripts = {"script": (script, 1)} if isinstance(script, str) else script
    with tempfile.TemporaryDirectory(prefix="cidb-pgbench-") as tmp:
        work = Path(tmp)
        work.chmod(0o777)
        files: list[str] = []
        for name, (text, weight) in scripts.items():
            (work / f"{name}.sql").write_text(text, encoding="utf-8")
            (work / f"{name}.sql").chmod(0o644)
            files += ["-f", f"/bench/{name}.sql@{weight}"]
        threads = max(1, min(4, clients))
        args = [
            "run",
            "--rm",
            "--network",
            network or db_network(),
            "-v",
            f"{work}:/bench",
            "-e",
            "PGPASSWORD",
            "--entrypoint",
            "pgbench",
            db_image(),
            "-n",
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            database,
            *files,
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(max(1, round(seconds))),
            "-l",
            "--log-prefix=/bench/txn",
            *extra,
        ]
        code, out, err = local["docker"][args].with_env(PGPASSWORD=password).run(retcode=None)
        latencies = [
            int(line.split()[2]) / 1000
            for log in work.glob("txn*")
            for line in log.read_text().splitlines()
            if len(line.split()) > 2 and line.split()[2].isdigit()
        ]
    text = out + err
    tps_match = re.search(r"tps = ([\d.]+)", text)
    failed_match = re.search(r"number of failed transactions: (\d+)", text)
    failed = int(failed_match.group(1)) if failed_match else (0 if code == 0 else clients)
    return PgbenchRun(float(tps_match.group(1)) if tps_match else 0.0, latencies, failed, text)
