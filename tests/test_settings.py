"""cidb.settings and friends: pure parsing, no engine needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_images import ROOT

from cidb import names, roles
from cidb.devstack import dev_passwords, parse_dev_passwords
from cidb.settings import MissingPasswordError, Settings, SettingsError, resolve_role


def test_from_env_reads_ports_database_and_given_passwords() -> None:
    """Every field comes from its variable; only the passwords given are known."""
    settings = Settings.from_env(
        {
            "CI_DB_HOST": "db.example",
            "CI_DB_PORT": "15432",
            "CI_DB_POOL_PORT": "16432",
            "POSTGRES_DB": "other",
            "CI_APP_PASSWORD": "app-secret",
        }
    )
    assert (settings.host, settings.port, settings.pool_port) == ("db.example", 15432, 16432)
    assert settings.database == "other"
    assert settings.password("app") == "app-secret"
    assert dict(settings.passwords) == {"ci_app": "app-secret"}


def test_from_env_defaults_to_the_contract_database_and_loopback() -> None:
    """No variables: 127.0.0.1:5432/6432 and the contract's database, no passwords."""
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.pool_port) == ("127.0.0.1", 5432, 6432)
    assert settings.database == names.DATABASE == "contextinject"
    assert dict(settings.passwords) == {}


def test_password_file_is_read_without_its_newline(tmp_path: Path) -> None:
    """NAME_FILE works as in the images (Docker/Kubernetes secrets end in a newline)."""
    secret = tmp_path / "app"
    secret.write_text("from-a-file\n")
    settings = Settings.from_env({"CI_APP_PASSWORD_FILE": str(secret)})
    assert settings.password("ci_app") == "from-a-file"


def test_both_name_and_name_file_is_an_error(tmp_path: Path) -> None:
    """As in the entrypoint: setting both is refused, naming both variables."""
    secret = tmp_path / "app"
    secret.write_text("x")
    env = {"CI_APP_PASSWORD": "y", "CI_APP_PASSWORD_FILE": str(secret)}
    with pytest.raises(SettingsError, match="both CI_APP_PASSWORD and CI_APP_PASSWORD_FILE"):
        Settings.from_env(env)


def test_unreadable_password_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CI_ADMIN_PASSWORD_FILE="):
        Settings.from_env({"CI_ADMIN_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("role", "var"),
    [
        ("app", "CI_APP_PASSWORD"),
        ("ci_migrator", "CI_MIGRATOR_PASSWORD"),
        ("pgbouncer_auth", "PGBOUNCER_AUTH_PASSWORD"),
    ],
)
def test_missing_password_is_an_error_naming_the_variable(role: str, var: str) -> None:
    """The library never falls back to a development password."""
    settings = Settings.from_env({})
    with pytest.raises(MissingPasswordError, match=f"set {var} or {var}_FILE"):
        settings.conninfo(role)
    with pytest.raises(MissingPasswordError, match=var):
        settings.libpq_env(role)


def test_bad_port_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="CI_DB_PORT='x'"):
        Settings.from_env({"CI_DB_PORT": "x"})


def test_resolve_role_accepts_short_names_and_refuses_others() -> None:
    assert [resolve_role(r) for r in ("app", "readonly", "admin", "migrator")] == [
        "ci_app",
        "ci_readonly",
        "ci_admin",
        "ci_migrator",
    ]
    with pytest.raises(ValueError, match="unknown role 'ci_owner'"):
        resolve_role("ci_owner")  # NOLOGIN: nobody connects as it


def test_dev_defaults_fill_only_what_the_environment_leaves_out() -> None:
    """The dev tooling's defaults come second; the environment wins."""
    defaults = {"CI_APP_PASSWORD": "dev-app", "CI_ADMIN_PASSWORD": "dev-admin"}
    settings = Settings.from_env({"CI_APP_PASSWORD": "mine"}, defaults=defaults)
    assert settings.password("app") == "mine"
    assert settings.password("admin") == "dev-admin"


