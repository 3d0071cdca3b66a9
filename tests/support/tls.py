"""A throwaway PKI for TLS tests: root CA -> intermediate -> server certificate, via openssl."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plumbum import local

OPENSSL = local["openssl"]
# Every name a client or PgBouncer uses for the db in the tests: the host's published port
# (localhost, 127.0.0.1) and the db's alias on the tests' network (db).
SERVER_NAMES = "DNS:localhost,IP:127.0.0.1,DNS:db"
CA_EXTENSIONS = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
SERVER_EXTENSIONS = (
    f"subjectAltName={SERVER_NAMES}\nbasicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
)


@dataclass(frozen=True)
class Pki:
    """Files in one directory; `server_chain` is the server certificate then the intermediate."""

    root_ca: Path
    other_ca: Path
    server_chain: Path
    server_key: Path
    other_key: Path


def _key(path: Path) -> Path:
    OPENSSL["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]()
    return path


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert, ext = directory / f"{name}.key", directory / f"{name}.crt", directory / "ca.ext"
    ext.write_text(CA_EXTENSIONS)
    csr = directory / f"{name}.csr"
    OPENSSL["req", "-new", "-key", _key(key), "-subj", f"/CN={name}", "-out", csr]()
    OPENSSL["x509", "-req", "-in", csr, "-key", key, "-days", "2", "-extfile", ext, "-out", cert]()
    return cert, key


def _signed(
    directory: Path, name: str, issuer: tuple[Path, Path], extensions: str
) -> tuple[Path, Path]:
    key, cert, csr = (directory / f"{name}.{ext}" for ext in ("key", "crt", "csr"))
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    OPENSSL["req", "-new", "-key", _key(key), "-subj", f"/CN={name}", "-out", csr]()
    # No serial file: openssl 3 then picks a random serial number.
    OPENSSL[
        "x509", "-req", "-in", csr, "-CA", issuer[0], "-CAkey", issuer[1],
        "-days", "2", "-extfile", ext, "-out", cert,
    ]()  # fmt: skip
    return cert, key


def make_pki(directory: Path) -> Pki:
    """A root CA, an intermediate it signs, a server certificate for SERVER_NAMES, and a second,
    unrelated CA and key; every file world-readable, as a mounted secret usually is."""
    root = _self_signed(directory, "ci-db-test-root")
    intermediate = _signed(directory, "ci-db-test-intermediate", root, CA_EXTENSIONS)
    server = _signed(directory, "ci-db-test-server", intermediate, SERVER_EXTENSIONS)
    server_cert, server_key = server
    chain = directory / "server-chain.crt"
    chain.write_text(server_cert.read_text() + intermediate[0].read_text())
    other_ca, other_key = _self_signed(directory, "ci-db-test-other-root")
    for path in directory.iterdir():
        path.chmod(0o644)
    return Pki(
        root_ca=root[0],
        other_ca=other_ca,
        server_chain=chain,
        server_key=server_key,
        other_key=other_key,
    )
