"""Connection settings for the ci-db stack, read from the same env vars compose uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# compose.yaml's documented development defaults; real deployments set the env vars.
DEV_PASSWORDS: dict[str, str] = {
    "ci_migrator": "dev-migrator-password",
    "ci_app": "dev-app-password",
    "ci_readonly": "dev-readonly-password",
    "ci_admin": "dev-admin-password",
    "pgbouncer_auth": "dev-pgbouncer-auth-password",
}
PASSWORD_ENV: dict[str, str] = {
    "ci_migrator": "CI_MIGRATOR_PASSWORD",
    "ci_app": "CI_APP_PASSWORD",
    "ci_readonly": "CI_READONLY_PASSWORD",
    "ci_admin": "CI_ADMIN_PASSWORD",
    "pgbouncer_auth": "PGBOUNCER_AUTH_PASSWORD",
}
ROLE_ALIASES: dict[str, str] = {
    "app": "ci_app",
    "readonly": "ci_readonly",
    "admin": "ci_admin",
    "migrator": "ci_migrator",
}


def _read_secret(env: Mapping[str, str], name: str) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE, as the images read them."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    return None


def resolve_role(role: str) -> str:
    """Accept the short names (app, readonly, admin, migrator) and the contract's role names."""
    name = ROLE_ALIASES.get(role, role)
    if name not in PASSWORD_ENV:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(sorted(PASSWORD_ENV))}")
    return name


@dataclass(frozen=True)
class Settings:
    """Where the stack listens and how each role logs in."""

    host: str = "127.0.0.1"
    port: int = 5432
    pool_port: int = 6432
    database: str = "contextinject"
    passwords: Mapping[str, str] = field(default_factory=lambda: dict(DEV_PASSWORDS))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        passwords = {
            role: _read_secret(env, var) or DEV_PASSWORDS[role]
            for role, var in PASSWORD_ENV.items()
        }
        return cls(
            host=env.get("CI_DB_HOST", "127.0.0.1"),
            port=int(env.get("CI_DB_PORT") or 5432),
            pool_port=int(env.get("CI_DB_POOL_PORT") or 6432),
            database=env.get("POSTGRES_DB", "contextinject"),
            passwords=passwords,
        )

    def conninfo(self, role: str, *, pooled: bool = False, **extra: str | int) -> str:
        """A libpq conninfo string for ROLE, direct or through PgBouncer."""
        from psycopg.conninfo import make_conninfo

        name = resolve_role(role)
        return make_conninfo(
            host=self.host,
            port=self.pool_port if pooled else self.port,
            dbname=self.database,
            user=name,
            password=self.passwords[name],
            **extra,
        )

    def libpq_env(self, role: str, *, pooled: bool = False) -> dict[str, str]:
        """PG* variables for a child process: the password travels here, never in argv."""
        name = resolve_role(role)
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.pool_port if pooled else self.port),
            "PGDATABASE": self.database,
            "PGUSER": name,
            "PGPASSWORD": self.passwords[name],
        }
