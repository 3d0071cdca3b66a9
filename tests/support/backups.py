"""Backup and restore drills for tests: a database archiving to a repository, rows written and
fingerprinted, a restore started as a server of its own (cidb.backup does the restoring)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from cidb import backup
from cidb.containers import HEALTHCHECK
from support.docker import (
    DOCKER,
    SESSION_LABEL,
    Container,
    DeadlinePassed,
    create_volume,
    docker,
    remove_volume,
    run_container,
    unique_name,
    wait_until,
)

# A short archive_timeout keeps drills quick; the tests still force every switch they rely on.
ARCHIVE_TIMEOUT = "5s"
CIPHER_PASS = "test-cipher-pass-" + uuid.uuid4().hex[:8]


def posix_repo_env(*, cipher: bool = True) -> dict[str, str]:
    """A filesystem repository at the image's /var/lib/pgbackrest (mount a volume there)."""
    env = {"PGBACKREST_REPO1_TYPE": "posix", "CI_DB_ARCHIVE_TIMEOUT": ARCHIVE_TIMEOUT}
    if cipher:
        env["PGBACKREST_REPO1_CIPHER_PASS"] = CIPHER_PASS
    return env


def db_env(**extra: str) -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "CI_ADMIN_PASSWORD": uuid.uuid4().hex,
        "CI_MIGRATOR_PASSWORD": uuid.uuid4().hex,
        **extra,
    }


# Application tables and the probe table, each with the md5 of its full contents (every column,
# rows in a stable order), in one query; sqitch's registry moves with every deploy, so it is
# left out of the fingerprint.
_DIGESTS_SQL = """
SELECT t.name, (xpath('/row/d/text()', query_to_xml(format(
    'SELECT coalesce(md5(string_agg(t::text, ''|'' ORDER BY t::text)), ''empty'') AS d FROM %s t',
    t.name), false, true, '')))[1]::text
FROM (
    SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN ('public', 'drill')
) t
ORDER BY 1
"""


def table_digests(db: Container) -> dict[str, str]:
    """md5 of each table's full contents (every column, rows in a stable order)."""
    rows = [line.split("|") for line in db.psql(_DIGESTS_SQL).splitlines()]
    return {name: digest for name, digest in rows}


def create_probe(db: Container) -> None:
    """drill.events: one row per acknowledged commit, with the server's commit-time clock."""
    db.psql(
        "CREATE SCHEMA IF NOT EXISTS drill; "
        "CREATE TABLE IF NOT EXISTS drill.events (id bigint PRIMARY KEY, "
        "at timestamptz NOT NULL DEFAULT clock_timestamp(), payload text NOT NULL)"
    )


def insert_events(db: Container, first: int, count: int) -> None:
    db.psql(
        f"INSERT INTO drill.events (id, payload) SELECT g, md5(g::text) "
        f"FROM generate_series({first}, {first + count - 1}) g"
    )


def event_ids(db: Container) -> set[int]:
    return {int(i) for i in db.psql("SELECT id FROM drill.events").split()}


def next_event_id(db: Container) -> int:
    return int(db.psql("SELECT coalesce(max(id), 0) + 1 FROM drill.events WHERE id < 1000000"))


def amcheck_clean(db: Container) -> None:
    """amcheck finds nothing: every B-tree index (with its heap) and every table's heap."""
    db.psql("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA extensions")
    checked = db.psql(
        "SELECT count(extensions.bt_index_check(c.oid, true)) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
        "WHERE a.amname = 'btree' AND i.indisvalid AND c.relpersistence <> 't'"
        # A partitioned index (relkind I) has no storage: each partition's own index is checked.
        " AND c.relkind = 'i'"
    )
    assert int(checked) > 0
    corrupt = db.psql(
        "SELECT count(*) FROM pg_class c, LATERAL extensions.verify_heapam(c.oid) v "
        "WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't'"
    )
    assert corrupt == "0"


def tmpfs_volume(size: str) -> str:
    """A volume of SIZE in memory, owned by the image's postgres user: a disk that fills up."""
    name = unique_name("cidb-tmpfs")
    docker(
        "volume", "create", "--label", SESSION_LABEL, "--driver", "local",
        "--opt", "type=tmpfs", "--opt", "device=tmpfs",
        "--opt", f"o=size={size},uid=999,gid=999,mode=0700", name,
    )  # fmt: skip
    return name


def in_volume(image: str, volume: str, script: str, *, read_only: bool = True) -> str:
    """SCRIPT (sh) in a throwaway container of IMAGE with VOLUME at /v, no network."""
    mount = f"{volume}:/v{':ro' if read_only else ''}"
    return docker(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", "-v", mount, image, "-c", script
    )


def run_image(
    image: str,
    *command: str,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
) -> tuple[int, str, str]:
    """`docker run --rm` IMAGE COMMAND, no network; (exit code, stdout, stderr)."""
    args = ["run", "--rm", "--network", "none", "--label", SESSION_LABEL]
    for key in env or {}:
        args += ["-e", key]
    for mount in volumes:
        args += ["-v", mount]
    code, out, err = DOCKER[(*args, image, *command)].with_env(**(env or {})).run(retcode=None)
    return int(code), str(out), str(err)


