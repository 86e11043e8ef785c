"""Danish person and business numbers, and the pseudonym that replaces the person number.

A CPR number is personal data: no function here puts one in a message, a log line or an
exception, so an error can travel to a sender's receipt or a log without leaking it.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
from datetime import date
from operator import mul

CPR_LENGTH = 10
CVR_LENGTH = 8
# Modulus-11 weights for CVR numbers (Erhvervsstyrelsen); the last digit is the check digit.
CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
# The CPR's 7th digit once told the century, but since 2007 numbers are issued without the
# modulus-11 check and the century rule is not reliable for our purpose; we only need to know
# that the first six digits are a real DDMMYY date in some century we can meet.
CPR_CENTURIES = (1900, 2000)


# Six ASCII digits that are a real date DDMMYY in the 1900s or 2000s, as a regular
# expression: days 01-28 of any month, 29-30 of any but February, 31 of the long months,
# and 29 February when YY % 4 == 0 (1900 is no leap year, 2000 is; see _real_ddmmyy).
# It lets the contract check a CPR inside pydantic-core and find one inside text with one
# search, without a Python call per candidate; tests/unit proves it equal to _real_ddmmyy
# for every DDMMYY.
DDMMYY_PATTERN = (
    "(?:(?:0[1-9]|1[0-9]|2[0-8])(?:0[1-9]|1[0-2])[0-9]{2}"
    "|(?:29|30)(?:0[13-9]|1[0-2])[0-9]{2}"
    "|31(?:0[13578]|1[02])[0-9]{2}"
    "|2902(?:[02468][048]|[13579][26]))"
)
# A CPR written inside other text, with or without the hyphen, not part of a longer number,
# whose first six digits are a real date.
_EMBEDDED_CPR = re.compile(rf"(?<![0-9]){DDMMYY_PATTERN}-?[0-9]{{4}}(?![0-9])")
# Every DDMM that is a real day in some year (29 February included). Ingest checks a CPR
# per event, and a set lookup is ~10x cheaper than building the candidate dates; the
# equivalence with `cpr_birth_dates` is proven for every DDMMYY in tests/unit.
_REAL_DDMM = frozenset(f"{day:02d}{month:02d}" for month in range(1, 13)
                       for day in range(1, calendar.monthrange(2000, month)[1] + 1))


class IdentifierError(ValueError):
    """A CPR or CVR number, or a pseudonym key, is not valid (the value is never included)."""


def _is_digits(value: object, length: int) -> bool:
    # str.isdigit() accepts other scripts' digits (e.g. "١"); the contract means ASCII 0-9.
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def cpr_birth_dates(cpr: str) -> tuple[date, ...]:
    """The dates DDMMYY can stand for in the 1900s and 2000s; empty when none is real.

    Both centuries are tried because the century is ambiguous without the 7th-digit rule:
    29 February of a year YY is valid when either 19YY or 20YY is a leap year (so "290200"
    is valid through 2000, while "290201" is not).
    """
    if not _is_digits(cpr, CPR_LENGTH):
        return ()
    day, month, year = int(cpr[0:2]), int(cpr[2:4]), int(cpr[4:6])
    dates: list[date] = []
    for century in CPR_CENTURIES:
        try:
            dates.append(date(century + year, month, day))
        except ValueError:
            continue
    return tuple(dates)


def _real_ddmmyy(digits: str) -> bool:
    # `cpr_birth_dates(digits) != ()` for ASCII digits: 29 February is real when 19YY or
    # 20YY is a leap year, which is when YY % 4 == 0 (1900 is not one, 2000 is).
    ddmm = digits[:4]
    return ddmm in _REAL_DDMM and (ddmm != "2902" or int(digits[4:6]) % 4 == 0)


def is_cpr(value: object) -> bool:
    """True for 10 ASCII digits whose first six are a valid DDMMYY date (no modulus-11)."""
    return _is_digits(value, CPR_LENGTH) and _real_ddmmyy(value)  # type: ignore[arg-type]


def contains_cpr(text: str) -> bool:
    """True when `text` holds something that is a valid CPR (DDMMYY-SSSS, hyphen optional)."""
    # One search, no Python loop over candidates: a candidate (six digits, an optional
    # hyphen, four digits, not inside a longer number) spans whole runs of digits, so one
    # start position gives at most one, and its date is known there. Ten characters are
    # the least a CPR takes: shorter ids (most case_refs) skip the search.
    return len(text) >= CPR_LENGTH and _EMBEDDED_CPR.search(text) is not None


# The weighted sum over ASCII codes instead of int(digit): each code is the digit + 48, so
# subtract 48 x the weights once (0.5 instead of 2.3 µs; ingest checks a CVR per tilbud).
_ASCII_ZERO_WEIGHT = ord("0") * sum(CVR_WEIGHTS)


def _cvr_checksum(digits: str) -> bool:
    return (sum(map(mul, digits.encode("ascii"), CVR_WEIGHTS)) - _ASCII_ZERO_WEIGHT) % 11 == 0


def is_cvr(value: object) -> bool:
    """True for 8 ASCII digits passing the modulus-11 check with weights 2,7,6,5,4,3,2,1."""
    return _is_digits(value, CVR_LENGTH) and _cvr_checksum(value)  # type: ignore[arg-type]


CPR_DIGITS_MESSAGE = "a CPR number is 10 digits"
CPR_DATE_MESSAGE = "a CPR number's first 6 digits must be a valid date DDMMYY"


def check_cpr(value: str) -> str:
    """Return the CPR unchanged or raise IdentifierError (without the value)."""
    if not _is_digits(value, CPR_LENGTH):
        raise IdentifierError(CPR_DIGITS_MESSAGE)
    if not _real_ddmmyy(value):
        raise IdentifierError(CPR_DATE_MESSAGE)
    return value


CVR_DIGITS_MESSAGE = "a CVR number is 8 digits"
CVR_CHECKSUM_MESSAGE = "not a valid CVR number (modulus-11 check failed)"


def check_cvr(value: str) -> str:
    """Return the CVR unchanged or raise IdentifierError."""
    if not _is_digits(value, CVR_LENGTH):
        raise IdentifierError(CVR_DIGITS_MESSAGE)
    return check_cvr_checksum(value)


def check_cvr_checksum(value: str) -> str:
    """`check_cvr` for a value already known to be 8 ASCII digits (the contract checks
    those in pydantic-core): only the modulus-11 check, in Python."""
    if not _cvr_checksum(value):
        raise IdentifierError(CVR_CHECKSUM_MESSAGE)
    return value


def citizen_id(cpr: str, key: bytes) -> str:
    """The citizen's pseudonym: hex HMAC-SHA256(key, CPR).

    A keyed hash rather than a plain one because the CPR space is small (about 3.6 million
    dates x 10,000 serials): an unkeyed hash could be reversed by trying them all.
    """
    if not key:
        raise IdentifierError("the pseudonym key must not be empty")
    check_cpr(cpr)
    return hmac.new(key, cpr.encode("ascii"), hashlib.sha256).hexdigest()
