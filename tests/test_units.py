"""Pure logic with no engine: the deploy retry schedule, the synthetic generator's determinism,
the entrypoint's CI_DB_MEMORY arithmetic."""

from __future__ import annotations

import subprocess

import pytest
from fixtures_images import ROOT

from cidb import sqitch
from cidb.synthetic import Spec, tenant_rows

LOCK_TIMEOUT = "ERROR:  canceling statement due to lock timeout (55P03)"


class FakeSqitch:
    """Answers deploy with the scripted (code, output) pairs, one per call."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def run_with_target(self, verb: str, *args: str, echo: bool = False) -> tuple[int, str]:
        assert verb == "deploy"
        self.calls += 1
        return self.answers.pop(0)


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays deploy asks for, recorded instead of slept."""
    asked: list[float] = []
    monkeypatch.setattr(sqitch.time, "sleep", asked.append)
    return asked


def test_deploy_retries_lock_timeouts_with_doubling_backoff(delays: list[float]) -> None:
    """Four lock timeouts then success: 1, 2, 4, 8 s between the five tries."""
    fake = FakeSqitch(*[(2, LOCK_TIMEOUT)] * 4, (0, "deployed"))
    assert sqitch.deploy(fake, tries=5, backoff_s=1.0) == "deployed"  # type: ignore[arg-type]
    assert (fake.calls, delays) == (5, [1.0, 2.0, 4.0, 8.0])


def test_deploy_gives_up_after_its_tries_without_a_last_sleep(delays: list[float]) -> None:
    fake = FakeSqitch(*[(2, LOCK_TIMEOUT)] * 3)
    with pytest.raises(sqitch.SqitchError, match="gave up after 3 tries"):
        sqitch.deploy(fake, tries=3, backoff_s=0.5)  # type: ignore[arg-type]
    assert delays == [0.5, 1.0]


def test_deploy_does_not_retry_other_failures(delays: list[float]) -> None:
    fake = FakeSqitch((2, 'ERROR:  relation "x" does not exist'))
    with pytest.raises(sqitch.SqitchError, match="deploy failed"):
        sqitch.deploy(fake, tries=5)  # type: ignore[arg-type]
    assert (fake.calls, delays) == (1, [])


def test_synthetic_rows_are_a_function_of_the_seed() -> None:
    """Same spec and seed, same rows; another seed, other tenants."""
    spec = Spec(tenants=2, documents=3, chunks_per_document=2, seed=42)
    first, again = tenant_rows(spec, 1, "pw-hash"), tenant_rows(spec, 1, "pw-hash")
    assert first.tenant_id == spec.tenant_id(1)
    assert first.count() > 0
    # repr: rows hold Jsonb wrappers and numpy vectors, which do not compare by value.
    assert repr(first.tables) == repr(again.tables)
    other = Spec(tenants=2, documents=3, chunks_per_document=2, seed=43)
    assert other.tenant_id(1) != spec.tenant_id(1)
    assert other.slug(0) == "synthetic-43-0001"


ENTRYPOINT = ROOT / "docker" / "docker-entrypoint.sh"
# Sourcing stops at the sourcing guard: only the functions and their helpers are loaded.
MEMORY_ARGS = '. "$1"; docker_memory_args; printf "%s\\n" "${MEMORY_ARGS[@]}"'


def memory_args(value: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", MEMORY_ARGS, "memory-args", str(ENTRYPOINT)],
        env={"CI_DB_MEMORY": value, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("memory", "shared", "cache", "maintenance", "work"),
    [
        ("4GB", 1024, 3072, 512, 16),
        ("512MB", 128, 384, 64, 4),  # work_mem floor of 4 MB (512/256 = 2)
        ("64GB", 16384, 49152, 2048, 256),  # maintenance_work_mem capped at 2 GB
    ],
)
def test_ci_db_memory_derives_the_memory_settings(
    memory: str, shared: int, cache: int, maintenance: int, work: int
) -> None:
    """25 % shared_buffers, 75 % effective_cache_size, 1/8 maintenance (<= 2 GB), 1/256 work
    (>= 4 MB), as -c arguments."""
    result = memory_args(memory)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [
        "-c",
        f"shared_buffers={shared}MB",
        "-c",
        f"effective_cache_size={cache}MB",
        "-c",
        f"maintenance_work_mem={maintenance}MB",
        "-c",
        f"work_mem={work}MB",
    ]


@pytest.mark.parametrize("memory", ["4G", "100MB", "2048GB", "lots"])
def test_ci_db_memory_refuses_bad_sizes(memory: str) -> None:
    result = memory_args(memory)
    assert result.returncode == 1
    assert result.stderr.startswith(f"ci-db: error: CI_DB_MEMORY='{memory}'")
