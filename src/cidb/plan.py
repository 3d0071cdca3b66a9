"""The Sqitch plan (sqitch/sqitch.plan), parsed in one place for the tooling and the tests.

A plan line is a pragma (``%syntax-version=…``), a tag (``@v1 …``), a comment, blank, or a
change: ``name [dep !conflict] 2026-11-27T07:00:00Z planner <email> # note``. A change named
again after a tag is a rework. The image's healthcheck (docker/ci-db-healthcheck) reads the last
change with one awk line of its own: the image has no Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_CHANGE = re.compile(
    r"^[+-]?(?P<name>[^\s\[@#]+)\s*(?:\[(?P<deps>[^\]]*)\])?[^#]*(?:#\s*(?P<note>.*))?$"
)
_TAG = re.compile(r"^@(?P<name>\S+)")


@dataclass(frozen=True)
class Change:
    """One change line: its name, where it stands, what it requires and conflicts with."""

    name: str
    line: int
    requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """Every change line in plan order (a reworked change appears again) and the tags."""

    path: Path
    changes: tuple[Change, ...]
    tags: dict[str, str]  # tag -> the change it follows

    @property
    def names(self) -> list[str]:
        """Change names in deploy order, as `sqitch.changes` lists them."""
        return [change.name for change in self.changes]

    @property
    def last(self) -> Change:
        return self.changes[-1]

    def unique(self) -> list[Change]:
        """Each change once, at its first line (a rework keeps the newest script on disk)."""
        seen: dict[str, Change] = {}
        for change in self.changes:
            seen.setdefault(change.name, change)
        return list(seen.values())


def parse_plan(text: str, path: Path = Path("sqitch.plan")) -> Plan:
    """Parse plan TEXT (read from PATH, which findings then name)."""
    changes: list[Change] = []
    tags: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "%#":
            continue
        if tag := _TAG.match(line):
            tags[tag["name"]] = changes[-1].name if changes else ""
            continue
        match = _CHANGE.match(line)
        if match is None:
            continue
        deps = (match["deps"] or "").split()
        changes.append(
            Change(
                match["name"],
                number,
                tuple(d for d in deps if not d.startswith("!")),
                tuple(d[1:] for d in deps if d.startswith("!")),
                (match["note"] or "").strip(),
            )
        )
    return Plan(path, tuple(changes), tags)


def read_plan(path: Path) -> Plan:
    """Read and parse a sqitch.plan file."""
    return parse_plan(path.read_text(encoding="utf-8"), path)
