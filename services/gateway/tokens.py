"""Verified bearer tokens, remembered until they expire.

Verifying an HS256 token (base64, HMAC, claims) costs more than the rest of a cached
answer, and a dashboard sends the same token thousands of times. A token string that once
verified stays valid until its `exp`: the signature cannot change, and `iat`/`nbf` only
become more valid with time. So the first verification is remembered, keyed by the token
string, and every later use only compares the clock with `exp`. A token that fails is never
remembered: it is verified (and refused with its precise problem) by the app every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from kommunepuls.auth import InvalidToken, Principal, verify_token

# Past this many distinct tokens the memory is emptied, not grown: verifying again is cheap
# next to letting a stream of one-off tokens fill the heap.
MAX_TOKENS = 10_000


class VerifiedTokens:
    """token string -> (Principal, exp); a miss verifies the token with the app's secret."""

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time,
                 max_tokens: int = MAX_TOKENS) -> None:
        self._secret = secret
        self._clock = clock
        self._max = max_tokens
        self._known: dict[str, tuple[Principal, float]] = {}

    def principal(self, token: str) -> Principal | None:
        """The token's principal if it is valid now, else None (the app gives the 401)."""
        known = self._known.get(token)
        if known is not None:
            principal, expires = known
            # PyJWT refuses a token once exp <= now; the same test here.
            if self._clock() < expires:
                return principal
            del self._known[token]
            return None
        try:
            principal = verify_token(self._secret, token)
        except InvalidToken:
            return None
        # Verified just above: reading `exp` again without the signature check is safe.
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._known) >= self._max:
            self._known.clear()
        self._known[token] = (principal, expires)
        return principal
