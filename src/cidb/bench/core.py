"""Measuring two variants side by side: interleaved rounds, so machine noise hits both alike."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Better(Enum):
    """Which way a metric's ratio (variant / baseline) is good: the report colours it by this."""

    HIGHER = "higher"  # throughput, recall: a ratio above 1 is the variant winning
    LOWER = "lower"  # latency, time, size: a ratio below 1 is the variant winning
    NEITHER = "neither"  # a scale or a count that describes, not judges (e.g. cold vs warm)


HIGHER, LOWER, NEITHER = Better.HIGHER, Better.LOWER, Better.NEITHER


@dataclass(frozen=True)
class Metric:
    """One comparison: the variant's figure beside the baseline's, measured in the same run.

    BETTER has no default: every metric says which direction is good, or the chart would colour
    a slower latency as a win."""

    name: str
    variant: float
    baseline: float
    unit: str
    better: Better = field(kw_only=True)

    @property
    def ratio(self) -> float:
        return self.variant / self.baseline if self.baseline else float("nan")

    def verdict(self) -> str:
        """'better', 'worse', 'same' (within 2%) or 'neither' for the variant vs the baseline."""
        ratio = self.ratio
        if self.better is NEITHER or not math.isfinite(ratio):
            return "neither"
        if abs(ratio - 1) < 0.02:
            return "same"
        return "better" if (ratio > 1) == (self.better is HIGHER) else "worse"


@dataclass(frozen=True)
class Curve:
    """A plot the report draws: one line per label, points (x, y)."""

    title: str
    xlabel: str
    ylabel: str
    lines: dict[str, list[tuple[float, float]]]


@dataclass
class Result:
    """What a scenario reports: its metrics and a line on what variant and baseline were."""

    scenario: str
    variant: str
    baseline: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)

    def table(self) -> str:
        lines = [
            f"== {self.scenario}: {self.variant} vs {self.baseline}",
            f"{'metric':<42} {'variant':>12} {'baseline':>12} {'unit':<8} {'ratio':>7}",
        ]
        for m in self.metrics:
            lines.append(
                f"{m.name:<42} {m.variant:12.3f} {m.baseline:12.3f} {m.unit:<8} {m.ratio:7.2f}"
            )
        lines += [f"   {note}" for note in self.notes]
        return "\n".join(lines)


def step(message: str) -> None:
    """A progress line as a scenario goes (a full run takes minutes)."""
    print(f"cidb bench: {datetime.now():%H:%M:%S}   {message}", flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def interleaved(
    variant: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int,
    per_round: int,
) -> tuple[list[float], list[float]]:
    """Per-call latencies in ms of VARIANT and BASELINE, alternating blocks of PER_ROUND calls."""
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(rounds):
        step(f"round {index + 1}/{rounds} ({per_round} calls each side)")
        order = [(variant, samples[0]), (baseline, samples[1])]
        if index % 2:
            order.reverse()
        for fn, sink in order:
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                sink.append((time.perf_counter() - start) * 1000)
    return samples


def latency_metrics(label: str, variant: list[float], baseline: list[float]) -> list[Metric]:
    return [
        Metric(
            f"{label} median",
            statistics.median(variant),
            statistics.median(baseline),
            "ms",
            better=LOWER,
        ),
        Metric(
            f"{label} p99", percentile(variant, 99), percentile(baseline, 99), "ms", better=LOWER
        ),
    ]
