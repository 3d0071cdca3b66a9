"""`cidb bench` against the stack: every scenario runs and reports numeric ratios."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from support.cli import cidb

from cidb.bench.runner import SCENARIOS
from cidb.settings import Settings

ROW = re.compile(r"^\| (\S+) \| ([^|]+) \| ([\d.]+) \| ([\d.]+) \| (\S+) \| ([\d.]+|nan) \|$", re.M)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_quick_bench_writes_report_with_numeric_ratios(
    settings: Settings, stack, tmp_path: Path, scenario: str, request: pytest.FixtureRequest
) -> None:
    """`cidb bench SCENARIO --quick` says what it does as it goes, prints its table and writes
    report.md with number ratios."""
    env = {
        "CI_DB_PORT": str(settings.port),
        "CI_DB_POOL_PORT": str(settings.pool_port),
        "COMPOSE_PROJECT_NAME": stack.project,
    }
    if scenario == "metrics":
        # It starts the metrics profile on the stack: its images, on ephemeral ports.
        from fixtures_metrics import METRICS_PORTS

        request.getfixturevalue("metrics_images_built")
        env.update(METRICS_PORTS)
    out = cidb()["bench", scenario, "--quick", "--out", str(tmp_path)].with_env(**env)(timeout=1200)
    print(out)
    assert re.search(rf"^cidb bench: \S+ +\[1/1\] {scenario} started \(--quick\)$", out, re.M), out
    assert re.search(rf"^cidb bench: \S+ +\[1/1\] {scenario} done in \d+ s$", out, re.M), out
    report = (tmp_path / "report.md").read_text()
    rows = ROW.findall(report)
    assert rows, report
    for name, metric, _variant, _baseline, _unit, ratio in rows:
        assert name == scenario
        assert math.isfinite(float(ratio)), f"{metric}: {ratio}"
    for plot in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (tmp_path / plot).stat().st_size > 0
