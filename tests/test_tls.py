"""TLS: a certificate from env or *_FILE on the db and PgBouncer; verify-full gets through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import testinfra
from fixtures_db import FreshDb
from fixtures_images import DB_IMAGE
from psycopg.conninfo import make_conninfo
from support.docker import (
    LOCKED_DOWN,
    SESSION_LABEL,
    Container,
    docker,
    run_container,
    stops_with_one_error,
    unique_name,
    volume_is_empty,
)
from support.pgbouncer import POOLER_IMAGE, console, show, show_config, start_pooler
from support.tls import Pki, make_pki

from cidb.settings import Settings

pytestmark = pytest.mark.slow

APP_PASSWORD = "tls-app-password"
ADMIN_PASSWORD = "tls-admin-password"
AUTH_PASSWORD = "tls-pgbouncer-auth-password"
DB_ENV = {
    "POSTGRES_PASSWORD": "tls-postgres-password",
    "CI_APP_PASSWORD": APP_PASSWORD,
    "CI_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD,
}
SECRETS = "/run/secrets"
DB_KEY_COPY = "/var/run/postgresql/tls/tls.key"
# libpq's words when the server answers "no" to its SSL request; docs/tls.md quotes them.
NO_TLS_ERROR = "server does not support SSL, but SSL was required"


def connect(port: int, sslmode: str, rootcert: Path | None = None) -> psycopg.Connection:
    """ci_app at localhost:PORT with SSLMODE (and ROOTCERT as sslrootcert)."""
    extra = {"sslrootcert": str(rootcert)} if rootcert else {}
    return psycopg.connect(
        make_conninfo(
            host="localhost",
            port=port,
            dbname="contextinject",
            user="ci_app",
            password=APP_PASSWORD,
            sslmode=sslmode,
            connect_timeout=30,
            **extra,
        ),
        autocommit=True,
    )


def server_tls(conn: psycopg.Connection) -> tuple[bool, str | None]:
    """What PostgreSQL reports about the connection serving this statement."""
    row = conn.execute(
        "SELECT ssl, version FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def admin_console(pooler: Container) -> psycopg.Connection:
    settings = Settings(passwords={"ci_admin": ADMIN_PASSWORD})
    return console(settings, pooler.port(6432), "admin")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def network(images: dict[str, str]) -> Iterator[str]:
    """A network of our own, where the TLS db answers to `db`, the name in its certificate."""
    name = unique_name("cidb-test-tls")
    docker("network", "create", "--label", SESSION_LABEL, name)
    yield name
    docker("network", "rm", name, retcode=None)


def _healthy(container: Container) -> Container:
    try:
        container.wait_healthy()
    except Exception:
        container.remove()
        raise
    return container


@pytest.fixture(scope="module")
def tls_db(network: str, pki: Pki) -> Iterator[Container]:
    """The db, locked down, with its certificate chain as a secret file and its key as PEM text."""
    db = run_container(
        DB_IMAGE,
        env={
            **DB_ENV,
            "CI_DB_TLS_CERT_FILE": f"{SECRETS}/db.crt",
            "CI_DB_TLS_KEY": pki.server_key.read_text(),
        },
        volumes=[f"{pki.server_chain}:{SECRETS}/db.crt:ro"],
        # TLS must work with the locked-down runtime too.
        extra=(*LOCKED_DOWN, "--network", network, "--network-alias", "db"),
    )
    yield _healthy(db)
    db.remove()


@pytest.fixture(scope="module")
def tls_pooler(network: str, pki: Pki, tls_db: Container) -> Iterator[Container]:
    """PgBouncer with the certificate as PEM text, its key and the db's CA as secret files."""
    pooler = start_pooler(
        network,
        env={
            "PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD,
            "PGBOUNCER_TLS_CERT": pki.server_chain.read_text(),
            "PGBOUNCER_TLS_KEY_FILE": f"{SECRETS}/pgbouncer.key",
            "PGBOUNCER_SERVER_TLS_CA_FILE": f"{SECRETS}/db-ca.crt",
        },
        volumes=(
            f"{pki.server_key}:{SECRETS}/pgbouncer.key:ro",
            f"{pki.root_ca}:{SECRETS}/db-ca.crt:ro",
        ),
    )
    yield pooler
    pooler.remove()


