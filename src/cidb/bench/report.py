"""bench/report.md, merged by scenario: a run replaces the table rows and the section of the
scenarios it ran and keeps every other scenario's, and every hand-written section, as it was.

`cidb bench rls` alone used to rewrite the whole report with rls only; figures of the other
scenarios, measured in earlier (longer) runs, were lost unless merged back by hand.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cidb.bench import plots
from cidb.bench.core import Result

TITLE = "# ci-db benchmark report"
TABLE_HEAD = [
    "| scenario | metric | variant | baseline | unit | ratio |",
    "| --- | --- | ---: | ---: | --- | ---: |",
]
ROW = re.compile(r"^\| (\S+) \| .* \|$")


@dataclass
class Report:
    """A report taken apart: table rows and sections per scenario, hand-written sections."""

    rows: dict[str, list[str]] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    # Sections whose title is not a scenario (notes added by hand): kept verbatim, in order.
    extras: list[list[str]] = field(default_factory=list)


def parse(text: str, scenarios: Collection[str]) -> Report:
    """Split an existing report; a section titled with a scenario's name belongs to it."""
    report = Report()
    lines = text.splitlines()
    first_section = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    for line in lines[:first_section]:
        match = ROW.match(line)
        if match and line not in TABLE_HEAD:
            report.rows.setdefault(match.group(1), []).append(line)
    current: list[str] | None = None
    for line in lines[first_section:]:
        if line.startswith("## "):
            current = [line]
            name = line[3:].strip()
            if name in scenarios:
                report.sections[name] = current
            else:
                report.extras.append(current)
        elif current is not None:
            current.append(line)
    return report


def table_rows(result: Result) -> list[str]:
    return [
        f"| {result.scenario} | {m.name} | {m.variant:.3f} | {m.baseline:.3f} | {m.unit}"
        f" | {m.ratio:.2f} |"
        for m in result.metrics
    ]


def section(result: Result, out_dir: Path, measured: str) -> list[str]:
    """A scenario's section: when, what vs what, its ratio chart, notes and curves."""
    lines = [f"## {result.scenario}", "", f"{result.variant} vs {result.baseline}; {measured}.", ""]
    chart = plots.ratio_chart(result, out_dir)
    if chart is not None:
        lines += [f"![{result.scenario}: ratios, coloured better/worse]({chart.name})", ""]
    lines += [f"- {note}" for note in result.notes]
    for curve in result.curves:
        lines += [
            "",
            f"![{curve.title}]({plots.curve_chart(result.scenario, curve, out_dir).name})",
        ]
    return [*lines, ""]


def merge(old: Report, results: Sequence[Result], out_dir: Path, measured: str) -> Report:
    merged = Report(dict(old.rows), dict(old.sections), list(old.extras))
    for result in results:
        merged.rows[result.scenario] = table_rows(result)
        merged.sections[result.scenario] = section(result, out_dir, measured)
    return merged


def render(report: Report, header: Sequence[str], order: Sequence[str]) -> str:
    """HEADER, one table of every scenario's rows (ORDER first, then any others), the
    scenarios' sections in the same order, then the hand-written sections."""
    names = [n for n in order if n in report.rows or n in report.sections]
    names += [n for n in [*report.rows, *report.sections] if n not in names]
    lines = [TITLE, "", *header, "", *TABLE_HEAD]
    for name in dict.fromkeys(names):
        lines += report.rows.get(name, [])
    lines.append("")
    for name in dict.fromkeys(names):
        body = report.sections.get(name)
        if body:
            lines += [*body[:-1], body[-1]] if body[-1] == "" else [*body, ""]
    for extra in report.extras:
        lines += extra if extra[-1] == "" else [*extra, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write(
    path: Path,
    results: Sequence[Result],
    header: Sequence[str],
    order: Sequence[str],
    measured: str,
) -> Path:
    """Merge RESULTS into the report at PATH (created if missing) and write it back."""
    old = parse(path.read_text(encoding="utf-8"), order) if path.exists() else Report()
    merged = merge(old, results, path.parent, measured)
    path.write_text(render(merged, header, order), encoding="utf-8")
    return path
