"""The CI variant (ci-db:17-ci) and a database per test: clones, the cidb.testing plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures_images import ROOT
from psycopg import errors

from cidb import clones, names, roles
from cidb.settings import Settings

PASSWORDS = {var: uuid.uuid4().hex for var in roles.password_env().values()}
ENV = {**PASSWORDS, "POSTGRES_PASSWORD": uuid.uuid4().hex, "CI_TEST_PASSWORD": uuid.uuid4().hex}


@pytest.fixture(scope="module")
def ci_db(ci_images: dict[str, str]) -> Iterator[Any]:
    """A ci-db:17-ci container with passwords of this module's own, healthy."""
    from support.docker import run_container

    container = run_container(ci_images["ci"], env=ENV)
    try:
        container.wait_healthy()
        yield container
    finally:
        container.remove()


@pytest.fixture(scope="module")
def ci_env(ci_db: Any) -> dict[str, str]:
    """The environment a user's suite would have: where the server is and the passwords."""
    return {**ENV, "CI_DB_HOST": "127.0.0.1", "CI_DB_PORT": str(ci_db.port(5432))}


@pytest.fixture
def clone(ci_env: dict[str, str]) -> Iterator[Settings]:
    """One clone for the test, dropped after."""
    base = Settings.from_env(ci_env)
    made = clones.create_clone(base, env=ci_env)
    yield made
    clones.drop_clone(base, made.database, env=ci_env)


@pytest.fixture
def on(clone: Settings) -> Iterator[Callable[..., psycopg.Connection]]:
    """Connections to the clone as a contract role; closed after the test."""
    opened: list[psycopg.Connection] = []

    def _connect(role: str, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(clone.conninfo(role), autocommit=autocommit)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


def single_user(image: str, query: str) -> str:
    """QUERY's output from the image's own data directory, no server and no entrypoint."""
    return subprocess.run(
        ["docker", "run", "--rm", "-i", "--entrypoint", "postgres", image, "--single",
         "-D", "/var/lib/postgresql/ci-data", "-c", "config_file=/etc/postgresql/postgresql.conf",
         "postgres"],
        input=query, capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip


def test_ci_image_has_no_password_baked_in(ci_images: dict[str, str]) -> None:
    """In the image as built, no role (the superuser included) has a password."""
    out = single_user(
        ci_images["ci"],
        "SELECT count(*) AS with_password FROM pg_authid WHERE rolpassword IS NOT NULL\n",
    )
    assert 'with_password = "0"' in out, out
    env = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .Config.Env}}", ci_images["ci"]],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "PASSWORD" not in env


def test_ci_start_takes_passwords_from_env_and_skips_the_deploy(ci_db: Any, on: Any) -> None:
    """Roles log in with this start's passwords; the plan deployed at build is not re-run."""
    assert on("ci_app").execute("SELECT current_user").fetchone() == ("ci_app",)
    logs = ci_db.logs()
    assert "not re-deploying" in logs
    assert "deploying the Sqitch plan" not in logs


def test_ci_healthcheck_is_red_until_the_last_change_is_deployed(ci_db: Any) -> None:
    """The same healthcheck: with the plan's last change missing from the registry it fails."""
    assert ci_db.exec_result("/usr/local/bin/ci-db-healthcheck")[0] == 0
    ci_db.psql("UPDATE sqitch.changes SET change = change || '~hidden' WHERE committed_at ="
               " (SELECT max(committed_at) FROM sqitch.changes)")  # fmt: skip
    try:
        code, _, err = ci_db.exec_result("/usr/local/bin/ci-db-healthcheck")
        assert code != 0 and "is not deployed" in err
    finally:
        ci_db.psql("UPDATE sqitch.changes SET change = replace(change, '~hidden', '')")
    assert ci_db.exec_result("/usr/local/bin/ci-db-healthcheck")[0] == 0


def test_durability_is_off_in_the_ci_image_only(ci_db: Any, fresh_db: Any) -> None:
    """fsync, synchronous_commit and full_page_writes: off in ci-db:17-ci, on in ci-db:17."""
    settings = "fsync, synchronous_commit, full_page_writes"
    query = f"SELECT {', '.join(f'current_setting({s!r})' for s in settings.split(', '))}"
    assert ci_db.psql(query).split("|") == ["off", "off", "off"]
    plain = fresh_db({"POSTGRES_PASSWORD": uuid.uuid4().hex})
    assert plain.psql(query).split("|") == ["on", "on", "on"]


