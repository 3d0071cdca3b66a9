"""The size report: both images beside a naive build (printed, not asserted)."""

from __future__ import annotations

import re

from support.cli import cidb


def test_size_report_prints_three_images_with_ratios(images: dict[str, str]) -> None:
    """`cidb sizes` builds the naive image and prints a MiB figure and ratio for each image."""
    out = cidb()("sizes", timeout=1800)
    print(out)
    rows = {
        m[0]: (float(m[1]), float(m[2]))
        for m in re.findall(r"^(\S+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    }
    assert set(rows) == {"ci-db:17", "ci-db-pgbouncer:17", "ci-db-naive:17"}
    assert rows["ci-db-naive:17"][1] == 1.0
    assert all(mib > 0 for mib, _ in rows.values())