@pytest.fixture(scope="module")
def plain_pooler(network: str, tls_db: Container) -> Iterator[Container]:
    """PgBouncer without any TLS setting, in front of the TLS db."""
    pooler = start_pooler(network, env={"PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD})
    yield pooler
    pooler.remove()


@pytest.fixture(scope="module")
def plain_db(images: dict[str, str]) -> Iterator[Container]:
    """The db without a certificate."""
    db = run_container(DB_IMAGE, env=DB_ENV)
    yield _healthy(db)
    db.remove()


@pytest.fixture(params=["direct", "pgbouncer"])
def tls_port(request: pytest.FixtureRequest, images: dict[str, str]) -> int:
    """The TLS db's port, or the port of the TLS PgBouncer in front of it."""
    if request.param == "direct":
        return request.getfixturevalue("tls_db").port(5432)
    return request.getfixturevalue("tls_pooler").port(6432)


@pytest.fixture(params=["direct", "pgbouncer"])
def plain_port(request: pytest.FixtureRequest, images: dict[str, str]) -> int:
    """A db without a certificate, or a PgBouncer without one."""
    if request.param == "direct":
        return request.getfixturevalue("plain_db").port(5432)
    return request.getfixturevalue("plain_pooler").port(6432)


# --- With a certificate -------------------------------------------------------------------------


def test_verify_full_client_gets_an_encrypted_session(tls_port: int, pki: Pki) -> None:
    """verify-full against the root CA connects (the intermediate comes with the certificate),
    and the server connection behind it is encrypted too."""
    with connect(tls_port, "verify-full", pki.root_ca) as conn:
        assert conn.pgconn.ssl_in_use
        ssl, version = server_tls(conn)
        assert ssl and version in {"TLSv1.2", "TLSv1.3"}


def test_verify_full_refuses_a_server_from_another_ca(tls_port: int, pki: Pki) -> None:
    """A client that trusts another CA does not log in."""
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(tls_port, "verify-full", pki.other_ca)


def test_db_serves_a_private_copy_of_the_key_and_keeps_it_out_of_its_environment(
    tls_db: Container, pki: Pki
) -> None:
    """The key is copied to the run dir (tmpfs), 0600 for postgres; the server's env lacks it."""
    host = testinfra.get_host(f"docker://{tls_db.name}")
    key = host.file(DB_KEY_COPY)
    assert (key.user, key.mode) == ("postgres", 0o600)
    assert key.content_string.strip() == pki.server_key.read_text().strip()
    assert tls_db.psql("SELECT setting, source FROM pg_settings WHERE name = 'ssl'") == (
        "on|command line"
    )
    assert tls_db.psql("SHOW ssl_key_file") == DB_KEY_COPY
    postmaster_env = tls_db.exec("cat", "/proc/1/environ")
    assert "CI_DB_TLS_KEY" not in postmaster_env
    assert "PRIVATE KEY" not in postmaster_env


@pytest.mark.parametrize("service", ["tls_db", "tls_pooler"])
def test_image_has_the_openssl_the_entrypoint_checks_pairs_with(
    request: pytest.FixtureRequest, images: dict[str, str], service: str
) -> None:
    """openssl comes in through postgresql-common -> ssl-cert, not by name: make sure it stays."""
    container: Container = request.getfixturevalue(service)
    assert testinfra.get_host(f"docker://{container.name}").package("openssl").is_installed


def test_pgbouncer_reports_tls_on_both_sides(tls_pooler: Container, pki: Pki) -> None:
    """The console shows client TLS offered, the db verified in full, and a TLS server link."""
    with connect(tls_pooler.port(6432), "verify-full", pki.root_ca) as conn:
        conn.execute("SELECT 1")
    with admin_console(tls_pooler) as admin:
        config = show_config(admin)
        servers = show(admin, "SERVERS")
    assert config["client_tls_sslmode"] == "prefer"
    assert config["server_tls_sslmode"] == "verify-full"
    assert servers and all(s["tls"].startswith("TLSv1.") for s in servers), servers


def test_pgbouncer_refuses_a_db_its_server_ca_did_not_sign(
    network: str, pki: Pki, tls_db: Container
) -> None:
    """With PGBOUNCER_SERVER_TLS_CA naming another CA, PgBouncer never logs in to the db."""
    pooler = start_pooler(
        network,
        env={
            "PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD,
            "PGBOUNCER_SERVER_TLS_CA": pki.other_ca.read_text(),
        },
        wait=False,
    )
    try:
        pooler.wait_for_log("process up: PgBouncer", timeout=60)
        # PgBouncer queues the login until query_wait_timeout (15 s), then gives up.
        with pytest.raises(psycopg.OperationalError):
            connect(pooler.port(6432), "disable")
        pooler.wait_for_log("certificate verify failed", timeout=30)
    finally:
        pooler.remove()


def test_pgbouncer_without_settings_still_encrypts_its_hop_to_a_tls_db(
    plain_pooler: Container,
) -> None:
    """server_tls_sslmode stays prefer: the PgBouncer -> db link uses the TLS the db offers."""
    with connect(plain_pooler.port(6432), "disable") as conn:
        assert not conn.pgconn.ssl_in_use
        assert server_tls(conn)[0]
    with admin_console(plain_pooler) as admin:
        config = show_config(admin)
    assert (config["client_tls_sslmode"], config["server_tls_sslmode"]) == ("disable", "prefer")


# --- Without a certificate ----------------------------------------------------------------------


def test_without_a_certificate_require_fails_with_libpqs_error(plain_port: int) -> None:
    """No certificate, no TLS: sslmode=require gets libpq's documented refusal."""
    with pytest.raises(psycopg.OperationalError, match=NO_TLS_ERROR):
        connect(plain_port, "require")


def test_without_a_certificate_prefer_connects_unencrypted(plain_port: int) -> None:
    """sslmode=prefer (libpq's default) falls back to an unencrypted session."""
    with connect(plain_port, "prefer") as conn:
        assert not conn.pgconn.ssl_in_use


def test_without_a_certificate_the_db_reports_ssl_off(plain_db: Container) -> None:
    """ssl stays at postgresql.conf's default, off, and no key is written."""
    assert plain_db.psql("SHOW ssl") == "off"
    code, _, _ = plain_db.exec_result("test", "-e", DB_KEY_COPY)
    assert code != 0


# --- Bad input -----------------------------------------------------------------------------------

Env = Callable[[Pki], dict[str, str]]
CERT_FILE = f"{SECRETS}/db.crt"

BAD_DB_ENVIRONMENTS = [
    pytest.param(
        lambda p: {"CI_DB_TLS_CERT_FILE": CERT_FILE},
        "CI_DB_TLS_CERT (or CI_DB_TLS_CERT_FILE) is set but CI_DB_TLS_KEY",
        id="cert-without-key",
    ),
    pytest.param(
        lambda p: {"CI_DB_TLS_KEY": p.server_key.read_text()},
        "CI_DB_TLS_KEY (or CI_DB_TLS_KEY_FILE) is set but CI_DB_TLS_CERT",
        id="key-without-cert",
    ),
    pytest.param(
        lambda p: {"CI_DB_TLS_CERT_FILE": CERT_FILE, "CI_DB_TLS_KEY": p.other_key.read_text()},
        "CI_DB_TLS_KEY does not belong to the certificate in CI_DB_TLS_CERT",
        id="key-of-another-certificate",
    ),
    pytest.param(
        lambda p: {"CI_DB_TLS_CERT": "not a certificate", "CI_DB_TLS_KEY": "nor a key"},
        "CI_DB_TLS_CERT (or CI_DB_TLS_CERT_FILE) is not a PEM certificate",
        id="not-pem",
    ),
    pytest.param(
        lambda p: {
            "CI_DB_TLS_CERT": p.server_chain.read_text(),
            "CI_DB_TLS_CERT_FILE": CERT_FILE,
            "CI_DB_TLS_KEY": p.server_key.read_text(),
        },
        "both CI_DB_TLS_CERT and CI_DB_TLS_CERT_FILE are set",
        id="cert-and-file",
    ),
]


@pytest.mark.parametrize(("env", "message"), BAD_DB_ENVIRONMENTS)
def test_bad_tls_environment_stops_the_db_before_it_touches_the_volume(
    fresh_db: FreshDb, volume: str, pki: Pki, env: Env, message: str
) -> None:
    """One error line naming the variable to fix, a non-zero exit, and an empty volume."""
    db = fresh_db(
        {"POSTGRES_PASSWORD": "pw", **env(pki)},
        wait=False,
        ports=(),
        volumes=[f"{volume}:/var/lib/postgresql/data", f"{pki.server_chain}:{CERT_FILE}:ro"],
    )
    stops_with_one_error(db, message)
    assert volume_is_empty(volume)


BAD_POOLER_ENVIRONMENTS = [
    pytest.param(
        lambda p: {"PGBOUNCER_TLS_CERT": p.server_chain.read_text()},
        "PGBOUNCER_TLS_CERT (or PGBOUNCER_TLS_CERT_FILE) is set but PGBOUNCER_TLS_KEY",
        id="cert-without-key",
    ),
    pytest.param(
        lambda p: {"PGBOUNCER_SERVER_TLS_CA": "not a certificate"},
        "PGBOUNCER_SERVER_TLS_CA (or PGBOUNCER_SERVER_TLS_CA_FILE) is not a PEM certificate",
        id="server-ca-not-pem",
    ),
]


@pytest.mark.parametrize(("env", "message"), BAD_POOLER_ENVIRONMENTS)
def test_bad_tls_environment_stops_pgbouncer(
    images: dict[str, str], pki: Pki, env: Env, message: str
) -> None:
    """PgBouncer does not start, and says which variable to fix."""
    pooler = run_container(
        POOLER_IMAGE,
        env={"PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD, **env(pki)},
        prefix="cidb-test-pgbouncer",
        ports=(),
    )
    try:
        assert pooler.wait_exit(timeout=60) == 1
        assert message in pooler.logs()
    finally:
        pooler.remove()