def test_test_role_may_create_databases_and_nothing_more(ci_db: Any) -> None:
    """ci_test: LOGIN CREATEDB; not superuser, no CREATEROLE, no BYPASSRLS, member of nothing."""
    attrs = ci_db.psql(
        "SELECT rolcanlogin, rolcreatedb, rolsuper, rolcreaterole, rolbypassrls,"
        " (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)"
        " FROM pg_roles AS r WHERE rolname = 'ci_test'"
    )
    assert attrs.split("|") == ["t", "t", "f", "f", "f", "0"]
    others = ci_db.psql("SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolcreatedb"
                        " AND NOT rolsuper")  # fmt: skip
    assert others == "ci_test"


def test_template_is_closed_to_login_roles(ci_env: dict[str, str]) -> None:
    """Nobody but the superuser connects to the template (a session there blocks every clone)."""
    settings = Settings.from_env({**ci_env, "POSTGRES_DB": names.TEMPLATE_DATABASE})
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(settings.conninfo("ci_app"))


def test_clone_has_the_deployed_plan_and_the_login_grants(on: Any, clone: Settings) -> None:
    """A clone carries the migrated schema; the login roles connect, PUBLIC may not."""
    assert on("ci_migrator").execute("SELECT count(*) FROM sqitch.changes").fetchone()[0] > 0
    admin = on("ci_admin")
    acl = admin.execute(
        "SELECT datacl::text FROM pg_database WHERE datname = current_database()"
    ).fetchone()[0]
    assert "ci_app=c/" in acl and "ci_readonly=c/" in acl
    assert not any(item.startswith("=") for item in acl.strip("{}").split(","))


def make_tenant(admin: psycopg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    row = admin.execute(
        "WITH t AS (INSERT INTO public.tenants (name, slug) VALUES (%s, %s) RETURNING id)"
        " INSERT INTO public.projects (tenant_id, name) SELECT id, 'p' FROM t"
        " RETURNING tenant_id, id",
        (slug, slug),
    ).fetchone()
    return row[0], row[1]


def test_rls_in_a_clone_shows_ci_app_its_tenant_only(on: Any) -> None:
    """In a clone as in the template: ci_app sees its tenant's rows, none with no tenant set."""
    admin = on("ci_admin")
    (a, _), (b, _) = make_tenant(admin), make_tenant(admin)
    app = on("ci_app", autocommit=False)
    with app.transaction():
        app.execute("SELECT set_config('app.tenant_id', %s, true)", (str(a),))
        assert app.execute("SELECT tenant_id FROM public.projects").fetchall() == [(a,)]
    with app.transaction():
        assert app.execute("SELECT count(*) FROM public.projects").fetchone() == (0,)
    del b


def test_readonly_cannot_write_in_a_clone(on: Any) -> None:
    """ci_readonly is refused an INSERT in a clone, its tenant set or not."""
    tenant, _ = make_tenant(on("ci_admin"))
    ro = on("ci_readonly", autocommit=False)
    with pytest.raises(errors.InsufficientPrivilege), ro.transaction():
        ro.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
        ro.execute("INSERT INTO public.projects (tenant_id, name) VALUES (%s, 'x')", (tenant,))


def test_plugin_isolates_parallel_tests(ci_env: dict[str, str], tmp_path: Path) -> None:
    """pytest -n 2 on tests/plugin_suite: two tests writing the same rows never see each other
    (and the README's example passes)."""
    suite = ROOT / "tests" / "plugin_suite"
    # The outer run's PYTEST_ADDOPTS (.ci/run sets -q) would make this one print no summary.
    outer = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env = {**outer, **ci_env, "CIDB_PLUGIN_BARRIER": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", "-c", str(suite / "pytest.ini"),
         "--rootdir", str(suite), str(suite)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_cidb_db_create_prints_a_url_and_drop_removes_it(ci_env: dict[str, str]) -> None:
    """`cidb db create --env` prints a ci_app URL to a new clone; `cidb db drop NAME` drops it."""
    cidb = str(Path(sys.executable).parent / "cidb")
    env = {**os.environ, **ci_env}
    run = subprocess.run([cidb, "db", "create", "--env"], env=env, capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    url = run.stdout.strip()
    name = url.rsplit("/", 1)[1]
    assert name.startswith(clones.PREFIX)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            "ci_app",
            name,
        )
    subprocess.run([cidb, "db", "drop", "--env", name], env=env, timeout=60, check=True)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url)


def clone_names(settings: Settings, env: dict[str, str]) -> set[str]:
    with clones.cloner(settings, env) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (clones.PREFIX + "%",)
        ).fetchall()
    return {row[0] for row in rows}


