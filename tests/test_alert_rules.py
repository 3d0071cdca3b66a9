"""The alert rules: promtool's own checks and unit tests, run inside the ci-db-prometheus image,
and every alert covered by a unit test with a threshold, a severity and a runbook line."""

from __future__ import annotations

import re

import pytest
from fixtures_images import ROOT
from support.docker import DOCKER

PROMETHEUS_DIR = ROOT / "monitoring" / "prometheus"
RULES = PROMETHEUS_DIR / "rules" / "ci-db.yml"
UNIT_TESTS = PROMETHEUS_DIR / "tests" / "ci-db.test.yml"


def alert_blocks() -> dict[str, str]:
    text = RULES.read_text(encoding="utf-8")
    blocks = re.findall(r"(?ms)^\s+- alert: (\w+)\n(.*?)(?=^\s+- alert: |\Z)", text)
    return dict(blocks)


def promtool(metrics_images_built: dict[str, str], *args: str) -> tuple[int, str]:
    code, out, err = DOCKER[
        "run", "--rm", "-v", f"{PROMETHEUS_DIR}:/prometheus:ro", "-w", "/prometheus/tests",
        "--entrypoint", "promtool", metrics_images_built["prometheus"], *args,
    ].run(retcode=None)  # fmt: skip
    return int(code), str(out) + str(err)


def test_there_are_at_least_fifteen_alerts() -> None:
    assert len(alert_blocks()) >= 15, sorted(alert_blocks())


@pytest.mark.parametrize("alert", sorted(alert_blocks()))
def test_every_alert_has_severity_summary_and_runbook(alert: str) -> None:
    block = alert_blocks()[alert]
    assert re.search(r"severity: (critical|warning)", block), block
    assert "summary:" in block and re.search(r'runbook: "\S.{20,}"', block), block


@pytest.mark.parametrize("alert", sorted(alert_blocks()))
def test_every_alert_has_a_firing_and_a_quiet_unit_test(alert: str) -> None:
    """Each alert is evaluated at least twice in the unit tests: quiet, then firing."""
    tests = UNIT_TESTS.read_text(encoding="utf-8")
    evaluations = re.findall(rf"(?m)^\s+alertname: {alert}\n\s+exp_alerts:(.*)$", tests)
    assert "[]" in [e.strip() for e in evaluations], f"{alert}: no quiet evaluation"
    assert "" in [e.strip() for e in evaluations], f"{alert}: no firing evaluation"


def test_promtool_checks_the_rules(metrics_images_built: dict[str, str]) -> None:
    code, out = promtool(metrics_images_built, "check", "rules", "/prometheus/rules/ci-db.yml")
    assert code == 0 and f"SUCCESS: {len(alert_blocks())} rules found" in out, out


def test_promtool_unit_tests_pass(metrics_images_built: dict[str, str]) -> None:
    code, out = promtool(metrics_images_built, "test", "rules", "ci-db.test.yml")
    assert code == 0 and "SUCCESS" in out, out


def test_a_changed_threshold_fails_the_unit_tests(
    metrics_images_built: dict[str, str], tmp_path: object
) -> None:
    """The unit tests pin the thresholds: 300 s -> 500 s for a long transaction fails them."""
    import shutil
    from pathlib import Path

    copy = Path(str(tmp_path)) / "prometheus"
    shutil.copytree(PROMETHEUS_DIR, copy)
    rules = copy / "rules" / "ci-db.yml"
    text = rules.read_text(encoding="utf-8")
    assert "ci_db_transactions_longest_seconds > 300" in text
    rules.write_text(
        text.replace("longest_seconds > 300", "longest_seconds > 500"), encoding="utf-8"
    )
    code, out, err = DOCKER[
        "run", "--rm", "-v", f"{copy}:/prometheus:ro", "-w", "/prometheus/tests",
        "--entrypoint", "promtool", metrics_images_built["prometheus"], "test", "rules",
        "ci-db.test.yml",
    ].run(retcode=None)  # fmt: skip
    assert code != 0 and "CiDbLongTransaction" in str(out) + str(err)
