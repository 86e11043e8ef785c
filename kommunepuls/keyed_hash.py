"""HMAC-SHA256 under one key for many short messages (ingest: a pseudonym and a body hash
per event).

The same digests as `hmac.new(key, message, hashlib.sha256)`, built as RFC 2104 defines
HMAC: H((K ^ opad) || H((K ^ ipad) || message)), from two SHA-256 states primed with the
padded key once and copied per message. `hmac`'s own copy() is a Python object around an
OpenSSL HMAC context: 2.3 µs a short message here, against 0.9 µs for two hashlib copies.
Every instance checks itself against `hmac` when built.
"""

from __future__ import annotations

import hashlib
import hmac

_BLOCK = 64  # SHA-256's block size in bytes
_SELF_CHECK = b"kommunepuls keyed_hash self-check"


class KeyedSha256:
    """HMAC-SHA256 of messages under one key."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        # RFC 2104: a key longer than a block is hashed first.
        short = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        padded = short.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        if self.digest(_SELF_CHECK) != hmac.new(key, _SELF_CHECK, hashlib.sha256).digest():
            raise RuntimeError("KeyedSha256 differs from hmac")

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        return self.digest(message).hex()