def test_compose_dev_passwords_cover_every_password_variable() -> None:
    """compose.yaml's x-dev-passwords has one default per manifest password variable (and the
    superuser's), and the pgbouncer service reuses its entry rather than restating it."""
    found = dev_passwords(ROOT)
    expected = {roles.superuser_password_env(), *roles.password_env().values()}
    assert set(found) == expected
    assert found["CI_APP_PASSWORD"] == "dev-app-password"
    compose = (ROOT / "compose.yaml").read_text()
    assert compose.count("dev-pgbouncer-auth-password") == 1


def test_parse_dev_passwords_refuses_a_file_without_the_block() -> None:
    with pytest.raises(ValueError, match="x-dev-passwords"):
        parse_dev_passwords("services: {}\n")


def test_image_names_honour_the_overrides() -> None:
    assert names.db_image({}) == "ci-db:17"
    assert names.pooler_image({}) == "ci-db-pgbouncer:17"
    assert names.db_image({"CI_DB_IMAGE": "ci-db:17-x"}) == "ci-db:17-x"
    assert names.pooler_image({"CI_DB_POOLER_IMAGE": "p:1"}) == "p:1"


def test_manifest_matches_the_contract() -> None:
    """An independent, hand-written statement of the contract's roles, checked against the
    manifest the image, the entrypoint and cidb.settings all read."""
    by_name = {role.name: role for role in roles.all_roles()}
    assert set(by_name) == {
        "ci_owner",
        "ci_migrator",
        "ci_app",
        "ci_readonly",
        "ci_admin",
        "pgbouncer_auth",
        "ci_auth_lookup",
        "ci_monitor",
        "ci_partman",
    }
    # ci_partman logs in only as pg_cron's background worker: no password, so not a login role
    # here (pg_hba.conf rejects it over every connection).
    assert by_name["ci_partman"].login and by_name["ci_partman"].password_env is None
    assert {r.name for r in roles.login_roles()} == {
        "ci_migrator",
        "ci_app",
        "ci_readonly",
        "ci_admin",
        "pgbouncer_auth",
        "ci_monitor",
    }
    assert {r.name for r in by_name.values() if r.bypassrls} == {"ci_admin", "ci_auth_lookup"}
    # ci_monitor is looked up for PgBouncer's console only (its pg_hba.conf refuses it elsewhere).
    assert {r.name for r in by_name.values() if r.pooled} == {
        "ci_app",
        "ci_readonly",
        "ci_admin",
        "ci_monitor",
    }
    assert {r.name: r.member_of for r in by_name.values() if r.member_of} == {
        "ci_monitor": ["pg_monitor"]
    }
    assert by_name["ci_migrator"].settings == {"role": "ci_owner"}


# A fresh interpreter: what importing the core pulls in, as top-level package names.
IMPORTED_TOP_LEVEL = """
import sys
before = set(sys.modules)
import cidb.settings, cidb.pool
print("\\n".join(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""


# psycopg's own dependency (typing_extensions) and what its C build registers (cython_runtime).
PSYCOPG_AND_ITS_OWN = {
    "cidb",
    "psycopg",
    "psycopg_pool",
    "psycopg_binary",
    "typing_extensions",
    "cython_runtime",
}


def test_core_imports_only_psycopg_and_the_standard_library() -> None:
    """`pip install cidb` is enough for cidb.settings and cidb.pool: no tooling dependency."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORTED_TOP_LEVEL], check=True, capture_output=True, text=True
    ).stdout.split()
    outside = {
        name for name in out if name not in sys.stdlib_module_names and not name.startswith("_")
    } - PSYCOPG_AND_ITS_OWN
    assert outside == set(), outside
    assert "psycopg_pool" in out


NO_PLUMBUM = """
import sys
sys.modules["plumbum"] = None  # as if the [dev] extra were not installed
from cidb.console import main
main()
"""


def test_console_script_without_the_dev_extra_says_what_to_install() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_PLUMBUM], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "pip install 'cidb[dev]'" in result.stderr
    assert "Traceback" not in result.stderr
