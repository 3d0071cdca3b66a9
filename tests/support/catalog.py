"""Catalog checks of row-level security, shared by the real test and its negative fixture."""

from __future__ import annotations

import psycopg

COMMANDS = ("r", "a", "w", "d")  # pg_policy.polcmd of SELECT, INSERT, UPDATE, DELETE

# Every ordinary table in the application schema; partitioned tables count too.
_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       coalesce(array_agg(p.polcmd::text) FILTER (WHERE p.polcmd IS NOT NULL), '{}') AS cmds,
       coalesce(bool_and(p.polqual IS NOT NULL OR p.polcmd = 'a'), false) AS all_using,
       coalesce(bool_and(p.polwithcheck IS NOT NULL OR p.polcmd IN ('r', 'd')), false) AS all_check
FROM pg_class c
LEFT JOIN pg_policy p ON p.polrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
"""


def rls_problems(conn: psycopg.Connection) -> dict[str, list[str]]:
    """table -> what is wrong with its RLS (empty dict when every table is protected)."""
    problems: dict[str, list[str]] = {}
    for name, enabled, forced, cmds, all_using, all_check in conn.execute(_TABLES):
        wrong = []
        if not enabled:
            wrong.append("RLS not enabled")
        if not forced:
            wrong.append("RLS not forced")
        missing = [c for c in COMMANDS if c not in cmds and "*" not in cmds]
        if missing:
            wrong.append(f"no policy for commands {missing}")
        if cmds and not (all_using and all_check):
            wrong.append("a policy lacks USING or WITH CHECK")
        if wrong:
            problems[name] = wrong
    return problems
