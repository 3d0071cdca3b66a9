"""`cidb lint`: squawk, plus the rules only a Sqitch project has, over its deploy scripts.

squawk checks the SQL itself (CONCURRENTLY inside a transaction, lock_timeout, drops and
renames, NOT VALID, …; its configuration is the repository's ``.squawk.toml``). Ours, which
squawk cannot know because they are about Sqitch (ids as printed):

- ``missing-deploy`` / ``missing-revert`` / ``missing-verify``: a plan change lacks a script.
- ``not-in-plan``: a deploy script no plan change names, so Sqitch never runs it.
- ``missing-transaction``: Sqitch wraps nothing, so work other than CONCURRENTLY outside the
  script's own ``BEGIN; … COMMIT;`` runs statement by statement.
- ``unguarded-concurrent-index``: ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` keeps the INVALID
  leftover of an interrupted build; the script must look for one (``indisvalid``) and drop it.
- ``ignore-without-reason``: an exception without its reason.

An exception is squawk's own comment with a reason after ``--``: ``-- squawk-ignore <rule> --
<reason>`` covers the next statement, ``-- squawk-ignore-file <rule> -- <reason>`` the whole
script (for the file-level ``missing-revert``/``missing-verify`` too). Our rule names in those
comments are ours to honour, so squawk's ``unused-ignore`` about them is dropped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import TransactionStmtKind
from pglast.parser import ParseError
from plumbum import CommandNotFound, local
from plumbum.machines import LocalCommand

from cidb.plan import Change, read_plan

OUR_RULES = frozenset(
    {
        *("missing-deploy", "missing-revert", "missing-verify", "not-in-plan"),
        *("missing-transaction", "unguarded-concurrent-index", "ignore-without-reason"),
        "parse-error",
    }
)
_IGNORE = re.compile(r"^\s*--\s*squawk-ignore(?P<file>-file)?\s+(?P<rules>[^-\s][^\n]*?)\s*$")
_BEGIN = {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}
_END = {
    TransactionStmtKind.TRANS_STMT_COMMIT,
    TransactionStmtKind.TRANS_STMT_ROLLBACK,
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED,
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED,
}
# Statements that change nothing, so may stand outside a transaction.
_HARMLESS = (ast.VariableSetStmt, ast.VariableShowStmt, ast.SelectStmt, ast.TransactionStmt)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at a place in a file, printed as ``path:line: [rule] message``."""

    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Statement:
    """One parsed statement, its text and the line it starts on."""

    node: Any
    source: str
    line: int

    @property
    def head(self) -> str:
        return "`" + " ".join(self.source.split()[:4]) + " …`"


@dataclass(frozen=True)
class Ignore:
    """A ``squawk-ignore`` comment: its rules, its line, whether it covers the whole file."""

    rules: frozenset[str]
    line: int
    whole_file: bool
    reason: str


@dataclass(frozen=True)
class Script:
    """A deploy script parsed by pglast (psql meta-commands end a statement, as in psql)."""

    path: Path
    statements: tuple[Statement, ...]
    ignores: tuple[Ignore, ...]
    error: Finding | None = None

    def ignored(self, finding: Finding) -> bool:
        """Whether an exception here covers FINDING (the next statement, or the whole file)."""
        following = [s.line for s in self.statements]
        for ignore in self.ignores:
            if finding.rule not in ignore.rules:
                continue
            if ignore.whole_file:
                return True
            after = [line for line in following if line > ignore.line]
            if after and finding.line == after[0]:
                return True
        return False


class SquawkError(RuntimeError):
    """squawk could not lint (missing binary, bad config, unreadable output)."""


# --- reading a script ---------------------------------------------------------------------------


def _without_meta_commands(sql: str) -> str:
    """psql's `\\gexec`, `\\set` … lines as `;`: each ends the query before it; lines stay put."""
    return "\n".join(";" if line.lstrip().startswith("\\") else line for line in sql.split("\n"))


