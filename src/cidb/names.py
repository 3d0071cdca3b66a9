"""The names the contract fixes: images and the database (one home; read, never retyped)."""

from __future__ import annotations

import os
from collections.abc import Mapping

DB_IMAGE = "ci-db:17"
POOLER_IMAGE = "ci-db-pgbouncer:17"
# The CI variant (Dockerfile target ci): migrated at build, a template to clone per test.
CI_IMAGE = "ci-db:17-ci"
DB_TARGET = "postgres"
CI_TARGET = "ci"
# In the ci image: the database every test database is cloned from, and the role that clones.
TEMPLATE_DATABASE = "contextinject_template"
TEST_ROLE = "ci_test"
TEST_PASSWORD_ENV = "CI_TEST_PASSWORD"
DATABASE = "contextinject"
# The same overrides compose.yaml honours, so two checkouts can build side by side.
DB_IMAGE_ENV = "CI_DB_IMAGE"
POOLER_IMAGE_ENV = "CI_DB_POOLER_IMAGE"
CI_IMAGE_ENV = "CI_DB_CI_IMAGE"
# Which Dockerfile target the test suite builds as CI_DB_IMAGE (postgres, or ci to run the
# schema, RLS and role suites against the CI variant).
DB_TARGET_ENV = "CI_DB_TARGET"


# The compose `metrics` profile's images: target -> (override variable, contract-style tag).
METRICS_IMAGES = {
    "postgres-exporter": ("CI_DB_POSTGRES_EXPORTER_IMAGE", "ci-db-postgres-exporter:17"),
    "pgbouncer-exporter": ("CI_DB_PGBOUNCER_EXPORTER_IMAGE", "ci-db-pgbouncer-exporter:17"),
    "prometheus": ("CI_DB_PROMETHEUS_IMAGE", "ci-db-prometheus:17"),
}
# compose.ha.yaml's images (README "High availability"): target -> (override variable, tag).
HA_IMAGES = {
    "ha": ("CI_DB_HA_IMAGE", "ci-db:17-ha"),
    "etcd": ("CI_DB_ETCD_IMAGE", "ci-db-etcd:17"),
    "haproxy": ("CI_DB_HAPROXY_IMAGE", "ci-db-haproxy:17"),
}
# compose.ha.yaml's PgBouncer database for reads on the replicas (the contract's name).
RO_DATABASE = "contextinject_ro"
# The role the exporters and `cidb top` log in as (pg_monitor, PgBouncer stats_users).
MONITOR_ROLE = "ci_monitor"


def _images(table: Mapping[str, tuple[str, str]], env: Mapping[str, str] | None) -> dict[str, str]:
    source = os.environ if env is None else env
    return {target: source.get(var) or tag for target, (var, tag) in table.items()}


def metrics_images(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Dockerfile target -> image tag of the metrics profile (overridable like CI_DB_IMAGE)."""
    return _images(METRICS_IMAGES, env)


def ha_images(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Dockerfile target -> image tag of compose.ha.yaml (overridable like CI_DB_IMAGE)."""
    return _images(HA_IMAGES, env)


def db_image(env: Mapping[str, str] | None = None) -> str:
    """The database image tag: CI_DB_IMAGE, else the contract's ci-db:17."""
    return (os.environ if env is None else env).get(DB_IMAGE_ENV) or DB_IMAGE


def pooler_image(env: Mapping[str, str] | None = None) -> str:
    """The PgBouncer image tag: CI_DB_POOLER_IMAGE, else the contract's ci-db-pgbouncer:17."""
    return (os.environ if env is None else env).get(POOLER_IMAGE_ENV) or POOLER_IMAGE


def ci_image(env: Mapping[str, str] | None = None) -> str:
    """The CI variant's tag: CI_DB_CI_IMAGE, else the contract's ci-db:17-ci."""
    return (os.environ if env is None else env).get(CI_IMAGE_ENV) or CI_IMAGE


def db_target(env: Mapping[str, str] | None = None) -> str:
    """The Dockerfile target built as the database image: CI_DB_TARGET (postgres or ci)."""
    target = (os.environ if env is None else env).get(DB_TARGET_ENV) or DB_TARGET
    if target not in (DB_TARGET, CI_TARGET):
        raise ValueError(f"{DB_TARGET_ENV}={target!r}: use {DB_TARGET} or {CI_TARGET}")
    return target
