"""The installed `cidb` console script of the interpreter running the tests."""

from __future__ import annotations

import sys
from pathlib import Path

from plumbum import local
from plumbum.machines import LocalCommand


def cidb() -> LocalCommand:
    return local[str(Path(sys.executable).parent / "cidb")]
