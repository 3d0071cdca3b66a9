"""The names the contract fixes: images and the database (one home; read, never retyped)."""

from __future__ import annotations

import os
from collections.abc import Mapping

DB_IMAGE = "ci-db:17"
POOLER_IMAGE = "ci-db-pgbouncer:17"
DATABASE = "contextinject"
# The same overrides compose.yaml honours, so two checkouts can build side by side.
DB_IMAGE_ENV = "CI_DB_IMAGE"
POOLER_IMAGE_ENV = "CI_DB_POOLER_IMAGE"


def db_image(env: Mapping[str, str] | None = None) -> str:
    """The database image tag: CI_DB_IMAGE, else the contract's ci-db:17."""
    return (os.environ if env is None else env).get(DB_IMAGE_ENV) or DB_IMAGE


def pooler_image(env: Mapping[str, str] | None = None) -> str:
    """The PgBouncer image tag: CI_DB_POOLER_IMAGE, else the contract's ci-db-pgbouncer:17."""
    return (os.environ if env is None else env).get(POOLER_IMAGE_ENV) or POOLER_IMAGE
