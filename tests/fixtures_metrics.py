"""The metrics profile: its images (built once per session) and a stack of its own that scrapes
and evaluates every second, so alerts fire in seconds."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_images import ROOT
from fixtures_stack import Stack, running_stack

from cidb.names import metrics_images

METRICS_IMAGES = metrics_images()
RULES = ROOT / "monitoring" / "prometheus" / "rules" / "ci-db.yml"
# Published on ephemeral ports, like the db and pgbouncer ports of every test stack.
METRICS_PORTS = {
    "CI_DB_POSTGRES_EXPORTER_PORT": "0",
    "CI_DB_PGBOUNCER_EXPORTER_PORT": "0",
    "CI_DB_PROMETHEUS_PORT": "0",
}


@pytest.fixture(scope="session")
def metrics_images_built(images: dict[str, str]) -> dict[str, str]:
    """The exporter and Prometheus images beside the db and pooler ones."""
    from plumbum import local

    for target, tag in METRICS_IMAGES.items():
        local["docker"]["build", "--quiet", "-t", tag, "--target", target, str(ROOT)](timeout=1800)
    return {**images, **METRICS_IMAGES}


@pytest.fixture(scope="module")
def metrics_stack(metrics_images_built: dict[str, str]) -> Iterator[Stack]:
    """`docker compose --profile metrics up -d --wait`, scraping and evaluating every second."""
    env = {
        "COMPOSE_PROFILES": "metrics",
        **METRICS_PORTS,
        "CI_DB_SCRAPE_INTERVAL": "1s",
        "CI_DB_EVALUATION_INTERVAL": "1s",
    }
    with running_stack(f"cidbmetrics{uuid.uuid4().hex[:8]}", env) as running:
        yield running


def fast_rules(text: str, thresholds: dict[str, tuple[str, str]]) -> str:
    """The alert rules with every `for:` at 2s and THRESHOLDS (alert -> (old, new) text in its
    expr) lowered: a test-only copy, so a fault shows as an alert in seconds."""
    text = re.sub(r"(?m)^(\s+for:) \S+$", r"\1 2s", text)
    for alert, (old, new) in thresholds.items():
        block = re.search(rf"(?ms)^\s+- alert: {alert}\n.*?(?=^\s+- alert: |\Z)", text)
        assert block and old in block.group(0), f"{alert}'s expr no longer contains {old!r}"
        text = text.replace(block.group(0), block.group(0).replace(old, new))
    return text


def install_rules(stack: Stack, text: str, tmp_path: Path) -> None:
    """Copy TEXT over the image's rules file and make Prometheus reload it (SIGHUP)."""
    from support.docker import docker

    rules = tmp_path / "ci-db.yml"
    rules.write_text(text, encoding="utf-8")
    prometheus = stack.container("prometheus")
    docker("cp", str(rules), f"{prometheus.name}:/etc/prometheus/rules/ci-db.yml")
    docker("kill", "--signal", "HUP", prometheus.name)
