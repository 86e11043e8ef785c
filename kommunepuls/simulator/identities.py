"""Synthetic identifiers: CPR and CVR numbers, event ids, all drawn deterministically."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from kommunepuls.simulator import model

CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
# Serials 0000-3999: a 7th digit of 0-3 means "born in the 1900s" in the classic CPR rule,
# which matches the birth years we draw.
CPR_SERIALS = 4000
_UUID_VERSION_4 = (0x4 << 76) | (0x2 << 62)
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)


def is_valid_cvr(cvr: str) -> bool:
    return (
        len(cvr) == 8
        and cvr.isascii()
        and cvr.isdigit()
        and sum(int(d) * w for d, w in zip(cvr, CVR_WEIGHTS, strict=True)) % 11 == 0
    )


def draw_cvr(rng: random.Random) -> str:
    """An 8-digit CVR number passing the modulus-11 check."""
    while True:
        head = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        check = -sum(d * w for d, w in zip(head, CVR_WEIGHTS, strict=False)) % 11
        if check < 10:  # a remainder of 10 has no digit; such numbers are never issued
            return "".join(map(str, head)) + str(check)


def break_cvr(cvr: str) -> str:
    """The same number with a wrong check digit (for deliberately invalid envelopes)."""
    last = int(cvr[-1])
    for step in range(1, 10):
        candidate = cvr[:-1] + str((last + step) % 10)
        if not is_valid_cvr(candidate):
            return candidate
    raise AssertionError("unreachable: only one check digit can be valid")


class CprSequence:
    """Hands out distinct CPR numbers for citizen ordinals 0, 1, 2, ...

    Drawing CPRs at random would collide (tens of collisions at 40,000 citizens by the
    birthday paradox) and merge two citizens' stories; an affine permutation of the
    (birth day, serial) space gives each ordinal its own number and still looks random.
    """

    def __init__(self, seed: int) -> None:
        first, last = date(model.BIRTH_YEARS[0], 1, 1), date(model.BIRTH_YEARS[1], 12, 31)
        self._first = first
        self._space = ((last - first).days + 1) * CPR_SERIALS
        rng = random.Random(f"cpr:{seed}")
        multiplier = rng.randrange(self._space // 3, self._space)
        while math.gcd(multiplier, self._space) != 1:
            multiplier += 1
        self._multiplier = multiplier
        self._offset = rng.randrange(self._space)

    def cpr(self, ordinal: int) -> tuple[str, date]:
        """The CPR number and birth date of citizen `ordinal`."""
        x = (self._multiplier * ordinal + self._offset) % self._space
        born = self._first + timedelta(days=x // CPR_SERIALS)
        return f"{born:%d%m%y}{x % CPR_SERIALS:04d}", born


def draw_event_id(rng: random.Random) -> str:
    """A UUID version 4 from the citizen's own generator, so reruns give the same ids."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_VERSION_4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
