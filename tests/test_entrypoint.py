"""The entrypoint's official-image conventions: passwords, *_FILE, init once, restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from fixtures_db import FreshDb
from support.docker import Container, stops_with_one_error
from support.scram import verifier_matches

Start = Callable[..., Container]


@pytest.fixture
def start(fresh_db: FreshDb) -> Start:
    """Start ci-db containers for one test (each test waits as it needs); removed afterwards."""

    def _start(env: dict[str, str], **kwargs: object) -> Container:
        return fresh_db(env, wait=False, **kwargs)

    return _start


def test_password_file_is_read(start: Start, tmp_path: Path) -> None:
    """POSTGRES_PASSWORD_FILE sets the superuser's password (stored as a SCRAM verifier)."""
    secret = tmp_path / "pw"
    secret.write_text("from-a-file\n")
    secret.chmod(0o644)
    db = start(
        {"POSTGRES_PASSWORD_FILE": "/run/secrets/pw"}, volumes=[f"{secret}:/run/secrets/pw:ro"]
    )
    db.wait_healthy()
    verifier = db.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
    assert verifier_matches(verifier, "from-a-file")
    assert not verifier_matches(verifier, "from-a-file\n")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no superuser password"),
        (
            {"POSTGRES_PASSWORD": "a", "POSTGRES_PASSWORD_FILE": "/etc/hostname"},
            "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set",
        ),
        ({"POSTGRES_PASSWORD_FILE": "/nonexistent"}, "is not a readable file"),
        (
            {
                "POSTGRES_PASSWORD": "a",
                "CI_APP_PASSWORD": "b",
                "CI_APP_PASSWORD_FILE": "/etc/hostname",
            },
            "both CI_APP_PASSWORD and CI_APP_PASSWORD_FILE are set",
        ),
        ({"POSTGRES_PASSWORD": "a", "CI_DB_MEMORY": "lots"}, "CI_DB_MEMORY='lots' is not a size"),
    ],
    ids=[
        "no-password",
        "password-and-file",
        "unreadable-file",
        "app-password-and-file",
        "bad-memory",
    ],
)
def test_bad_environment_stops_with_one_line_reason(
    start: Start, env: dict[str, str], message: str
) -> None:
    """A bad environment exits non-zero at once with one clear error line."""
    stops_with_one_error(start(env), message)


BAD_ENVIRONMENTS = [
    {},
    {"POSTGRES_PASSWORD": "pw", "POSTGRES_PASSWORD_FILE": "/etc/hostname"},
    {"POSTGRES_PASSWORD_FILE": "/nonexistent"},
    {"POSTGRES_PASSWORD": "pw", "CI_DB_MEMORY": "-1GB"},
    {"POSTGRES_PASSWORD": "pw", "CI_DB_MEMORY": "12 parsecs"},
]


def test_bad_environment_leaves_existing_volume_untouched(start: Start, volume: str) -> None:
    """Every bad environment exits before touching a good volume; the data is all there after."""
    data = f"{volume}:/var/lib/postgresql/data"
    first = start({"POSTGRES_PASSWORD": "pw"}, volumes=[data])
    first.wait_healthy()
    first.psql("CREATE TABLE public.keepme (id int); INSERT INTO public.keepme VALUES (42)")
    first.stop()
    for env in BAD_ENVIRONMENTS:
        broken = start(env, volumes=[data])
        assert broken.wait_exit(timeout=60) != 0, broken.logs()
        assert "ci-db: error:" in broken.logs()
        assert "initializing a new cluster" not in broken.logs()
    again = start({"POSTGRES_PASSWORD": "pw"}, volumes=[data])
    again.wait_healthy()
    assert again.psql("SELECT id FROM public.keepme") == "42"
    assert "initializing a new cluster" not in again.logs()


def test_second_start_reuses_volume_and_skips_init_scripts(
    start: Start, volume: str, tmp_path: Path
) -> None:
    """Data survives stop/start; initdb and the user's initdb.d script run only the first time."""
    init = tmp_path / "initdb.d"
    init.mkdir()
    (init / "50-count.sql").write_text(
        "CREATE TABLE IF NOT EXISTS public.init_runs (n int);\n"
        "INSERT INTO public.init_runs VALUES (1);\n"
    )
    init.chmod(0o755)
    (init / "50-count.sql").chmod(0o644)
    mounts = [f"{volume}:/var/lib/postgresql/data", f"{init}:/docker-entrypoint-initdb.d:ro"]
    db = start({"POSTGRES_PASSWORD": "pw"}, volumes=mounts)
    db.wait_healthy()
    db.psql("CREATE TABLE public.survivor (v text); INSERT INTO public.survivor VALUES ('kept')")
    db.stop()
    db.start()
    db.wait_healthy()
    assert db.psql("SELECT v FROM public.survivor") == "kept"
    assert db.psql("SELECT count(*) FROM public.init_runs") == "1"
    assert db.logs().count("initializing a new cluster") == 1
    assert db.psql("SHOW data_checksums") == "on"


def test_healthcheck_is_red_while_server_listens_on_socket_only(
    start: Start, tmp_path: Path
) -> None:
    """During init the start-up server answers on its socket, yet the healthcheck fails."""
    init = tmp_path / "initdb.d"
    init.mkdir()
    hold = init / "90-hold.sh"
    hold.write_text(
        "#!/usr/bin/env bash\necho holding-init >&2\n"
        "for _ in $(seq 1 600); do [ -e /tmp/release ] && exit 0; sleep 0.2; done\n"
    )
    hold.chmod(0o755)
    init.chmod(0o755)
    db = start({"POSTGRES_PASSWORD": "pw"}, volumes=[f"{init}:/docker-entrypoint-initdb.d:ro"])
    db.wait_for_log("holding-init")
    socket_code, _, _ = db.exec_result("pg_isready", "-h", "/var/run/postgresql")
    health_code, _, _ = db.exec_result("/usr/local/bin/ci-db-healthcheck")
    assert (socket_code, health_code != 0) == (0, True)
    assert db.health() != "healthy"
    db.exec("touch", "/tmp/release")
    db.wait_healthy()
    assert db.exec_result("/usr/local/bin/ci-db-healthcheck")[0] == 0


def test_plain_docker_run_with_env_only_becomes_healthy(start: Start) -> None:
    """As a CI service container: env vars only, no command, no mounts, schema deployed."""
    db = start({"POSTGRES_PASSWORD": "pw", "CI_APP_PASSWORD": "app"})
    db.wait_healthy()
    assert db.psql("SELECT count(*) > 0 FROM sqitch.changes") == "t"
    assert db.inspect()["Mounts"][0]["Type"] == "volume"  # only the image's own anonymous volume


def test_changed_role_password_applies_on_restart(start: Start, volume: str) -> None:
    """A new CI_APP_PASSWORD on an existing volume replaces the old one at the next start."""

    def login(db: Container, password: str) -> bool:
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=db.port(5432),
                dbname="contextinject",
                user="ci_app",
                password=password,
                connect_timeout=10,
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    data = f"{volume}:/var/lib/postgresql/data"
    first = start({"POSTGRES_PASSWORD": "pw", "CI_APP_PASSWORD": "old-secret"}, volumes=[data])
    first.wait_healthy()
    assert login(first, "old-secret")
    first.stop()
    second = start({"POSTGRES_PASSWORD": "pw", "CI_APP_PASSWORD": "new-secret"}, volumes=[data])
    second.wait_healthy()
    assert (login(second, "new-secret"), login(second, "old-secret")) == (True, False)
