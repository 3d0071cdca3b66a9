"""`cidb lint`: squawk plus ci-db's own migration rules over a Sqitch project's deploy scripts.

Our rules (ids as printed):
- ``concurrently-in-transaction``: CREATE/DROP INDEX, REINDEX or DETACH PARTITION CONCURRENTLY in
  a script that opens a transaction (PostgreSQL refuses them inside one).
- ``missing-deploy`` / ``missing-revert`` / ``missing-verify``: a plan change lacks a script.
- ``not-in-plan``: a deploy script that no plan change names, so Sqitch never runs it.
- ``missing-lock-timeout``: a transactional script does work before setting ``lock_timeout``.
- ``missing-transaction``: work other than CONCURRENTLY runs outside a transaction.
- ``drop-or-rename-in-release``: DROP TABLE, or ALTER TABLE … DROP/RENAME a column, or RENAME TO.
- ``allow-without-reason`` / ``bad-allow``: a malformed exception comment.

An exception is a comment ``-- cidb-lint: allow <rule> -- <reason>``. It covers its own line and
the next statement; placed before the first statement it also covers the file-level findings
(``missing-revert``, ``missing-verify``). It accepts squawk rule names too, and an allow for one of
our rules also covers squawk's rule for the same problem (see ``_SQUAWK_ALIASES``). squawk's own
``-- squawk-ignore <rule>`` works as squawk documents.

squawk runs with the nearest ``.squawk.toml`` at or above the project directory. It already knows
that a plain CREATE INDEX on a table created earlier in the same file is fine (when both name the
table the same way), so ``require-concurrent-index-creation`` is left to it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from plumbum import CommandNotFound, local
from plumbum.machines import LocalCommand

from cidb.plan import Change, read_plan

# Statements PostgreSQL refuses inside a transaction block; the only work allowed outside one.
_CONCURRENT = re.compile(
    r"^(CREATE (UNIQUE )?INDEX CONCURRENTLY|DROP INDEX CONCURRENTLY"
    r"|REINDEX\b.*\bCONCURRENTLY\b|ALTER TABLE\b.*\bDETACH PARTITION\b.*\bCONCURRENTLY\b)"
)
# First words of statements that take locks or change things: DDL, DML and opaque blocks.
_WORK = frozenset(
    {
        *("CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT", "GRANT", "REVOKE", "SECURITY"),
        *("REINDEX", "CLUSTER", "VACUUM", "LOCK", "REFRESH", "IMPORT"),
        *("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "DO", "CALL"),
    }
)
_BEGIN = re.compile(r"^(BEGIN|START TRANSACTION)\b")
_END = re.compile(r"^(COMMIT|END|ROLLBACK|ABORT)\b(?! TO\b)")
_SET_LOCK_TIMEOUT = re.compile(r"^SET (?:(SESSION|LOCAL) )?LOCK_TIMEOUT\b")
_NAME = r'(?:"[^"]*"|[^\s"]+)(?:\.(?:"[^"]*"|[^\s".]+))*'
_ALTER_TABLE = re.compile(rf"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?{_NAME}(?: \*)? (.*)$")
_ALLOW = re.compile(r"^--\s*cidb-lint:\s*(?:allow\s+([a-z0-9-]+)\s*(?:--\s*(.*?))?)?\s*$")
_DIRECTIVE = re.compile(r"^--\s*cidb-lint\b")

# squawk rules that report the same problem as one of ours: one reasoned allow covers both.
_SQUAWK_ALIASES: dict[str, frozenset[str]] = {
    "drop-or-rename-in-release": frozenset(
        {"ban-drop-column", "ban-drop-table", "renaming-column", "renaming-table"}
    ),
    "concurrently-in-transaction": frozenset({"ban-concurrent-index-creation-in-transaction"}),
}


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
    """One SQL statement: its source, and its text upper-cased with literals blanked."""

    source: str
    text: str
    first_line: int
    last_line: int

    @property
    def verb(self) -> str:
        return self.text.split(" ", 1)[0]


@dataclass(frozen=True)
class Comment:
    """A ``--`` comment and the line it sits on."""

    text: str
    line: int


@dataclass(frozen=True)
class Allow:
    """A ``cidb-lint: allow`` exception and the lines it covers."""

    rule: str
    first_line: int
    last_line: int

    def covers(self, finding: Finding) -> bool:
        rules = {self.rule} | _SQUAWK_ALIASES.get(self.rule, frozenset())
        return finding.rule in rules and self.first_line <= finding.line <= self.last_line


@dataclass(frozen=True)
class Script:
    """A deploy script split into statements, with its exceptions."""

    path: Path
    statements: tuple[Statement, ...]
    allows: tuple[Allow, ...]
    directive_findings: tuple[Finding, ...]


class SquawkError(RuntimeError):
    """squawk could not lint (missing binary, bad config, unreadable output)."""


# --- splitting SQL the way psql does ------------------------------------------------------------


class _Splitter:
    """Split psql input into statements and comments; strings, quotes and bodies stay opaque."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.pos = 0
        self.line = 1
        self.buffer: list[str] = []
        self.first_line = self.last_line = self.start = self.end = 0
        self.last_word = ""
        self.atomic_depth = 0
        self.statements: list[Statement] = []
        self.comments: list[Comment] = []

    def run(self) -> tuple[list[Statement], list[Comment]]:
        while self.pos < len(self.sql):
            self._step()
        self._flush()
        return self.statements, self.comments

    def _step(self) -> None:
        sql, pos = self.sql, self.pos
        char, ahead = sql[pos], sql[pos : pos + 2]
        if ahead == "--":
            end = self._find("\n", pos)
            self.comments.append(Comment(sql[pos:end].rstrip(), self.line))
            self.pos = end
        elif ahead == "/*":
            self._skip_block_comment()
        elif char == "'":
            escapes = pos > 0 and sql[pos - 1] in "eE" and not _is_word(sql, pos - 2)
            self._take_quoted("'", backslash=escapes, placeholder="'?'")
        elif char == '"':
            self._take_quoted('"', backslash=False, placeholder=None)
        elif char == "$" and (tag := _dollar_tag(sql, pos)):
            end = self._find(tag, pos + len(tag)) + len(tag)
            self._emit("$$?$$", sql[pos:end])
        elif char == "\\":
            self._flush()  # a psql meta-command (\gexec, \set …) ends the query buffer
            self._advance(self._find("\n", pos))
        elif char == ";" and self.atomic_depth == 0:
            self._flush()
            self.pos += 1
        elif _is_word_start(char):
            self._take_word()
        else:
            self._emit(char, char)

    def _find(self, needle: str, start: int) -> int:
        found = self.sql.find(needle, start)
        return len(self.sql) if found < 0 else found

    def _advance(self, end: int) -> str:
        taken = self.sql[self.pos : end]
        self.line += taken.count("\n")
        self.pos = end
        return taken

    def _emit(self, normalized: str, raw: str) -> None:
        if normalized.strip():
            if not self.buffer:
                self.first_line, self.start = self.line, self.pos
            self.last_line, self.end = self.line + raw.count("\n"), self.pos + len(raw)
        if self.buffer or normalized.strip():
            self.buffer.append(normalized)
        self.line += raw.count("\n")
        self.pos += len(raw)

    def _skip_block_comment(self) -> None:
        depth, pos = 0, self.pos
        while pos < len(self.sql):
            if self.sql.startswith("/*", pos):
                depth, pos = depth + 1, pos + 2
            elif self.sql.startswith("*/", pos):
                depth, pos = depth - 1, pos + 2
                if depth == 0:
                    break
            else:
                pos += 1
        self._emit(" ", self.sql[self.pos : pos])

    def _take_quoted(self, quote: str, *, backslash: bool, placeholder: str | None) -> None:
        pos = self.pos + 1
        while pos < len(self.sql):
            if (backslash and self.sql[pos] == "\\") or self.sql.startswith(quote * 2, pos):
                pos += 2  # an escaped character or a doubled quote
            elif self.sql[pos] == quote:
                pos += 1
                break
            else:
                pos += 1
        raw = self.sql[self.pos : pos]
        self._emit(placeholder or raw.upper(), raw)

    def _take_word(self) -> None:
        end = self.pos
        while end < len(self.sql) and _is_word_char(self.sql[end]):
            end += 1
        word = self.sql[self.pos : end].upper()
        self._track_atomic_body(word)
        self.last_word = word
        self._emit(word, self.sql[self.pos : end])

    def _track_atomic_body(self, word: str) -> None:
        """Keep `;` inside a SQL-standard `BEGIN ATOMIC … END` function body, as psql does."""
        if word == "ATOMIC" and self.last_word == "BEGIN" and self.atomic_depth == 0:
            self.atomic_depth = 1
        elif self.atomic_depth and word in ("BEGIN", "CASE"):
            self.atomic_depth += 1
        elif self.atomic_depth and word == "END":
            self.atomic_depth -= 1

    def _flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        if text:
            source = " ".join(self.sql[self.start : self.end].split())
            self.statements.append(Statement(source, text, self.first_line, self.last_line))
        self.buffer = []
        self.last_word = ""
        self.atomic_depth = 0


