"""The benchmark report without an engine: every metric says which direction is better, the
charts colour by it, and a run of some scenarios merges into the report without losing others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fixtures_images import ROOT

from cidb.bench import report
from cidb.bench.core import HIGHER, LOWER, NEITHER, Metric, Result
from cidb.bench.plots import bar_label, ratio_chart

BENCH_SOURCES = sorted((ROOT / "src" / "cidb" / "bench").glob("*.py"))


def metric_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Metric"
    ]


@pytest.mark.parametrize("path", BENCH_SOURCES, ids=lambda p: p.name)
def test_every_metric_a_scenario_builds_names_its_better_direction(path: Path) -> None:
    """Each Metric(...) in the scenarios passes better=HIGHER, LOWER or NEITHER."""
    for call in metric_calls(path):
        keywords = {k.arg: k.value for k in call.keywords}
        assert "better" in keywords, f"{path.name}:{call.lineno}: Metric without better="
        value = keywords["better"]
        assert isinstance(value, ast.Name) and value.id in {"HIGHER", "LOWER", "NEITHER"}, (
            f"{path.name}:{call.lineno}: better= must be HIGHER, LOWER or NEITHER"
        )


def test_the_scan_sees_the_scenarios_metrics() -> None:
    """The scan above finds the scenarios' metrics (a scan that finds none proves nothing)."""
    assert sum(len(metric_calls(p)) for p in BENCH_SOURCES) >= 30


def test_a_metric_without_a_direction_cannot_be_built() -> None:
    """better has no default: leaving it out is an error, not a silent 'lower is better'."""
    with pytest.raises(TypeError, match="better"):
        Metric("tps", 2.0, 1.0, "tx/s")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("better", "ratio", "verdict"),
    [
        (HIGHER, 1.5, "better"),
        (HIGHER, 0.5, "worse"),
        (LOWER, 0.5, "better"),
        (LOWER, 1.5, "worse"),
        (LOWER, 1.01, "same"),
        (NEITHER, 3.0, "neither"),
    ],
)
def test_verdict_follows_the_metric_direction(better: object, ratio: float, verdict: str) -> None:
    """A throughput ratio above 1 is better; a latency ratio above 1 is worse."""
    assert Metric("m", ratio, 1.0, "x", better=better).verdict() == verdict  # type: ignore[arg-type]


def test_bar_label_shows_the_good_direction() -> None:
    assert bar_label(Metric("tps", 2, 1, "tx/s", better=HIGHER)) == "tps ↑"
    assert bar_label(Metric("p99", 2, 1, "ms", better=LOWER)) == "p99 ↓"
    assert bar_label(Metric("size", 2, 1, "MiB", better=NEITHER)) == "size"


def result(name: str, value: float) -> Result:
    found = Result(name, "new", "old")
    found.metrics.append(Metric("throughput", value, 1.0, "rows/s", better=HIGHER))
    found.notes.append(f"{name} note {value}")
    return found


def test_one_chart_per_scenario(tmp_path: Path) -> None:
    """Each scenario gets its own small chart, named after it."""
    chart = ratio_chart(result("vector-build", 2.0), tmp_path)
    assert chart is not None and chart.name == "ratios-vector-build.png"
    assert chart.stat().st_size > 0


def test_a_run_of_one_scenario_keeps_the_others(tmp_path: Path) -> None:
    """Running `b` again replaces b's rows and section only; a's and the hand-written section
    stay as they were."""
    path = tmp_path / "report.md"
    order = ["a", "b", "c"]
    report.write(path, [result("a", 2.0), result("b", 3.0)], ["- first"], order, "measured T1")
    with path.open("a", encoding="utf-8") as text:
        text.write("\n## Added by hand\n\nwhy a goal was missed\n")
    report.write(path, [result("b", 5.0)], ["- second"], order, "measured T2")
    text = path.read_text(encoding="utf-8")
    assert "| a | throughput | 2.000 | 1.000 | rows/s | 2.00 |" in text
    assert "| b | throughput | 5.000 | 1.000 | rows/s | 5.00 |" in text
    assert "| b | throughput | 3.000" not in text
    assert "a note 2.0" in text and "b note 5.0" in text and "b note 3.0" not in text
    assert "new vs old; measured T1." in text and "new vs old; measured T2." in text
    assert "## Added by hand\n\nwhy a goal was missed" in text
    assert text.index("## a") < text.index("## b") < text.index("## Added by hand")
    assert "- second" in text and "- first" not in text
    assert text.count("| scenario | metric |") == 1
