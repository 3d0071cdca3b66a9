"""`cidb sbom`: a CycloneDX SBOM per image, read back to check what ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.cli import cidb


@pytest.fixture(scope="module")
def sboms(images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("sbom")
    cidb()("sbom", "--out", str(out), timeout=300)
    return {p.name: json.loads(p.read_text()) for p in Path(out).glob("*.cdx.json")}


def versions(bom: dict) -> dict[str, str]:
    return {c["name"]: c["version"] for c in bom["components"]}


def test_sbom_is_cyclonedx_for_both_images(sboms: dict[str, dict]) -> None:
    """One CycloneDX 1.5 document per image, each listing packages with purls."""
    assert set(sboms) == {"ci-db-17.cdx.json", "ci-db-pgbouncer-17.cdx.json"}
    for bom in sboms.values():
        assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
        assert len(bom["components"]) > 50
        assert all(c["purl"].startswith("pkg:deb/debian/") for c in bom["components"])


def test_sbom_shows_pgvector_at_least_0_8_2(sboms: dict[str, dict]) -> None:
    """The db image's pgvector package is >= 0.8.2 (not trixie's vulnerable 0.8.0)."""
    version = versions(sboms["ci-db-17.cdx.json"])["postgresql-17-pgvector"]
    upstream = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())
    assert upstream >= (0, 8, 2)


def test_sbom_shows_debian_security_patched_pgbouncer(sboms: dict[str, dict]) -> None:
    """PgBouncer is Debian's stable security update build (+deb13uN), not a bare upstream."""
    version = versions(sboms["ci-db-pgbouncer-17.cdx.json"])["pgbouncer"]
    assert re.fullmatch(r"1\.24\.\d+-\d+\+deb13u\d+", version), version
