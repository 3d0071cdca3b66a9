"""`cidb top` under tmux: the screen shows the stack's real sessions and pools, and q quits."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fixtures_stack import Stack
from plumbum import local
from support.cli import cidb
from support.docker import wait_until

TMUX = local["tmux"]
EXIT_MARK = "cidb-top-exit="


@pytest.fixture
def tmux_session(stack: Stack) -> Iterator[str]:
    """A detached tmux session running `cidb top` against the test stack; killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: scripts/test.sh installs it (apt-get install tmux)")
    name = f"cidbtop-{uuid.uuid4().hex[:8]}"
    settings = stack.settings()
    env = {"CI_DB_PORT": str(settings.port), "CI_DB_POOL_PORT": str(settings.pool_port)}
    command = " ".join([*(f"{k}={v}" for k, v in env.items()), str(cidb().executable)])
    # The shell prints cidb top's exit status, so the test never depends on tmux reaping the
    # process (tmux 3.3a can leave it a zombie with no status). `trap : INT` keeps the shell alive
    # through the Ctrl-C meant for cidb top; a handled signal, unlike an ignored one, is not
    # inherited, so cidb top still gets its KeyboardInterrupt.
    script = f"trap : INT; env {command} top; echo {EXIT_MARK}$?; exec sleep 3600"
    TMUX["new-session", "-d", "-s", name, "-x", "220", "-y", "80", f"sh -c '{script}'"]()
    try:
        yield name
    finally:
        TMUX["kill-session", "-t", name](retcode=None)


def screen(session: str) -> str:
    return str(TMUX["capture-pane", "-p", "-t", session]())


def exit_status(session: str, key: str) -> str:
    """cidb top's exit status, as the pane's shell printed it after KEY ended it."""
    found: list[str] = []

    def printed() -> bool:
        found[:] = re.findall(rf"^{EXIT_MARK}(\d+)", screen(session), re.M)
        return bool(found)

    wait_until(printed, 30, lambda: f"cidb top did not end on {key}:\n{screen(session)}")
    return found[0]


def test_top_shows_a_held_transaction_and_a_waiting_client_then_quits_on_q(
    stack: Stack, tmux_session: str
) -> None:
    settings = stack.settings()
    held = psycopg.connect(settings.conninfo("app"), application_name="top-test-held")
    pid = held.execute("SELECT pg_backend_pid()").fetchone()
    assert pid is not None
    pooled = settings.conninfo("readonly", pooled=True)
    # ci_readonly's pool is capped at 5: five open transactions hold it, a sixth client waits.
    holders = [psycopg.connect(pooled, prepare_threshold=None) for _ in range(5)]
    waiter: psycopg.Connection | None = None
    try:
        for conn in holders:
            conn.execute("SELECT 1")
        waiter = psycopg.connect(pooled, autocommit=True)
        waiter.pgconn.send_query(b"SELECT 1")  # queued in PgBouncer, not waited for here

        def shows_both() -> bool:
            text = screen(tmux_session)
            held_row = any(
                str(pid[0]) in line and "top-test-held" in line for line in text.splitlines()
            )
            waiting_row = any(
                line.split()[:2] == ["contextinject", "ci_readonly"] and line.split()[3] == "1"
                for line in (row.replace("│", " ").replace("┃", " ") for row in text.splitlines())
                if len(line.split()) > 3
            )
            return held_row and waiting_row

        wait_until(shows_both, 60, lambda: f"not on screen:\n{screen(tmux_session)}")
    finally:
        for conn in holders:
            conn.close()
        if waiter is not None:
            waiter.close()
        held.close()

    TMUX["send-keys", "-t", tmux_session, "q"]()
    assert exit_status(tmux_session, "q") == "0", screen(tmux_session)


def test_top_quits_cleanly_on_ctrl_c(tmux_session: str) -> None:
    wait_until(
        lambda: "PgBouncer pools" in screen(tmux_session),
        60,
        lambda: f"cidb top did not draw:\n{screen(tmux_session)}",
    )
    TMUX["send-keys", "-t", tmux_session, "C-c"]()
    assert exit_status(tmux_session, "Ctrl-C") == "0", screen(tmux_session)
    assert "Traceback" not in screen(tmux_session)