def split_sql(sql: str) -> list[Statement]:
    """The statements of a psql script, with the 1-based line each starts on."""
    data = _without_meta_commands(sql).encode()
    statements = []
    for raw in parse_sql(data.decode()):
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(data)
        source = data[start:end].decode()
        statements.append(Statement(raw.stmt, source, data[:start].count(b"\n") + 1))
    return statements


def _ignores(sql: str) -> list[Ignore]:
    found = []
    for number, line in enumerate(sql.splitlines(), start=1):
        if match := _IGNORE.match(line):
            rules, _, reason = match["rules"].partition(" -- ")
            names = frozenset(r.strip() for r in rules.split(",") if r.strip())
            found.append(Ignore(names, number, bool(match["file"]), reason.strip()))
    return found


def parse_script(path: Path, sql: str) -> Script:
    """Parse a deploy script's text into statements and exceptions."""
    try:
        statements = tuple(split_sql(sql))
    except ParseError as error:
        finding = Finding(path, 1, "parse-error", f"pglast cannot parse this script: {error}")
        return Script(path, (), tuple(_ignores(sql)), finding)
    return Script(path, statements, tuple(_ignores(sql)))


def read_script(path: Path) -> Script:
    """Read and parse a deploy script."""
    return parse_script(path, path.read_text(encoding="utf-8"))


# --- our rules ----------------------------------------------------------------------------------