def _is_word_start(char: str) -> bool:
    return char.isalpha() or char == "_"


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _is_word(sql: str, pos: int) -> bool:
    return pos >= 0 and _is_word_char(sql[pos])


def _dollar_tag(sql: str, pos: int) -> str | None:
    """The `$tag$` opening a dollar-quoted string at pos, if one does (not `$1`, not `a$b`)."""
    if _is_word(sql, pos - 1):
        return None
    match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[pos:])
    return match.group(0) if match else None


def split_sql(sql: str) -> tuple[list[Statement], list[Comment]]:
    """Split a psql script into statements and ``--`` comments."""
    return _Splitter(sql).run()


# --- exceptions ---------------------------------------------------------------------------------


def _parse_allows(
    path: Path, comments: Iterable[Comment], statements: Sequence[Statement]
) -> tuple[list[Allow], list[Finding]]:
    """Read the ``cidb-lint`` comments: the exceptions they grant and the malformed ones."""
    allows: list[Allow] = []
    errors: list[Finding] = []
    for comment in comments:
        if not _DIRECTIVE.match(comment.text):
            continue
        match = _ALLOW.match(comment.text)
        if match is None or match.group(1) is None:
            message = "expected `-- cidb-lint: allow <rule> -- <reason>`"
            errors.append(Finding(path, comment.line, "bad-allow", message))
        elif not (match.group(2) or "").strip():
            message = f"allow {match.group(1)} needs a reason: `-- <reason>` after the rule"
            errors.append(Finding(path, comment.line, "allow-without-reason", message))
        else:
            allows.append(_allow_span(match.group(1), comment.line, statements))
    return allows, errors


