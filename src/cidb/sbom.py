"""CycloneDX SBOMs of the images: every Debian package with its exact version, read from the
image's own dpkg database (pgvector included: it is installed as a .deb we built)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from plumbum import local

from cidb import __version__, names

IMAGES = (names.DB_IMAGE, names.POOLER_IMAGE)
FIELDS = "${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\n"


def packages(image: str) -> list[dict[str, str]]:
    out = local["docker"](
        "run", "--rm", "--network", "none", "--entrypoint", "dpkg-query", image, "-W", "-f", FIELDS
    )
    rows = []
    for line in out.splitlines():
        name, version, arch, source = line.split("\t")
        rows.append({"name": name, "version": version, "arch": arch, "source": source})
    return rows


def os_release(image: str) -> dict[str, str]:
    out = local["docker"](
        "run", "--rm", "--network", "none", "--entrypoint", "cat", image, "/etc/os-release"
    )
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def image_digest(image: str) -> str:
    return local["docker"]("image", "inspect", "--format", "{{.Id}}", image).strip()


def cyclonedx(image: str) -> dict[str, Any]:
    release = os_release(image)
    version_id = release.get("VERSION_ID", "").strip('"')
    distro = f"debian-{version_id}"
    components = [
        {
            "type": "library",
            "name": p["name"],
            "version": p["version"],
            "purl": f"pkg:deb/debian/{p['name']}@{quote(p['version'], safe='')}"
            f"?arch={p['arch']}&distro={distro}",
            "properties": [{"name": "debian:source", "value": p["source"]}],
        }
        for p in packages(image)
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": [{"vendor": "ContextInject", "name": "cidb sbom", "version": __version__}],
            "component": {"type": "container", "name": image, "version": image_digest(image)},
        },
        "components": components,
    }


def write(out_dir: Path, images: tuple[str, ...] = IMAGES) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for image in images:
        path = out_dir / f"{image.replace(':', '-')}.cdx.json"
        path.write_text(json.dumps(cyclonedx(image), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
