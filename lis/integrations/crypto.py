"""The cryptography of the credential handoff (design.md, *Credential handoff*), and its failure limit.

A handoff link carries a fresh 32-byte random **token** in its fragment
(``https://…/handoff/#<token>``), so the token never reaches access logs or proxies: only the
page's reveal POST sends it. From the token:

- the lookup key is ``SHA-256(token)`` (hex) — the database keeps nothing else about it;
- the encryption key is ``HKDF-SHA256(token, salt=None, info=b"myschool-handoff-v1")``, 32 bytes;
- the client secret is sealed with AES-256-GCM under that key, a random 12-byte nonce and the
  client id as associated data; ``nonce ‖ ciphertext`` is stored.

Without the token the stored ciphertext is useless; erasing it (confirmation, expiry) makes the
secret unrecoverable. Tokens travel as unpadded URL-safe base64 (43 characters).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.urls import reverse

from lis.conf import lis_setting
from myschool.links import public_url
from myschool.ratelimit import rate_limit_count, rate_limit_reached

TOKEN_BYTES = 32
NONCE_BYTES = 12
HKDF_INFO = b"myschool-handoff-v1"


class HandoffTokenInvalid(Exception):
    """The token is malformed or does not open the ciphertext."""


def new_token() -> bytes:
    """32 random bytes from the OS's CSPRNG."""
    return secrets.token_bytes(TOKEN_BYTES)


def encode_token(token: bytes) -> str:
    """The token as it appears in the link: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def decode_token(text: str) -> bytes:
    """Inverse of :func:`encode_token`; raises :class:`HandoffTokenInvalid` for anything but 32 bytes."""
    text = (text or "").strip().lstrip("#")
    if not text or len(text) > 64:
        raise HandoffTokenInvalid("malformed token")
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise HandoffTokenInvalid("malformed token") from None
    if len(token) != TOKEN_BYTES:
        raise HandoffTokenInvalid("malformed token")
    return token


def token_digest(token: bytes) -> str:
    """``SHA-256(token)`` as 64 hex characters: how the database finds a handoff."""
    return hashlib.sha256(token).hexdigest()


def _key(token: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(token)


def seal(secret: str, *, token: bytes, client_id: str) -> bytes:
    """``nonce ‖ AES-GCM(secret)`` under the key derived from ``token``, bound to ``client_id``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(_key(token)).encrypt(nonce, secret.encode("utf-8"), client_id.encode("utf-8"))


def unseal(sealed: bytes, *, token: bytes, client_id: str) -> str:
    """The secret :func:`seal` sealed; raises :class:`HandoffTokenInvalid` when it does not open."""
    sealed = bytes(sealed)
    if len(sealed) <= NONCE_BYTES:
        raise HandoffTokenInvalid("nothing to open")
    try:
        plain = AESGCM(_key(token)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], client_id.encode("utf-8"))
    except InvalidTag:
        raise HandoffTokenInvalid("the token does not open this ciphertext") from None
    return plain.decode("utf-8")


def handoff_link(token: bytes) -> str:
    """The emailed link: the handoff page with the token in the fragment (never sent to a server)."""
    return f"{public_url(reverse('lis:handoff'))}#{encode_token(token)}"


def _failure_rate() -> str:
    return f"{lis_setting('HANDOFF_FAILURES_PER_MINUTE')}/min"


def failures_retry_after(ip: str) -> int | None:
    """Whole seconds (1–60) until ``ip`` may try again when it already used up this minute's
    ``LIS["HANDOFF_FAILURES_PER_MINUTE"]`` failed tries (the ``Retry-After`` value), else ``None``."""
    return rate_limit_reached(f"handoff:failures:{ip}", _failure_rate())


def failure_record(ip: str) -> None:
    """Count one failed try (unknown, dead or malformed token) for ``ip`` in this minute's window."""
    rate_limit_count(f"handoff:failures:{ip}", _failure_rate())
