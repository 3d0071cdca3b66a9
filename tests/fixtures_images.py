"""The images, built once per session, and the `docker` marker for every test that needs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cidb.names import ci_image, db_image, db_target, pooler_image

ROOT = Path(__file__).resolve().parent.parent
# CI_DB_IMAGE / CI_DB_POOLER_IMAGE override the contract's tags, so that two checkouts can run
# their suites side by side without sharing tags.
DB_IMAGE = db_image()
POOLER_IMAGE = pooler_image()
# CI_DB_TARGET=ci (with CI_DB_IMAGE=ci-db:17-ci): the suites that use `images` (the compose
# stack, fresh_db) run against the CI variant; scripts/test.sh runs the schema, RLS and role
# suites so.
DB_TARGET = db_target()
CI_IMAGE = ci_image()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `docker` each test whose fixtures reach the images (`-m "not docker"`: unit tier).

    A fixture reached only through request.getfixturevalue is not in the closure: such a test
    (or its fixture) names `images` itself.
    """
    for item in items:
        if {"images", "ci_images", "ha_images_built"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Both images, built once per run from this checkout (BuildKit's cache makes reruns quick)."""
    from plumbum import local

    build = local["docker"]["build", "--quiet"]
    build["-t", DB_IMAGE, "--target", DB_TARGET, str(ROOT)](timeout=1800)
    build["-t", POOLER_IMAGE, "--target", "pgbouncer", str(ROOT)](timeout=1800)
    return {"db": DB_IMAGE, "pgbouncer": POOLER_IMAGE}


@pytest.fixture(scope="session")
def ci_images(images: dict[str, str]) -> dict[str, str]:
    """The CI variant beside ci-db:17 (built from the same cached stages, so quick)."""
    from plumbum import local

    if DB_TARGET != "ci":
        local["docker"]["build", "--quiet", "-t", CI_IMAGE, "--target", "ci", str(ROOT)](
            timeout=1800
        )
    return {**images, "ci": DB_IMAGE if DB_TARGET == "ci" else CI_IMAGE}
