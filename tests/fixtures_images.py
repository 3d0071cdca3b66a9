"""The images, built once per session, and the `docker` marker for every test that needs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cidb.names import db_image, pooler_image

ROOT = Path(__file__).resolve().parent.parent
# CI_DB_IMAGE / CI_DB_POOLER_IMAGE override the contract's tags, so that two checkouts can run
# their suites side by side without sharing tags.
DB_IMAGE = db_image()
POOLER_IMAGE = pooler_image()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `docker` each test whose fixtures reach the images (`-m "not docker"`: unit tier).

    A fixture reached only through request.getfixturevalue is not in the closure: such a test
    (or its fixture) names `images` itself.
    """
    for item in items:
        if "images" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Both images, built once per run from this checkout (BuildKit's cache makes reruns quick)."""
    from plumbum import local

    build = local["docker"]["build", "--quiet"]
    build["-t", DB_IMAGE, "--target", "postgres", str(ROOT)](timeout=1800)
    build["-t", POOLER_IMAGE, "--target", "pgbouncer", str(ROOT)](timeout=1800)
    return {"db": DB_IMAGE, "pgbouncer": POOLER_IMAGE}
