"""`cidb lint`: real squawk plus our rules over the real plan and over small bad projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from cidb.lint import (
    Finding,
    check_script,
    lint_project,
    main,
    parse_script,
    split_sql,
    squawk_command,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lint"

# Each bad project and every rule it must trip; nothing else may fire, so each case fails for
# the one reason it exists (squawk's twin of our rule shows up where squawk has one).
FAILING = {
    "index-on-existing-table": {"require-concurrent-index-creation"},
    "concurrently-in-transaction": {
        "concurrently-in-transaction",
        "ban-concurrent-index-creation-in-transaction",
    },
    "missing-verify": {"missing-verify"},
    "missing-revert": {"missing-revert"},
    "missing-deploy": {"missing-deploy"},
    "drop-column": {"drop-or-rename-in-release", "ban-drop-column"},
    "rename-column": {"drop-or-rename-in-release", "renaming-column"},
    "missing-lock-timeout": {"missing-lock-timeout", "require-lock-timeout"},
    "missing-transaction": {"missing-transaction"},
    "allow-without-reason": {
        "allow-without-reason",
        "drop-or-rename-in-release",
        "ban-drop-column",
    },
    "allow-covers-next-statement-only": {"drop-or-rename-in-release", "renaming-column"},
}
PASSING = [
    "allowed-with-reason",
    "allowed-missing-revert",
    "index-on-new-table",
    "concurrent-index",
]


def _show(findings: list[Finding]) -> str:
    return "\n".join(map(str, findings)) or "no findings"


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def test_real_sqitch_plan_passes_lint() -> None:
    """Every deploy script of the project's own plan passes squawk and our rules."""
    findings = lint_project(REPO / "sqitch")
    assert findings == [], _show(findings)


@pytest.mark.parametrize("case", sorted(FAILING))
def test_bad_project_fails_with_its_rule(case: str) -> None:
    """Each bad fixture project fails with exactly the rules it was built to break."""
    findings = lint_project(FIXTURES / case)
    assert {f.rule for f in findings} == FAILING[case], _show(findings)


@pytest.mark.parametrize("case", PASSING)
def test_good_project_passes(case: str) -> None:
    """Reasoned exceptions, an index on a table its own change creates, and CIC done right pass."""
    findings = lint_project(FIXTURES / case)
    assert findings == [], _show(findings)


def test_allow_covers_only_the_statement_after_it() -> None:
    """An allow before a DROP COLUMN does not excuse the RENAME COLUMN that follows it."""
    script = (
        FIXTURES / "allow-covers-next-statement-only/deploy/schema/widgets_drop_legacy_name.sql"
    )
    findings = lint_project(FIXTURES / "allow-covers-next-statement-only")
    assert {f.line for f in findings} == {_line_of(script, "RENAME COLUMN")}, _show(findings)


@pytest.mark.parametrize(
    ("case", "rule", "script", "needle"),
    [
        (
            "index-on-existing-table",
            "require-concurrent-index-creation",
            "deploy/indexes/widgets_name.sql",
            "CREATE INDEX",
        ),
        (
            "concurrently-in-transaction",
            "concurrently-in-transaction",
            "deploy/indexes/widgets_name.sql",
            "CONCURRENTLY",
        ),
        (
            "missing-lock-timeout",
            "missing-lock-timeout",
            "deploy/schema/widgets_note.sql",
            "ALTER TABLE",
        ),
    ],
)
def test_finding_points_at_the_offending_line(
    case: str, rule: str, script: str, needle: str
) -> None:
    """squawk's and our findings name the script and the 1-based line of the statement."""
    path = FIXTURES / case / script
    findings = [f for f in lint_project(FIXTURES / case) if f.rule == rule]
    assert [(f.path, f.line) for f in findings] == [(path, _line_of(path, needle))]


def test_main_prints_findings_and_a_summary_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """main prints `path:line: [rule] message` per finding, then a summary, and returns 1."""
    project = FIXTURES / "missing-verify"
    assert main(project) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{project / 'deploy/schema/widgets.sql'}:1: [missing-verify] ")
    assert lines[1] == f"cidb lint: 1 finding(s) in 1 file(s) in {project}"


def test_main_exits_0_on_a_clean_project(capsys: pytest.CaptureFixture[str]) -> None:
    """main returns 0 and prints only the summary for a clean project."""
    project = FIXTURES / "concurrent-index"
    assert main(project) == 0
    assert capsys.readouterr().out.splitlines() == [f"cidb lint: no findings in {project}"]