def test_clone_pool_keeps_clones_ready_and_drops_what_it_gets_back(
    ci_env: dict[str, str],
) -> None:
    """Two clones exist before the first take; a taken one is refilled, dropped when given
    back, and closing the pool drops the ready ones."""
    from cidb.containers import wait_until

    base = Settings.from_env(ci_env)
    before = clone_names(base, ci_env)

    def made() -> set[str]:
        return clone_names(base, ci_env) - before

    with clones.ClonePool(base, ci_env, ready=2) as pool:
        wait_until(lambda: len(made()) == 2, 60, lambda: f"clones made: {made()}")
        taken = pool.take()
        assert taken.database in made()
        with psycopg.connect(taken.conninfo("ci_app")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (taken.database,)
        wait_until(lambda: len(made()) == 3, 60, lambda: f"not refilled: {made()}")
        pool.give_back(taken.database)
        wait_until(lambda: taken.database not in made(), 60, lambda: f"not dropped: {made()}")
        second = pool.take()
        assert second.database != taken.database
        pool.give_back(second.database)
    assert made() == set()


def test_clone_pool_names_a_missing_template(ci_env: dict[str, str]) -> None:
    """A template that does not exist: take() fails with the server's reason, not a timeout."""
    env = {**ci_env, "CI_DB_TEMPLATE": "no_such_template"}
    with (
        clones.ClonePool(Settings.from_env(env), env) as pool,
        pytest.raises(RuntimeError, match='"no_such_template" does not exist'),
    ):
        pool.take(timeout=60)


def test_user_init_files_reach_the_clones_across_restarts(
    ci_images: dict[str, str], tmp_path: Path
) -> None:
    """An init file's rows are in every clone, at the first start (the template remade) and
    after a restart (the template brought up to date in place); the clones live on the tmpfs
    tablespace, which a restart (the tmpfs emptied) makes again."""
    from support.docker import run_container

    (tmp_path / "50-marker.sql").write_text(
        "INSERT INTO public.tenants (name, slug) VALUES ('From an init file', 'init-file');\n"
    )
    tmp_path.chmod(0o755)
    (tmp_path / "50-marker.sql").chmod(0o644)
    container = run_container(
        ci_images["ci"],
        env=ENV,
        volumes=[f"{tmp_path}:/docker-entrypoint-initdb.d:ro"],
        extra=["--tmpfs", "/var/lib/postgresql/clones:uid=999,gid=999"],
    )
    try:
        for start in ("first start", "restart"):
            if start == "restart":
                container.restart()
            container.wait_healthy()
            env = {**ENV, "CI_DB_HOST": "127.0.0.1", "CI_DB_PORT": str(container.port(5432))}
            base = Settings.from_env(env)
            made = clones.create_clone(base, env=env)
            try:
                with psycopg.connect(made.conninfo("ci_admin")) as admin:
                    slugs = admin.execute("SELECT slug FROM public.tenants").fetchall()
                    tablespace = admin.execute(
                        "SELECT t.spcname FROM pg_database AS d"
                        " JOIN pg_tablespace AS t ON t.oid = d.dattablespace"
                        " WHERE d.datname = current_database()"
                    ).fetchone()
                assert slugs == [("init-file",)], start
                assert tablespace == (clones.TABLESPACE,), start
                assert (
                    container.exec(
                        "findmnt", "-n", "-o", "FSTYPE", "/var/lib/postgresql/clones"
                    ).strip()
                    == "tmpfs"
                )
            finally:
                clones.drop_clone(base, made.database, env=env)
    finally:
        container.remove()


def test_a_clone_dir_postgres_cannot_write_stops_the_start_with_the_fix(
    ci_images: dict[str, str],
) -> None:
    """A tmpfs mounted without uid 999: the container exits and its log names the mount option."""
    from support.docker import run_container

    container = run_container(
        ci_images["ci"], env=ENV, extra=["--tmpfs", "/var/lib/postgresql/clones:mode=0755"]
    )
    try:
        assert container.wait_exit() != 0
        assert "--tmpfs /var/lib/postgresql/clones:uid=999,gid=999" in container.logs()
    finally:
        container.remove()
