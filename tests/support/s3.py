"""A throwaway S3 server for backup tests: moto behind gunicorn over TLS (tests/s3/Dockerfile),
on a network of its own where databases reach it by its alias, with a certificate for that
alias signed by a CA of its own, which the databases verify."""

from __future__ import annotations

import os
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from plumbum import local

from support.docker import SESSION_LABEL, Container, docker, run_container, unique_name, wait_until

S3_CONTEXT = Path(__file__).resolve().parent.parent / "s3"
S3_IMAGE = os.environ.get("CI_DB_S3_IMAGE", "ci-db-test-s3:moto-5.1.1")
# The name the databases use for the server, and so the name its certificate is for.
ALIAS = "s3"
PORT = 9000
REGION = "us-east-1"
# Where a database container finds the CA, the keys and the cipher pass (mounted read-only).
CLIENT_DIR = "/etc/ci-db/s3"
# The tests' own S3 requests, run inside the server's container (tests/s3/s3_client.py).
CLIENT = "/srv/moto/s3_client.py"
OPENSSL = local["openssl"]
_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def build_image() -> str:
    local["docker"]["build", "--quiet", "-t", S3_IMAGE, str(S3_CONTEXT)](timeout=1200)
    return S3_IMAGE


@dataclass(frozen=True)
class S3Files:
    """server/ (certificate, key, CA: mounted at /certs in the S3 server) and client/ (CA,
    access keys, cipher pass: mounted at CLIENT_DIR in the databases)."""

    server: Path
    client: Path


def make_files(directory: Path) -> S3Files:
    """A CA, and a certificate it signs for ALIAS (and for the host's 127.0.0.1 port)."""
    server, client = directory / "server", directory / "client"
    server.mkdir()
    client.mkdir()
    ca_key, ca_cert = server / "ca.key", server / "ca.crt"
    OPENSSL[
        "req", "-x509", *_EC_KEY, "-keyout", ca_key, "-out", ca_cert, "-days", "2",
        "-subj", "/CN=ci-db test S3 CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]()  # fmt: skip
    csr, ext = directory / "s3.csr", directory / "s3.ext"
    OPENSSL["req", "-new", *_EC_KEY, "-keyout", server / "s3.key", "-out", csr, "-subj", "/CN=s3"]()
    ext.write_text(
        f"subjectAltName=DNS:{ALIAS},DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    OPENSSL[
        "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-days", "2",
        "-extfile", ext, "-out", server / "s3.crt",
    ]()  # fmt: skip
    ca_key.unlink()
    (client / "ca.crt").write_bytes(ca_cert.read_bytes())
    # moto takes any keys; they still have to reach pgBackRest, which refuses to run without.
    (client / "access-key").write_text("AKIA" + uuid.uuid4().hex[:16].upper())
    (client / "secret-key").write_text(uuid.uuid4().hex)
    (client / "cipher-pass").write_text("s3-cipher-pass-" + uuid.uuid4().hex)
    # Read by the servers' own users (nobody, postgres), as a mounted secret usually is.
    for path in (server, client, *server.iterdir(), *client.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return S3Files(server=server, client=client)


@dataclass(frozen=True)
class S3Server:
    """A running S3 server, its network, and what a database needs to use it."""

    container: Container
    network: str
    files: S3Files

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.files.client / "ca.crt"))

    def answers(self) -> bool:
        """An S3 ListBuckets over verified TLS from the host, through the published port."""
        if not self.container.running():
            raise AssertionError(
                f"S3 server {self.container.name} exited:\n{self.container.logs()}"
            )
        url = f"https://127.0.0.1:{self.container.port(PORT)}/"
        try:
            with urllib.request.urlopen(url, context=self._tls(), timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def wait_answering(self, timeout: float = 60) -> None:
        wait_until(
            self.answers,
            timeout,
            lambda: f"S3 server {self.container.name} not answering:\n{self.container.logs()}",
        )

    def _client(self, *args: str) -> str:
        return self.container.exec("python3", CLIENT, *args)

    def create_bucket(self) -> str:
        name = f"ci-db-{uuid.uuid4().hex[:8]}"
        self._client("create-bucket", name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return self._client("keys", bucket, prefix).split()

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes (not text: a repository's files may be encrypted)."""
        done = subprocess.run(
            ["docker", "exec", self.container.name, "python3", CLIENT, "get", bucket, key],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, f"cannot read s3://{bucket}/{key}: {done.stderr!r}"
        return done.stdout

    def repo_env(self, n: int, bucket: str, *, files: bool = False) -> dict[str, str]:
        """PGBACKREST_REPO<n>_* for BUCKET; the keys as values, or as _FILE when FILES."""
        prefix = f"PGBACKREST_REPO{n}_"
        env = {
            "TYPE": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT": ALIAS,
            "STORAGE_PORT": str(PORT),
            "S3_REGION": REGION,
            "STORAGE_CA_FILE": f"{CLIENT_DIR}/ca.crt",
        }
        if files:
            env["S3_KEY_FILE"] = f"{CLIENT_DIR}/access-key"
            env["S3_KEY_SECRET_FILE"] = f"{CLIENT_DIR}/secret-key"
        else:
            env["S3_KEY"] = (self.files.client / "access-key").read_text()
            env["S3_KEY_SECRET"] = (self.files.client / "secret-key").read_text()
        return {prefix + key: value for key, value in env.items()}

    def cipher_pass_file_env(self, n: int) -> dict[str, str]:
        return {f"PGBACKREST_REPO{n}_CIPHER_PASS_FILE": f"{CLIENT_DIR}/cipher-pass"}

    def db_options(self) -> dict[str, list[str]]:
        """run_container options for a database that uses this server: its network, the files."""
        return {
            "volumes": [f"{self.files.client}:{CLIENT_DIR}:ro"],
            "extra": ["--network", self.network],
        }

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The server frozen (`docker pause`: buckets kept in memory), unpaused however the
        block ends."""
        docker("pause", self.container.name)
        try:
            yield
        finally:
            docker("unpause", self.container.name)


@contextmanager
def s3_server(image: str, directory: Path) -> Iterator[S3Server]:
    """An S3 server on a new network, answering over TLS; removed with its network after."""
    files = make_files(directory)
    network = unique_name("cidb-s3-net")
    docker("network", "create", "--label", SESSION_LABEL, network)
    try:
        container = run_container(
            image,
            prefix="cidb-test-s3",
            ports=(PORT,),
            volumes=[f"{files.server}:/certs:ro"],
            extra=["--network", network, "--network-alias", ALIAS],
        )
        try:
            server = S3Server(container=container, network=network, files=files)
            server.wait_answering()
            yield server
        finally:
            docker("unpause", container.name, retcode=None)
            container.remove()
    finally:
        docker("network", "rm", network, retcode=None)