def test_squawk_is_the_pinned_one_beside_python() -> None:
    """The squawk that lint runs is the pinned squawk-cli 2.70.0 installed with our Python."""
    assert squawk_command()("--version").strip() == "squawk 2.70.0"


@pytest.mark.parametrize(
    ("sql", "statements"),
    [
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\n", ["BEGIN", "SET LOCAL LOCK_TIMEOUT = '?'"]),
        ("DO $$ BEGIN; DROP TABLE t; END $$;", ["DO $$?$$"]),
        ("SELECT 'a;b', E'it\\'s;', \"x;y\" /* ; */ FROM t;", ["SELECT '?', E'?', \"X;Y\" FROM T"]),
        ("SELECT format('DROP INDEX x')\n\\gexec\nCOMMIT;", ["SELECT FORMAT('?')", "COMMIT"]),
        (
            "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;",
            ["CREATE FUNCTION F() RETURNS INT BEGIN ATOMIC SELECT 1; END"],
        ),
    ],
    ids=["plain", "dollar-quoted-body", "strings-and-comments", "psql-gexec", "begin-atomic"],
)
def test_split_sql_keeps_quoted_semicolons_inside_their_statement(
    sql: str, statements: list[str]
) -> None:
    """Splitting follows psql: quotes, bodies and comments hide `;`, a meta-command ends a query."""
    assert [s.text for s in split_sql(sql)[0]] == statements


def _rules_for(sql: str) -> set[str]:
    return {f.rule for f in check_script(parse_script(Path("deploy/change.sql"), sql))}


TXN = "BEGIN;\nSET LOCAL lock_timeout = '5s';\n{}\nCOMMIT;\n"


@pytest.mark.parametrize(
    ("sql", "rules"),
    [
        (TXN.format("DROP TABLE IF EXISTS public.old;"), {"drop-or-rename-in-release"}),
        (TXN.format("ALTER TABLE public.t RENAME TO u;"), {"drop-or-rename-in-release"}),
        (TXN.format("ALTER TABLE ONLY public.t DROP IF EXISTS c;"), {"drop-or-rename-in-release"}),
        (TXN.format("ALTER TABLE t ADD COLUMN b int, DROP a;"), {"drop-or-rename-in-release"}),
        (TXN.format('ALTER TABLE "T" RENAME "a" TO "b";'), {"drop-or-rename-in-release"}),
        (TXN.format("ALTER TABLE t DROP CONSTRAINT t_fk;"), set()),
        (TXN.format("ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER c DROP NOT NULL;"), set()),
        (TXN.format("ALTER TABLE t RENAME CONSTRAINT a TO b;"), set()),
        (TXN.format("DROP INDEX IF EXISTS public.t_idx;"), set()),
        (TXN.format("DO $$ BEGIN DROP TABLE x; END $$;"), set()),
        (
            "SET LOCAL lock_timeout = '5s';\nBEGIN;\nCREATE TABLE t (a text);\nCOMMIT;\n",
            {"missing-lock-timeout"},
        ),
        ("SET lock_timeout = '5s';\nBEGIN;\nCREATE TABLE t (a text);\nCOMMIT;\n", set()),
        (
            TXN.format("COMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);"),
            {"concurrently-in-transaction"},
        ),
        (TXN.format("REINDEX (CONCURRENTLY) INDEX i;"), {"concurrently-in-transaction"}),
        ("SET lock_timeout = '5s';\nDROP INDEX CONCURRENTLY IF EXISTS i;\n", set()),
        (
            "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY i ON t (a);\nGRANT ALL ON t TO r;",
            {"missing-transaction"},
        ),
        (
            "-- cidb-lint: allow drop-or-rename-in-release because\n" + TXN.format("DROP TABLE t;"),
            {"bad-allow", "drop-or-rename-in-release"},
        ),
    ],
    ids=[
        "drop-table",
        "rename-table",
        "drop-column-without-keyword",
        "drop-among-actions",
        "rename-quoted-column",
        "drop-constraint-is-fine",
        "drop-default-is-fine",
        "rename-constraint-is-fine",
        "drop-index-is-not-a-table",
        "dollar-body-is-opaque",
        "set-local-before-begin-does-nothing",
        "session-set-before-begin-counts",
        "cic-after-commit-in-transactional-script",
        "reindex-concurrently-in-transaction",
        "drop-index-concurrently-alone",
        "other-work-beside-cic",
        "allow-without-dashes-is-malformed",
    ],
)
def test_our_rules_on_single_scripts(sql: str, rules: set[str]) -> None:
    """Our rules flag exactly the drops, renames and transaction slips in a script."""
    assert _rules_for(sql) == rules
