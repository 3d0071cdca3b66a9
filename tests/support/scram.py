"""Check a password against a stored SCRAM-SHA-256 verifier (RFC 5802/7677), as the server does."""

from __future__ import annotations

import base64
import hashlib
import hmac


def verifier_matches(verifier: str, password: str) -> bool:
    """True when VERIFIER (pg_authid.rolpassword) was made from PASSWORD."""
    method, rest = verifier.split("$", 1)
    if method != "SCRAM-SHA-256":
        return False
    params, keys = rest.split("$", 1)
    iterations, salt = params.split(":", 1)
    stored_key, _server_key = keys.split(":", 1)
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(
        base64.b64encode(hashlib.sha256(client_key).digest()).decode(), stored_key
    )
