"""`cidb bench` against the stack: every scenario runs and reports numeric ratios."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bench import check_quick_run
from support.cli import cidb

from cidb.bench.runner import SCENARIOS
from cidb.settings import Settings


# `ha` runs in tests/test_ha.py, on the HA cluster that module brings up anyway.
@pytest.mark.parametrize("scenario", sorted(set(SCENARIOS) - {"ha"}))
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
    check_quick_run(out, tmp_path, scenario)
