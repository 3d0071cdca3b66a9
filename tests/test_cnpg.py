"""ci-db:17 as a CloudNativePG operand image (docs/ha.md, "On Kubernetes"): what the operator
requires of an image, checked on the built image with its entrypoint out of the way, as the
operator's instance manager runs it."""

from __future__ import annotations

import re

import pytest
from support.docker import docker

from cidb.names import DB_IMAGE

# cloudnative-pg.io/documentation/current/container_images: executables on PATH (du is optional,
# for `kubectl cnpg status`).
REQUIRED_ON_PATH = ["initdb", "postgres", "pg_ctl", "pg_controldata", "pg_basebackup", "du"]


def run_without_entrypoint(image: str, script: str) -> str:
    """SCRIPT in a fresh container of IMAGE, no entrypoint, as the image's own user."""
    return docker("run", "--rm", "--entrypoint", "bash", image, "-c", script)


@pytest.mark.parametrize("binary", REQUIRED_ON_PATH)
def test_required_executable_is_on_path(images: dict[str, str], binary: str) -> None:
    """Each executable the operator calls is found on PATH without the entrypoint."""
    assert run_without_entrypoint(images["db"], f"command -v {binary}").strip()


def test_contract_tag_starts_with_the_major_version_the_image_carries(
    images: dict[str, str],
) -> None:
    """The contract's tag (ci-db:17) starts with the PostgreSQL major version inside."""
    tag = DB_IMAGE.rsplit(":", 1)[1]
    version = run_without_entrypoint(images["db"], "postgres --version")
    major = re.search(r"\) (\d+)\.", version)
    assert major is not None
    assert re.match(rf"{major.group(1)}(\D|$)", tag)


def test_image_runs_as_a_numeric_non_root_user(images: dict[str, str]) -> None:
    """USER is numeric and not 0, so runAsNonRoot can verify it (postgresUID: 999)."""
    user = docker("inspect", "--format", "{{.Config.User}}", images["db"]).strip()
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_a_cluster_runs_without_the_entrypoint(images: dict[str, str]) -> None:
    """initdb, pg_ctl and postgres work with the entrypoint bypassed, in the C.UTF-8 locale, and
    the image's extensions (vector, pgaudit) are available to the cluster so made."""
    out = run_without_entrypoint(
        images["db"],
        "set -e; d=$(mktemp -d); initdb -D $d/data --locale=C.UTF-8 -E UTF8 -A trust >/dev/null;"
        " pg_ctl -D $d/data -o '-k /tmp -c listen_addresses=' -w start >/dev/null;"
        " psql -h /tmp -d postgres -qXAtc \"CREATE EXTENSION vector; SELECT string_agg(name, ',' "
        "ORDER BY name) FROM pg_available_extensions WHERE name IN ('vector', 'pgaudit')\";"
        " pg_controldata $d/data | grep -c 'Database cluster state'",
    )
    assert out.split() == ["pgaudit,vector", "1"]


def test_migrate_job_is_in_the_image(images: dict[str, str]) -> None:
    """Under an operator the schema goes through the migrate job (a Kubernetes Job of the same
    image, docs/deploy.md), not the entrypoint: ci-db-migrate is on PATH."""
    assert run_without_entrypoint(images["db"], "command -v ci-db-migrate").strip()