def volume_fingerprint(image: str, volume: str) -> str:
    """Every file in VOLUME, by path and md5: equal fingerprints, untouched contents."""
    return in_volume(image, volume, "cd /v && find . -type f -exec md5sum {} + | sort")


def switch_wal_and_wait(db: Container, timeout: float = 150) -> str:
    """Close the current WAL segment and wait until the server has archived it.

    Seconds are usual, but pgBackRest's asynchronous push can give up on a segment at its
    archive-timeout (60 s) and leave it to the server's retry (pgbackrest issue 1961). Once in
    these tests, on a loaded machine, a segment waited over 60 s with no archive error in the
    server's log: the deadline leaves room for that retry, and a miss prints archive_report().
    """
    # With no WAL since the last switch (archive_timeout's may come just before ours),
    # pg_switch_wal() does nothing and returns the open segment's first byte, which
    # pg_walfile_name (PostgreSQL 17) names as that open segment, never archived while the
    # server idles. The byte before is in the segment that holds everything written.
    segment = db.psql("SELECT pg_walfile_name(pg_switch_wal() - 1)")

    def archived() -> bool:
        last = db.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        return last >= segment

    wait_until(
        archived,
        timeout=timeout,
        failure=lambda: f"WAL segment {segment} was not archived:\n{archive_report(db)}",
    )
    return segment


def archive_report(db: Container) -> str:
    """What the server and pgBackRest say about archiving: for a wait that ran out."""
    stats = db.psql("SELECT * FROM pg_stat_archiver")
    ready = db.psql("SELECT string_agg(name, ' ' ORDER BY name) FROM pg_ls_archive_statusdir()")
    _, spool, _ = db.exec_result("ls", "-lR", "/var/spool/pgbackrest")
    _, processes, _ = db.exec_result("ps", "-eo", "pid,etime,args")
    # The server's log without its connection chatter.
    lines = [
        line
        for line in db.logs().splitlines()
        if not any(w in line for w in ("connection ", "disconnection:"))
    ]
    log = "\n".join(lines[-60:])
    return (
        f"pg_stat_archiver: {stats}\narchive_status: {ready}\nspool:\n{spool}\n"
        f"processes:\n{processes}\nlog:\n{log}"
    )


@dataclass
class Writer:
    """Commits one drill.events row at a time in a thread, recording each acknowledged id."""

    db: Container
    start_id: int = 1_000_000
    acknowledged: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    error: BaseException | None = None

    def _run(self) -> None:
        next_id = self.start_id
        try:
            while not self._stop.is_set():
                insert_events(self.db, next_id, 1)
                self.acknowledged.append(next_id)
                next_id += 1
        except BaseException as error:  # reported by stop()
            self.error = error

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_until(
            lambda: len(self.acknowledged) >= 3 or self.error is not None,
            timeout=60,
            failure=lambda: f"the writer committed {len(self.acknowledged)} rows in 60 s",
        )
        if self.error is not None:
            raise AssertionError(f"the writer failed: {self.error}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        if self.error is not None:
            raise AssertionError(f"the writer failed: {self.error}")


@contextmanager
def served(
    image: str, volume: str, env: Mapping[str, str] | None = None, volumes: tuple[str, ...] = ()
) -> Iterator[Container]:
    """A server of IMAGE on the cluster in VOLUME, healthy; removed afterwards."""
    server = run_container(
        image, env=env or db_env(), volumes=[f"{volume}:/var/lib/postgresql/data", *volumes]
    )
    healthcheck = DOCKER["exec", server.name, HEALTHCHECK]

    def ready() -> bool:
        if not server.running():
            raise DeadlinePassed(f"{server.name} exited:\n{server.logs()}")
        return int(healthcheck.run(retcode=None)[0]) == 0

    try:
        # The image's healthcheck, run every 0.2 s rather than on Docker's 5 s interval.
        wait_until(ready, 240, lambda: f"{server.name} not ready:\n{server.logs(tail=50)}", 0.2)
        yield server
    finally:
        server.remove()


@contextmanager
def restored_server(
    source: Container,
    *,
    target: backup.Target | None = None,
    env: Mapping[str, str] | None = None,
    volumes: tuple[str, ...] = (),
    archive: bool = False,
    repo: int | None = None,
) -> Iterator[tuple[Container, backup.RestoreResult]]:
    """SOURCE's backup restored (to TARGET) into a new volume, then served by a new container."""
    volume = create_volume("cidb-restore")
    try:
        result = backup.restore(
            source.name, volume, target=target or backup.Target(), archive=archive, repo=repo
        )
        with served(source.inspect()["Config"]["Image"], volume, env, volumes) as server:
            yield server, result
    finally:
        remove_volume(volume)
