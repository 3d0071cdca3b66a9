"""The `cidb` console script: the CLI lives in the [dev] extra, the core package has none."""

from __future__ import annotations

import sys

DEV_EXTRA_HINT = "cidb: the command needs the tooling extra: pip install 'cidb[dev]'"


def main() -> None:
    """Run cidb.cli, or say which extra is missing instead of a traceback."""
    try:
        import plumbum  # noqa: F401
    except ImportError:
        print(DEV_EXTRA_HINT, file=sys.stderr)
        raise SystemExit(2) from None
    from cidb.cli import main as cli_main

    cli_main()
