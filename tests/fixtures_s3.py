"""The test-only S3 server (tests/s3): its image built once, one server for the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support.s3 import S3Server


@pytest.fixture(scope="session")
def s3_image(images: dict[str, str]) -> str:
    from support.s3 import build_image

    return build_image()


@pytest.fixture(scope="session")
def s3(s3_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3 server over TLS on a network of its own; a database joins it (S3Server.db_options)
    and takes a bucket of its own (create_bucket)."""
    from support.s3 import s3_server

    with s3_server(s3_image, tmp_path_factory.mktemp("s3")) as server:
        yield server
