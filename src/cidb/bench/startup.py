"""Start-up and size: cold start (initdb + deploy) vs warm restart to ready, and the images'
sizes beside a naive trixie + postgresql-17 + postgresql-17-pgvector build."""

from __future__ import annotations

import statistics
import uuid

from cidb.bench import sizes
from cidb.bench.core import LOWER, NEITHER, Metric, Result, step
from cidb.containers import start_database
from cidb.names import db_image, pooler_image
from cidb.settings import Settings


def cold_and_warm(rounds: int) -> tuple[list[float], list[float]]:
    """Seconds from `docker run` (fresh volume) and from `docker restart` until the healthcheck
    (TCP up and schema deployed) first passes, polled every 0.2 s."""
    cold, warm = [], []
    for index in range(rounds):
        step(f"round {index + 1}/{rounds}: cold start, then warm restart")
        db = start_database(uuid.uuid4().hex, wait=False)
        try:
            cold.append(db.wait_ready())
            db.restart()
            warm.append(db.wait_ready())
        finally:
            db.remove()
    return cold, warm


def run(settings: Settings, quick: bool = False) -> Result:
    del settings  # starts its own containers
    cold, warm = cold_and_warm(1 if quick else 3)
    step("building the naive image to compare sizes")
    measured = sizes.measure()
    by_name = {s.image: s for s in measured}
    naive = by_name[sizes.NAIVE_IMAGE]
    result = Result("startup", "ci-db", "warm restart / naive image")
    result.metrics += [
        Metric(
            "cold start vs warm restart to ready",
            statistics.median(cold),
            statistics.median(warm),
            "s",
            better=NEITHER,
        ),
        Metric(
            "ci-db:17 size vs naive build", by_name[db_image()].mib, naive.mib, "MiB", better=LOWER
        ),
        Metric(
            "ci-db-pgbouncer:17 size vs naive build",
            by_name[pooler_image()].mib,
            naive.mib,
            "MiB",
            better=LOWER,
        ),
    ]
    result.notes += [
        "cold = initdb with checksums + roles + extensions + the whole Sqitch plan; warm = the"
        " same container restarted (roles and plan re-checked, nothing to deploy)",
        "naive = debian:trixie-slim + apt-get install postgresql-17 postgresql-17-pgvector"
        " (recommends included, no clean-up)",
    ]
    return result
