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
# the one reason it exists. Rules squawk has are squawk's; the rest are ours (Sqitch's).
FAILING = {
    "index-on-existing-table": {"require-concurrent-index-creation"},
    "concurrently-in-transaction": {"ban-concurrent-index-creation-in-transaction"},
    "missing-verify": {"missing-verify"},
    "missing-revert": {"missing-revert"},
    "missing-deploy": {"missing-deploy"},
    "drop-column": {"ban-drop-column"},
    "rename-column": {"renaming-column"},
    "missing-lock-timeout": {"require-lock-timeout"},
    "missing-transaction": {"missing-transaction"},
    "unguarded-concurrent-index": {"unguarded-concurrent-index"},
    "ignore-without-reason": {"ignore-without-reason"},
    "allow-covers-next-statement-only": {"renaming-column"},
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
    """An ignore before a DROP COLUMN does not excuse the RENAME COLUMN that follows it."""
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
            "missing-transaction",
            "missing-transaction",
            "deploy/schema/widgets_note.sql",
            "ALTER TABLE",
        ),
        (
            "unguarded-concurrent-index",
            "unguarded-concurrent-index",
            "deploy/indexes/widgets_name.sql",
            "ON public.widgets",
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
    ("sql", "lines"),
    [
        ("BEGIN;\nSET LOCAL lock_timeout = '5s';\n", [1, 2]),
        ("DO $$ BEGIN; DROP TABLE t; END $$;\nCOMMIT;", [1, 2]),
        ("SELECT 'a;b', E'it\\'s;' /* ; */ FROM t;\n-- x;\nCOMMIT;", [1, 3]),
        ("SELECT format('DROP INDEX x')\n\\gexec\nCOMMIT;", [1, 3]),
        ("CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END;\nCOMMIT;", [1, 2]),
    ],
    ids=["plain", "dollar-quoted-body", "strings-and-comments", "psql-gexec", "begin-atomic"],
)
def test_split_sql_finds_each_statement_and_its_line(sql: str, lines: list[int]) -> None:
    """pglast splits as psql does: quotes, bodies and comments hide `;`, `\\gexec` ends a query."""
    assert [s.line for s in split_sql(sql)] == lines


def _rules_for(sql: str) -> set[str]:
    return {f.rule for f in check_script(parse_script(Path("deploy/change.sql"), sql))}


TXN = "BEGIN;\nSET LOCAL lock_timeout = '5s';\n{}\nCOMMIT;\n"
GUARD = "SELECT 1 FROM pg_catalog.pg_index WHERE NOT indisvalid\n\\gexec\n"


@pytest.mark.parametrize(
    ("sql", "rules"),
    [
        (TXN.format("DROP TABLE t;"), set()),
        ("SET lock_timeout = '5s';\nDROP INDEX CONCURRENTLY IF EXISTS i;\n", set()),
        ("REINDEX (CONCURRENTLY) INDEX i;\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;", set()),
        ("SET lock_timeout = '5s';\nCREATE TABLE t (a text);\n", {"missing-transaction"}),
        (TXN.format("SELECT 1;") + "GRANT SELECT ON t TO r;\n", {"missing-transaction"}),
        ("DO $$ BEGIN PERFORM 1; END $$;\n", {"missing-transaction"}),
        ("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);", {"unguarded-concurrent-index"}),
        (GUARD + "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);", set()),
        ("CREATE INDEX CONCURRENTLY i ON t (a);", set()),
        (
            "-- squawk-ignore ban-drop-table\n" + TXN.format("DROP TABLE t;"),
            {"ignore-without-reason"},
        ),
        (
            "-- squawk-ignore ban-drop-table -- gone since 1.2\n" + TXN.format("DROP TABLE t;"),
            set(),
        ),
        ("CREATE TABLE (", {"parse-error"}),
    ],
    ids=[
        "transaction-is-fine",
        "drop-index-concurrently-alone",
        "reindex-and-detach-concurrently-alone",
        "work-without-transaction",
        "work-after-commit",
        "do-block-is-work",
        "cic-without-guard",
        "cic-after-indisvalid-guard",
        "cic-without-if-not-exists-fails-loudly",
        "ignore-without-reason",
        "ignore-with-reason",
        "unparsable",
    ],
)
def test_our_rules_on_single_scripts(sql: str, rules: set[str]) -> None:
    """Our rules flag exactly the transaction slips, unguarded CIC and unreasoned ignores."""
    assert _rules_for(sql) == rules


def test_an_ignore_of_our_rule_is_not_an_unused_squawk_ignore(tmp_path: Path) -> None:
    """`-- squawk-ignore missing-transaction -- why` excuses our finding; squawk says nothing."""
    project = tmp_path / "p"
    for kind in ("deploy", "revert", "verify"):
        (project / kind).mkdir(parents=True)
        (project / kind / "c.sql").write_text("SELECT 1;\n")
    (project / "sqitch.plan").write_text("%project=p\n\nc 2026-11-27T07:00:00Z a <a@b> # c\n")
    (project / "deploy" / "c.sql").write_text(
        "SET lock_timeout = '5s';\n"
        "-- squawk-ignore missing-transaction -- VACUUM cannot run in a transaction\n"
        "VACUUM public.t;\n"
    )
    assert lint_project(project) == []
