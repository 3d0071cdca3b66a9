"""What a `cidb bench SCENARIO --quick` run must show: progress lines, and report.md with
numeric ratios (tests/test_bench.py for every scenario; tests/test_ha.py for `ha`)."""

from __future__ import annotations

import math
import re
from pathlib import Path

ROW = re.compile(r"^\| (\S+) \| ([^|]+) \| ([\d.]+) \| ([\d.]+) \| (\S+) \| ([\d.]+|nan) \|$", re.M)


def check_quick_run(out: str, out_dir: Path, scenario: str) -> None:
    assert re.search(rf"^cidb bench: \S+ +\[1/1\] {scenario} started \(--quick\)$", out, re.M), out
    assert re.search(rf"^cidb bench: \S+ +\[1/1\] {scenario} done in \d+ s$", out, re.M), out
    report = (out_dir / "report.md").read_text()
    rows = ROW.findall(report)
    assert rows, report
    for name, metric, _variant, _baseline, _unit, ratio in rows:
        assert name == scenario
        assert math.isfinite(float(ratio)), f"{metric}: {ratio}"
    for plot in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out_dir / plot).stat().st_size > 0
