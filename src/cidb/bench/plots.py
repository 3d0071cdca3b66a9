"""PNG plots for the report (matplotlib, headless): one small ratio chart per scenario, each bar
coloured by whether the variant is better or worse than its baseline for that metric."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from cidb.bench.core import HIGHER, LOWER, Curve, Metric, Result

# Colour-blind safe (Okabe-Ito): blue is better, vermilion worse, grey neither or the same.
COLOURS = {"better": "#0072b2", "worse": "#d55e00", "same": "#999999", "neither": "#bbbbbb"}
ARROWS = {HIGHER: "↑", LOWER: "↓"}
TICKS = [0.01, 0.1, 0.5, 1, 2, 10, 100]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bar_label(metric: Metric) -> str:
    """The metric's name with the good direction: ↑ higher is better, ↓ lower is better."""
    return f"{metric.name} {ARROWS.get(metric.better, '')}".rstrip()


def ratio_chart(result: Result, out_dir: Path) -> Path | None:
    """One horizontal bar per metric of RESULT (variant / baseline, log scale, 1.0 marked), or
    None when no metric has a finite ratio."""
    metrics = [m for m in result.metrics if math.isfinite(m.ratio) and m.ratio > 0]
    if not metrics:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(metrics) + 1.4))
    ratios = [m.ratio for m in metrics]
    # Bars grow from 1 (same as the baseline) towards the ratio, on a log scale centred on 1.
    ax.barh(
        [bar_label(m) for m in metrics],
        [r - 1 for r in ratios],
        left=1,
        color=[COLOURS[m.verdict()] for m in metrics],
    )
    reach = max(abs(math.log10(r)) for r in ratios) * 1.35 or 0.1
    ax.set_xscale("log")
    ax.set_xlim(10**-reach, 10**reach)
    ax.set_xticks([t for t in TICKS if 10**-reach <= t <= 10**reach])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    for index, ratio in enumerate(ratios):
        ax.annotate(
            f"{ratio:.2f}",
            (ratio, index),
            va="center",
            fontsize=8,
            ha="left" if ratio >= 1 else "right",
            xytext=(3 if ratio >= 1 else -3, 0),
            textcoords="offset points",
        )
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_title(f"{result.scenario}: {result.variant} vs {result.baseline}", fontsize=9)
    ax.set_xlabel("variant / baseline (log scale, 1 = same)", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.invert_yaxis()
    legend = [Patch(color=COLOURS[k], label=k) for k in ("better", "worse", "neither")]
    legend.append(Patch(color="white", label="↑ higher is better\n↓ lower is better"))
    ax.legend(handles=legend, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    path = out_dir / f"ratios-{slug(result.scenario)}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def curve_chart(scenario: str, curve: Curve, out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in curve.lines.items():
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_title(curve.title)
    ax.set_xlabel(curve.xlabel)
    ax.set_ylabel(curve.ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out_dir / f"{slug(scenario)}-{slug(curve.title)}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
