"""PNG plots for the report (matplotlib, headless)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cidb.bench.core import Curve, Result


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ratio_chart(results: Sequence[Result], out_dir: Path) -> Path:
    """One horizontal bar per metric: variant/baseline, with 1.0 marked."""
    labels, ratios = [], []
    for result in results:
        for metric in result.metrics:
            if math.isfinite(metric.ratio):
                labels.append(f"{result.scenario}: {metric.name}")
                ratios.append(metric.ratio)
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(labels) + 1.5))
    ax.barh(labels, ratios, color="#4c72b0")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("variant / baseline (log scale; 1 = same)")
    ax.invert_yaxis()
    fig.tight_layout()
    path = out_dir / "ratios.png"
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
