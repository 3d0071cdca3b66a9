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

from cidb.bench.core import HIGHER, LOWER, Curve, Metric, Result

# Colour-blind safe (Okabe-Ito): blue is better, vermilion worse, grey neither or the same.
COLOURS = {"better": "#0072b2", "worse": "#d55e00", "same": "#999999", "neither": "#bbbbbb"}
ARROWS = {HIGHER: "↑", LOWER: "↓"}


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
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(metrics) + 1.4))
    ax.barh(
        [bar_label(m) for m in metrics],
        [m.ratio for m in metrics],
        color=[COLOURS[m.verdict()] for m in metrics],
    )
    for index, metric in enumerate(metrics):
        ax.annotate(
            f" {metric.ratio:.2f}",
            (metric.ratio, index),
            va="center",
            fontsize=8,
            ha="left" if metric.ratio >= 1 else "right",
            xytext=(2 if metric.ratio >= 1 else -2, 0),
            textcoords="offset points",
        )
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_title(f"{result.scenario}: {result.variant} vs {result.baseline}", fontsize=9)
    ax.set_xlabel("variant / baseline (log scale; 1 = same; ↑ higher is better, ↓ lower is better)")
    ax.tick_params(axis="y", labelsize=8)
    ax.invert_yaxis()
    ax.legend(
        handles=[Patch(color=COLOURS[k], label=k) for k in ("better", "worse", "neither")],
        fontsize=7,
        loc="best",
    )
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
