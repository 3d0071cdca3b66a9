"""Image sizes: ci-db and its pooler beside a naive trixie + postgresql-17 + pgvector build."""

from __future__ import annotations

import json
from dataclasses import dataclass

from plumbum import local

from cidb.names import db_image, pooler_image

NAIVE_IMAGE = "ci-db-naive:17"
# What most people write first: stock Debian packages, recommends and all, no clean-up.
NAIVE_DOCKERFILE = """\
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y postgresql-17 postgresql-17-pgvector
"""


@dataclass(frozen=True)
class ImageSize:
    image: str
    bytes: int

    @property
    def mib(self) -> float:
        return self.bytes / 2**20


def image_size(image: str) -> ImageSize:
    info = json.loads(local["docker"]("image", "inspect", image))[0]
    return ImageSize(image, int(info["Size"]))


def build_naive() -> None:
    (local["docker"]["build", "--quiet", "-t", NAIVE_IMAGE, "-"] << NAIVE_DOCKERFILE)(timeout=1800)


def measure() -> list[ImageSize]:
    build_naive()
    return [image_size(db_image()), image_size(pooler_image()), image_size(NAIVE_IMAGE)]


def report(sizes: list[ImageSize]) -> str:
    naive = sizes[-1]
    lines = [f"{'image':<24} {'MiB':>8} {'vs naive':>9}"]
    for size in sizes:
        lines.append(f"{size.image:<24} {size.mib:8.1f} {size.bytes / naive.bytes:9.2f}")
    return "\n".join(lines)


def main() -> None:
    print(report(measure()))
