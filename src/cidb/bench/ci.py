"""CI mode (docs/ci.md): cold start to healthy of ci-db:17-ci vs ci-db:17 and vs a plain
PostgreSQL 17 from the same Debian packages; a fresh database per test: a clone of the
template vs a new database migrated from scratch vs truncating the application tables."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from plumbum import local
from psycopg import sql

from cidb import clones, names, roles
from cidb.bench.core import LOWER, NEITHER, Metric, Result, step
from cidb.compose import project_dir
from cidb.containers import DOCKER, HEALTHCHECK, Container, run_container, wait_until
from cidb.settings import Settings

# The same packages as ci-db:17 (it is that image), no schema, no entrypoint: initdb at start,
# as a bare image does, then PostgreSQL on TCP; ready when pg_isready passes over TCP.
PLAIN_COMMAND = (
    "initdb -D /tmp/plain -U postgres --auth=trust >/dev/null"
    " && exec postgres -D /tmp/plain -c listen_addresses=127.0.0.1"
)
PLAIN_READY = "pg_isready -q -h 127.0.0.1 -p 5432"
# In a ci container, the entrypoint's own functions make a database the way a start makes
# contextinject: the init scripts as the superuser, then the whole plan as ci_migrator.
FROM_SCRATCH = (
    ". /usr/local/bin/docker-entrypoint.sh && docker_setup_env && psql_super -d postgres"
    ' --set db="$SCRATCH_DB" <<<\'CREATE DATABASE :"db"\' && docker_run_own_init "$SCRATCH_DB"'
    " && POSTGRES_DB=$SCRATCH_DB docker_deploy_schema 2>/dev/null"
)


def build_ci_image() -> str:
    """ci-db:17-ci from this checkout (its stages are ci-db:17's, so mostly cached)."""
    image = names.ci_image()
    local["docker"]["build", "--quiet", "-t", image, "--target", "ci", str(project_dir())](
        timeout=1800
    )
    return image


def env() -> dict[str, str]:
    passwords = {var: uuid.uuid4().hex for var in roles.password_env().values()}
    return {
        **passwords,
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "CI_TEST_PASSWORD": uuid.uuid4().hex,
    }


def cold_start(image: str, *, plain: bool = False) -> float:
    """Seconds from `docker run` until the readiness check first passes inside (polled 0.2 s):
    the image's healthcheck, or for PLAIN pg_isready over TCP."""
    extra = ["--entrypoint", "bash"] if plain else []
    command = ("-c", PLAIN_COMMAND) if plain else ()
    ready = PLAIN_READY.split() if plain else [HEALTHCHECK]
    start = time.monotonic()
    db = run_container(image, env=env(), prefix="cidb-bench", label="cidb-bench=1",
                       extra=extra, command=command)  # fmt: skip
    try:
        wait_until(
            lambda: int(DOCKER["exec", db.name, *ready].run(retcode=None)[0]) == 0,
            300,
            lambda: f"{image} not ready:\n{db.logs(tail=30)}",
            interval=0.2,
        )
        return time.monotonic() - start
    finally:
        db.remove()


# As docs/ci.md tells users to run it: the clones' tablespace on a tmpfs.
TMPFS = ("--tmpfs", "/var/lib/postgresql/clones:uid=999,gid=999")


def start_ci(image: str, environment: dict[str, str]) -> tuple[Container, Settings]:
    """A ci container with the clones' tmpfs, ready; Settings for its contextinject."""
    db = run_container(image, env=environment, prefix="cidb-bench", label="cidb-bench=1",
                       extra=TMPFS)  # fmt: skip
    db.wait_ready()
    environment |= {"CI_DB_HOST": "127.0.0.1", "CI_DB_PORT": str(db.port(5432))}
    return db, Settings.from_env(environment)


def per_test(image: str, rounds: int) -> dict[str, list[float]]:
    """ms per fresh database, each way: a clone on the tmpfs (FILE_COPY and WAL_LOG), a clone
    on the container's disk, a database migrated from scratch, and TRUNCATE of the 11 tables in
    contextinject (what a suite without clones does) and in a clone on the tmpfs."""
    environment = env()
    db, base = start_ci(image, environment)
    times: dict[str, list[float]] = {
        k: [] for k in ("tmpfs", "wal_log", "disk", "scratch", "truncate", "truncate_tmpfs")
    }

    @contextmanager
    def timed(sink: str) -> Iterator[None]:
        # From a clean checkpoint: FILE_COPY's own checkpoint would flush what came before.
        db.psql("CHECKPOINT")
        start = time.perf_counter()
        yield
        times[sink].append((time.perf_counter() - start) * 1000)

    try:
        work = clones.create_clone(base, env=environment)
        with (
            psycopg.connect(base.conninfo("ci_migrator"), autocommit=True) as owner,
            psycopg.connect(work.conninfo("ci_migrator"), autocommit=True) as work_owner,
            clones.cloner(base, environment) as cloner,
        ):
            truncate_all = truncate_statement(owner)
            for index in range(rounds):
                step(f"round {index + 1}/{rounds}: clones, from scratch, truncate")
                for strategy, on_tmpfs, sink in (
                    ("FILE_COPY", True, "tmpfs"),
                    ("WAL_LOG", True, "wal_log"),
                    ("FILE_COPY", False, "disk"),
                ):
                    with timed(sink):
                        made = clones.create_clone(
                            base, strategy=strategy, conn=cloner, in_tablespace=on_tmpfs
                        )
                    clones.drop_clone(base, made.database, conn=cloner)
                scratch = {**environment, "SCRATCH_DB": f"scratch_{uuid.uuid4().hex[:8]}"}
                with timed("scratch"):
                    db.exec("bash", "-c", FROM_SCRATCH, env=scratch)
                db.psql(f'DROP DATABASE "{scratch["SCRATCH_DB"]}"', database="postgres")
                with timed("truncate"):
                    owner.execute(truncate_all)
                with timed("truncate_tmpfs"):
                    work_owner.execute(truncate_all)
        clones.drop_clone(base, work.database, env=environment)
        return times
    finally:
        db.remove()


def a_test(database: Settings) -> None:
    """What a small database test does: log in, make a tenant and a project, read them back."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database.conninfo("ci_admin"), autocommit=True) as conn:
        conn.execute(
            "WITH t AS (INSERT INTO public.tenants (name, slug) VALUES (%s, %s) RETURNING id)"
            " INSERT INTO public.projects (tenant_id, name) SELECT id, 'default' FROM t",
            (slug, slug),
        )
        conn.execute("SELECT count(*) FROM public.projects").fetchone()


def suite(image: str, tests: int) -> tuple[list[float], list[float], float, float]:
    """TESTS small tests, run twice in one container: each on a clone taken from a ClonePool (as
    the pytest plugin does), and each after a TRUNCATE of the application tables in one
    database. Per-test waits for a fresh database (ms), and each suite's wall time (s)."""
    environment = env()
    db, base = start_ci(image, environment)
    try:
        taken: list[float] = []
        truncated: list[float] = []
        step(f"a suite of {tests} small tests on pooled clones")
        suite_start = time.perf_counter()
        with clones.ClonePool(base, environment, ready=2) as pool:
            for _ in range(tests):
                start = time.perf_counter()
                clone = pool.take()
                taken.append((time.perf_counter() - start) * 1000)
                a_test(clone)
                pool.give_back(clone.database)
            pooled_wall = time.perf_counter() - suite_start
        step(f"the same {tests} tests in contextinject, each after a TRUNCATE")
        with psycopg.connect(base.conninfo("ci_migrator"), autocommit=True) as owner:
            truncate_all = truncate_statement(owner)
            suite_start = time.perf_counter()
            for _ in range(tests):
                start = time.perf_counter()
                owner.execute(truncate_all)
                truncated.append((time.perf_counter() - start) * 1000)
                a_test(base)
            truncate_wall = time.perf_counter() - suite_start
        return taken, truncated, pooled_wall, truncate_wall
    finally:
        db.remove()


def truncate_statement(owner: psycopg.Connection) -> sql.Composed:
    """TRUNCATE of every table in public (the application's 11), as their owner."""
    listed = owner.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    ).fetchall()
    if len(listed) != 11:
        step(f"note: {len(listed)} application tables (expected 11)")
    return sql.SQL("TRUNCATE {} CASCADE").format(
        sql.SQL(", ").join(sql.Identifier("public", row[0]) for row in listed)
    )


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def run(settings: Settings, quick: bool = False) -> Result:
    del settings  # starts its own containers
    from cidb.names import db_image

    step("building ci-db:17-ci")
    ci_image = build_ci_image()
    rounds = 1 if quick else 3
    ci, full, plain = [], [], []
    for index in range(rounds):
        step(f"round {index + 1}/{rounds}: cold start ci, ci-db:17, plain PostgreSQL 17")
        ci.append(cold_start(ci_image))
        full.append(cold_start(db_image()))
        plain.append(cold_start(db_image(), plain=True))
    t = per_test(ci_image, 2 if quick else 10)
    taken, truncated, pooled_wall, truncate_wall = suite(ci_image, 5 if quick else 100)
    med = statistics.median
    clone, truncate = med(t["tmpfs"]), med(t["truncate"])
    result = Result("ci", "ci-db:17-ci / a clone", "ci-db:17, plain PG 17 / other fresh DBs")
    result.metrics += [
        Metric("cold start: ci vs ci-db:17 (goal <= 0.25)", med(ci), med(full), "s", better=LOWER),
        Metric(
            "cold start: ci vs plain PG 17 (goal <= 1.0)", med(ci), med(plain), "s", better=LOWER
        ),
        Metric(
            "fresh DB: clone vs migrate (goal <= 0.05)",
            clone,
            med(t["scratch"]),
            "ms",
            better=LOWER,
        ),
        Metric("fresh DB: clone vs truncate (goal <= 1)", clone, truncate, "ms", better=LOWER),
        Metric(
            "in a suite: pooled clone wait vs truncate",
            med(taken),
            med(truncated),
            "ms",
            better=LOWER,
        ),
        Metric(
            "in a suite, p90: pooled clone vs truncate",
            p90(taken),
            p90(truncated),
            "ms",
            better=LOWER,
        ),
        Metric(
            "suite wall time: pooled clones vs truncate",
            pooled_wall,
            truncate_wall,
            "s",
            better=LOWER,
        ),
        Metric(
            "clone: on tmpfs vs on the container's disk", clone, med(t["disk"]), "ms", better=LOWER
        ),
        Metric("clone: FILE_COPY vs WAL_LOG (tmpfs)", clone, med(t["wal_log"]), "ms", better=LOWER),
        Metric(
            "truncate: contextinject vs tmpfs",
            truncate,
            med(t["truncate_tmpfs"]),
            "ms",
            better=NEITHER,
        ),
    ]
    result.notes += [
        f"absolute: a clone takes {clone:.1f} ms median on this machine with the clones'"
        f" tablespace on a tmpfs, {med(t['disk']):.1f} ms on the container's disk (CREATE"
        " DATABASE and its grants on an open ci_test session, as the pytest plugin does)",
        "cold start = `docker run` to the first passing healthcheck (TCP up, plan deployed);"
        " plain = ci-db:17's packages with initdb at start and no schema (pg_isready over TCP)",
        "the ci containers run as docs/ci.md says: `--tmpfs /var/lib/postgresql/clones`;"
        " truncate = TRUNCATE of the 11 tables as ci_owner in contextinject, on the container's"
        " disk, as a suite without clones does (the last line: the same in a tmpfs database)",
        "in a suite = 100 small tests (log in as ci_admin, insert a tenant and a project,"
        " count), each on a clone taken from a ClonePool keeping 2 ready in a background thread"
        " (the pytest plugin's way), vs the same tests each after a TRUNCATE; the wall time"
        " counts the background cloning's cost too",
        "migrate = CREATE DATABASE + the init scripts + the whole Sqitch plan, by the"
        " entrypoint's own functions via docker exec",
    ]
    return result
