"""The size report: both images beside a naive build (printed, not asserted)."""

from __future__ import annotations

import re

from support.cli import cidb

from cidb.bench.sizes import NAIVE_IMAGE


def test_size_report_prints_three_images_with_ratios(images: dict[str, str]) -> None:
    """`cidb sizes` builds the naive image and prints a MiB figure and ratio for each image."""
    out = cidb()("sizes", timeout=1800)
    print(out)
    rows = {
        m[0]: (float(m[1]), float(m[2]))
        for m in re.findall(r"^(\S+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    }
    # The images this run built: the contract's tags, or CI_DB_IMAGE / CI_DB_POOLER_IMAGE's.
    assert set(rows) == {images["db"], images["pgbouncer"], NAIVE_IMAGE}
    assert rows[NAIVE_IMAGE][1] == 1.0
    assert all(mib > 0 for mib, _ in rows.values())
