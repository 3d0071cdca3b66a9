"""scripts/ensure-*.sh: idempotent and quiet when there is nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from plumbum import local

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["ensure-engine.sh", "ensure-base-image.sh"])
def test_host_setup_script_is_quiet_when_nothing_to_do(images: dict[str, str], script: str) -> None:
    """A second run on a ready host exits 0 and prints nothing."""
    code, out, err = local["bash"][str(ROOT / "scripts" / script)].run(retcode=None)
    assert (code, out, err) == (0, "", "")


def test_base_image_script_fails_clearly_without_engine() -> None:
    """Pointed at a Docker socket where nothing answers, it says so and exits non-zero."""
    code, _, err = (
        local["bash"][str(ROOT / "scripts" / "ensure-base-image.sh")]
        .with_env(DOCKER_HOST="unix:///nonexistent.sock")
        .run(retcode=None)
    )
    assert code != 0
    assert "no Docker engine answers" in err