def _is_concurrent(node: Any) -> bool:
    """Work PostgreSQL refuses inside a transaction block: the only work allowed outside one."""
    if isinstance(node, ast.IndexStmt | ast.DropStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(p.defname == "concurrently" for p in node.params or ())
    if isinstance(node, ast.AlterTableStmt):
        return any(
            isinstance(cmd.def_, ast.PartitionCmd) and cmd.def_.concurrent
            for cmd in node.cmds or ()
        )
    return False


def check_transactions(script: Script) -> Iterator[Finding]:
    """Work outside the script's own transaction must be CONCURRENTLY (reported once)."""
    in_transaction = False
    for statement in script.statements:
        node = statement.node
        if isinstance(node, ast.TransactionStmt):
            kind = node.kind
            in_transaction = kind in _BEGIN or (in_transaction and kind not in _END)
        elif not in_transaction and not isinstance(node, _HARMLESS) and not _is_concurrent(node):
            message = (
                f"{statement.head} runs outside a transaction (Sqitch adds none): only "
                "CONCURRENTLY work may; wrap the change in BEGIN; … COMMIT;"
            )
            yield Finding(script.path, statement.line, "missing-transaction", message)
            return


def check_concurrent_guard(script: Script) -> Iterator[Finding]:
    """CREATE INDEX CONCURRENTLY IF NOT EXISTS comes after a look for an INVALID leftover."""
    looked = False
    for statement in script.statements:
        node = statement.node
        if isinstance(node, ast.IndexStmt) and node.concurrent and node.if_not_exists:
            if not looked:
                message = (
                    f"{statement.head} would keep an INVALID index left by an interrupted build:"
                    " first drop one found by pg_index.indisvalid (SELECT format(…) \\gexec)"
                )
                yield Finding(script.path, statement.line, "unguarded-concurrent-index", message)
        elif "indisvalid" in statement.source:
            looked = True


def check_reasons(script: Script) -> Iterator[Finding]:
    """Every exception says why after `--`."""
    for ignore in script.ignores:
        if not ignore.reason:
            rules = ", ".join(sorted(ignore.rules))
            message = f"squawk-ignore {rules} needs a reason: `-- <reason>` after the rule"
            yield Finding(script.path, ignore.line, "ignore-without-reason", message)


def check_script(script: Script) -> list[Finding]:
    """All our per-script rules."""
    return [
        *([script.error] if script.error else []),
        *check_transactions(script),
        *check_concurrent_guard(script),
        *check_reasons(script),
    ]


# --- the Sqitch project -------------------------------------------------------------------------


def check_files(sqitch_dir: Path, changes: Sequence[Change]) -> list[Finding]:
    """Every change has deploy, revert and verify scripts; every deploy script is planned."""
    findings: list[Finding] = []
    for change in changes:
        deploy = _script_path(sqitch_dir, "deploy", change.name)
        if not deploy.is_file():
            message = f"change {change.name!r} has no {deploy.relative_to(sqitch_dir)}"
            plan = sqitch_dir / "sqitch.plan"
            findings.append(Finding(plan, change.line, "missing-deploy", message))
            continue
        for kind in ("revert", "verify"):
            other = _script_path(sqitch_dir, kind, change.name)
            if not other.is_file():
                message = f"no {other.relative_to(sqitch_dir)} for this change"
                findings.append(Finding(deploy, 1, f"missing-{kind}", message))
    planned = {c.name for c in changes}
    deploy_dir = sqitch_dir / "deploy"
    for path in sorted(deploy_dir.rglob("*.sql")):
        name = path.relative_to(deploy_dir).with_suffix("").as_posix()
        if "@" not in name and name not in planned:
            message = f"sqitch.plan names no change {name!r}"
            findings.append(Finding(path, 1, "not-in-plan", message))
    return findings


def _script_path(sqitch_dir: Path, kind: str, name: str) -> Path:
    return sqitch_dir / kind / f"{name}.sql"


# --- squawk -------------------------------------------------------------------------------------


def squawk_command() -> LocalCommand:
    """The squawk shipped with our Python (the pinned squawk-cli), else the one on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    return local[str(beside)] if beside.is_file() else local["squawk"]


def find_squawk_config(start: Path) -> Path | None:
    """The nearest .squawk.toml at or above start, as squawk itself would look from there."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / ".squawk.toml"
        if candidate.is_file():
            return candidate
    return None


def _ours(report: dict[str, Any]) -> bool:
    """squawk's `unused-ignore` about one of our rule names: the exception is ours to honour."""
    if report["rule_name"] != "unused-ignore":
        return False
    named = str(report["message"]).removeprefix("unknown name ").split(" -- ")[0]
    return all(name.strip() in OUR_RULES for name in named.split(","))


def run_squawk(paths: Sequence[Path], config: Path | None) -> list[Finding]:
    """Lint the scripts with squawk and normalise its findings (its lines count from 0)."""
    if not paths:
        return []
    args = ["--reporter", "json", *(["--config", str(config)] if config else [])]
    try:
        code, out, err = squawk_command()[(*args, *map(str, paths))].run(retcode=None)
    except CommandNotFound as error:
        raise SquawkError("squawk not found beside Python nor on PATH") from error
    try:
        reports = json.loads(out) if code in (0, 1) else None
    except json.JSONDecodeError:
        reports = None
    if not isinstance(reports, list):
        raise SquawkError(f"squawk exited {code}: {err.strip() or out.strip()}")
    return [
        Finding(Path(r["file"]), int(r["line"]) + 1, r["rule_name"], r["message"])
        for r in reports
        if not _ours(r)
    ]


# --- putting it together ------------------------------------------------------------------------


def lint_project(sqitch_dir: Path) -> list[Finding]:
    """Lint every deploy script of the Sqitch project in sqitch_dir; sorted findings."""
    changes = read_plan(sqitch_dir / "sqitch.plan").unique()
    deploys = [_script_path(sqitch_dir, "deploy", c.name) for c in changes]
    scripts = {p: read_script(p) for p in deploys if p.is_file()}
    ours = [
        *check_files(sqitch_dir, changes),
        *(f for script in scripts.values() for f in check_script(script)),
    ]
    kept = [f for f in ours if f.path not in scripts or not scripts[f.path].ignored(f)]
    return sorted({*kept, *run_squawk(list(scripts), find_squawk_config(sqitch_dir))})


def main(sqitch_dir: Path) -> int:
    """Print the findings and a summary; 0 when clean, 1 on findings, 2 when lint cannot run."""
    try:
        findings = lint_project(sqitch_dir)
    except (OSError, SquawkError) as error:
        print(f"cidb lint: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    files = len({f.path for f in findings})
    summary = f"{len(findings)} finding(s) in {files} file(s)" if findings else "no findings"
    print(f"cidb lint: {summary} in {sqitch_dir}")
    return 1 if findings else 0