def _allow_span(rule: str, line: int, statements: Sequence[Statement]) -> Allow:
    """An allow covers its own line and the next statement; in the header, from line 1."""
    following = [s for s in statements if s.last_line >= line]
    if not following:
        return Allow(rule, line, line)
    target = following[0]
    first = 1 if statements[0] is target and target.first_line >= line else line
    return Allow(rule, min(first, target.first_line), target.last_line)


def parse_script(path: Path, sql: str) -> Script:
    """Parse a deploy script's text into statements and exceptions."""
    statements, comments = split_sql(sql)
    allows, errors = _parse_allows(path, comments, statements)
    return Script(path, tuple(statements), tuple(allows), tuple(errors))


def read_script(path: Path) -> Script:
    """Read and parse a deploy script."""
    return parse_script(path, path.read_text(encoding="utf-8"))


# --- our rules ----------------------------------------------------------------------------------


def _is_concurrent(statement: Statement) -> bool:
    return bool(_CONCURRENT.match(statement.text))


def _opens_transaction(script: Script) -> bool:
    return any(_BEGIN.match(s.text) for s in script.statements)


def check_concurrently(script: Script) -> Iterator[Finding]:
    """CONCURRENTLY work never shares a script with a transaction."""
    if not _opens_transaction(script):
        return
    in_transaction = False
    for statement in script.statements:
        if _BEGIN.match(statement.text):
            in_transaction = True
        elif _END.match(statement.text):
            in_transaction = False
        elif _is_concurrent(statement):
            where = "inside a transaction" if in_transaction else "in a script that opens one"
            yield Finding(
                script.path,
                statement.first_line,
                "concurrently-in-transaction",
                f"{_head(statement)} runs {where}: give it its own change without BEGIN/COMMIT",
            )


