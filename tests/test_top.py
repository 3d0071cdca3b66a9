"""`cidb top` under tmux: the screen shows the stack's real sessions and pools, and q quits."""

from __future__ import annotations

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


@pytest.fixture
def tmux_session(stack: Stack) -> Iterator[str]:
    """A detached tmux session running `cidb top` against the test stack; killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: scripts/test.sh installs it (apt-get install tmux)")
    name = f"cidbtop-{uuid.uuid4().hex[:8]}"
    settings = stack.settings()
    env = {"CI_DB_PORT": str(settings.port), "CI_DB_POOL_PORT": str(settings.pool_port)}
    command = " ".join([*(f"{k}={v}" for k, v in env.items()), str(cidb().executable)])
    # exec: the shell tmux starts the command with gives way to cidb top, so Ctrl-C reaches
    # cidb top alone (a shell left waiting dies of the SIGINT itself, and the pane reports that).
    TMUX["new-session", "-d", "-s", name, "-x", "220", "-y", "80", f"exec env {command} top"]()
    TMUX["set-option", "-t", name, "remain-on-exit", "on"](retcode=None)
    try:
        yield name
    finally:
        TMUX["kill-session", "-t", name](retcode=None)


def screen(session: str) -> str:
    return str(TMUX["capture-pane", "-p", "-t", session]())


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
    wait_until(
        lambda: TMUX["list-panes", "-t", tmux_session, "-F", "#{pane_dead}"]().strip() == "1",
        30,
        lambda: f"cidb top did not quit on q:\n{screen(tmux_session)}",
    )
    status = TMUX["list-panes", "-t", tmux_session, "-F", "#{pane_dead_status}"]().strip()
    assert status == "0"


def test_top_quits_cleanly_on_ctrl_c(tmux_session: str) -> None:
    wait_until(
        lambda: "PgBouncer pools" in screen(tmux_session),
        60,
        lambda: f"cidb top did not draw:\n{screen(tmux_session)}",
    )
    TMUX["send-keys", "-t", tmux_session, "C-c"]()
    wait_until(
        lambda: TMUX["list-panes", "-t", tmux_session, "-F", "#{pane_dead}"]().strip() == "1",
        30,
        lambda: f"cidb top did not quit on Ctrl-C:\n{screen(tmux_session)}",
    )
    assert TMUX["list-panes", "-t", tmux_session, "-F", "#{pane_dead_status}"]().strip() == "0"
    assert "Traceback" not in screen(tmux_session)