def check_transactions(script: Script) -> Iterator[Finding]:
    """Work outside a transaction must be CONCURRENTLY; work inside one sets lock_timeout first."""
    in_transaction = session_timeout = local_timeout = False
    reported: set[str] = set()
    for statement in script.statements:
        if _BEGIN.match(statement.text):
            in_transaction, local_timeout = True, False
        elif _END.match(statement.text):
            in_transaction = False
        elif match := _SET_LOCK_TIMEOUT.match(statement.text):
            # SET LOCAL outside a transaction block does nothing (PostgreSQL only warns).
            if match.group(1) != "LOCAL":
                session_timeout = True
            local_timeout = local_timeout or in_transaction
        elif statement.verb in _WORK and not _is_concurrent(statement):
            timeout = session_timeout or local_timeout
            finding = _transaction_finding(script.path, statement, in_transaction, timeout)
            if finding and finding.rule not in reported:
                reported.add(finding.rule)
                yield finding


def _transaction_finding(
    path: Path, statement: Statement, in_transaction: bool, timeout: bool
) -> Finding | None:
    if not in_transaction:
        message = (
            f"{_head(statement)} runs outside a transaction: only CONCURRENTLY work may; "
            "wrap the change in BEGIN; … COMMIT;"
        )
        return Finding(path, statement.first_line, "missing-transaction", message)
    if not timeout:
        message = f"{_head(statement)} runs before the transaction sets lock_timeout"
        return Finding(path, statement.first_line, "missing-lock-timeout", message)
    return None


def check_drop_or_rename(script: Script) -> Iterator[Finding]:
    """Dropping or renaming a table or column waits for a later release than its replacement."""
    for statement in script.statements:
        for what in _drops_and_renames(statement.text):
            message = (
                f"{what} breaks the release still running: add the replacement in this release, "
                "drop the old one in a later release (as an allowed exception with its reason)"
            )
            yield Finding(script.path, statement.first_line, "drop-or-rename-in-release", message)


def _drops_and_renames(text: str) -> Iterator[str]:
    if text.startswith("DROP TABLE "):
        yield "DROP TABLE"
        return
    match = _ALTER_TABLE.match(text)
    if match is None:
        return
    for action in _split_top_level(match.group(1)):
        if re.match(r"^RENAME TO\b", action):
            yield "RENAME TABLE"
        elif re.match(r"^RENAME (?!CONSTRAINT\b)", action):
            yield "RENAME COLUMN"
        elif re.match(r"^DROP (?!CONSTRAINT\b)", action):
            yield "DROP COLUMN"


def _split_top_level(actions: str) -> list[str]:
    """Split an ALTER TABLE action list on the commas outside parentheses."""
    parts, depth, current = [], 0, []
    for char in actions:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _head(statement: Statement, words: int = 4) -> str:
    return "`" + " ".join(statement.source.split()[:words]) + " …`"


def check_script(script: Script) -> list[Finding]:
    """All our per-script rules."""
    return [
        *script.directive_findings,
        *check_concurrently(script),
        *check_transactions(script),
        *check_drop_or_rename(script),
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
    findings.extend(_unplanned(sqitch_dir, {c.name for c in changes}))
    return findings


def _unplanned(sqitch_dir: Path, planned: set[str]) -> Iterator[Finding]:
    deploy_dir = sqitch_dir / "deploy"
    for path in sorted(deploy_dir.rglob("*.sql")):
        name = path.relative_to(deploy_dir).with_suffix("").as_posix()
        if "@" not in name and name not in planned:
            yield Finding(path, 1, "not-in-plan", f"sqitch.plan names no change {name!r}")


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
        Finding(Path(r["file"]), int(r["line"]) + 1, r["rule_name"], r["message"]) for r in reports
    ]


# --- putting it together ------------------------------------------------------------------------


def _apply_allows(findings: Iterable[Finding], scripts: dict[Path, Script]) -> list[Finding]:
    """Drop the findings a reasoned ``cidb-lint: allow`` covers."""
    kept = []
    for finding in findings:
        script = scripts.get(finding.path)
        if script is None or not any(a.covers(finding) for a in script.allows):
            kept.append(finding)
    return kept


def lint_project(sqitch_dir: Path) -> list[Finding]:
    """Lint every deploy script of the Sqitch project in sqitch_dir; sorted findings."""
    changes = read_plan(sqitch_dir / "sqitch.plan").unique()
    deploys = [_script_path(sqitch_dir, "deploy", c.name) for c in changes]
    scripts = {p: read_script(p) for p in deploys if p.is_file()}
    findings = [
        *check_files(sqitch_dir, changes),
        *(f for script in scripts.values() for f in check_script(script)),
        *run_squawk(list(scripts), find_squawk_config(sqitch_dir)),
    ]
    return sorted(set(_apply_allows(findings, scripts)))


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
