"""Reusable field types of the event contract: each type carries its rule and its JSON Schema.

Validators here raise messages that never contain the offending value, because a sender's
mistakes are echoed back in receipts and logs and a CPR may sit in any field. Where a rule
is a regular expression, it is checked with a readable message (in pydantic-core where it
can be: _CoreChecks) and the pattern is only written into the JSON Schema (pydantic's own
message would quote the regex).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from kommunepuls.domain.identifiers import (
    CPR_DATE_MESSAGE,
    CPR_DIGITS_MESSAGE,
    CVR_DIGITS_MESSAGE,
    DDMMYY_PATTERN,
    check_cvr_checksum,
    contains_cpr,
)
from kommunepuls.reference import is_municipality, municipalities

EARLIEST_DATE = date(2000, 1, 1)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ISO_DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# Lower-case slugs: stable across systems, safe in metric labels and URLs, and too narrow
# to carry free text (so no personal data can ride along in a "reason").
SLUG_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
# Ids of the sending system (tilbud, caseworker): opaque, but no spaces or free text.
OPAQUE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$"
CVR_PATTERN = r"^[0-9]{8}$"
# Day and month part of DDMMYY; the full date (leap years, 31 April) is checked in code.
CPR_PATTERN = r"^(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{6}$"
# Compiled once: re.fullmatch(str, ...) looks the pattern up in re's cache on every call,
# and these run once or twice per ingested event.
_UUID = re.compile(UUID_PATTERN)
_MONTH = re.compile(MONTH_PATTERN)


def _reject_bool(value: Any) -> Any:
    # JSON true/false must not pass as 1/0: pydantic treats bool as int for literals.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _iso_date_only(value: Any) -> Any:
    # pydantic's lax date also takes Unix timestamps and "YYYY-MM-DDT00:00"; the contract
    # says a plain calendar date, so anything else is refused before parsing.
    # The string is parsed here and the earliest date checked on the result, so that a
    # date costs one Python call, not two (every event has one or two). For what the
    # pattern admits, date.fromisoformat and pydantic accept the same strings as the same
    # dates (tests/unit); one fromisoformat refuses (31 April) goes on to pydantic, which
    # refuses it with its own message, as before.
    if isinstance(value, str):
        if ISO_DATE_PATTERN.fullmatch(value) is None:
            raise ValueError("must be a calendar date YYYY-MM-DD")
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, datetime):
        raise ValueError("must be a calendar date YYYY-MM-DD, not a timestamp")
    elif not isinstance(value, date):
        raise ValueError("must be a calendar date YYYY-MM-DD")
    return _not_before_2000(value)


def _not_before_2000(value: date) -> date:
    if value < EARLIEST_DATE:
        raise ValueError(f"must not be before {EARLIEST_DATE.isoformat()}")
    return value


def _no_cpr_inside(value: str) -> str:
    # Case systems often key cases by CPR; an id we store must not smuggle one in.
    if contains_cpr(value):
        raise ValueError("must not contain a CPR number")
    return value


UUID_MESSAGE = "must be a hyphenated UUID (8-4-4-4-12 hex digits)"
MONTH_MESSAGE = "must be a month YYYY-MM"
MONTH_EARLIEST_MESSAGE = f"must not be before {EARLIEST_DATE.year}-01"


def _canonical_uuid(value: str) -> str:
    """What EventId checks and returns, in Python (EventId itself runs it in pydantic-core;
    tests/unit proves the two agree)."""
    if _UUID.fullmatch(value) is None:
        raise ValueError(UUID_MESSAGE)
    # The event_id is the idempotency key: "ABC…" and "abc…" are the same UUID, so store one.
    # For what the pattern admits (ASCII hex in 8-4-4-4-12) str(uuid.UUID(v)) is v.lower(),
    # at a tenth of the cost (tests/unit prove the equivalence).
    return value.lower()


MUNICIPALITY_MESSAGE = "not one of the 98 municipality codes (kommunekode)"


def _check_municipality(value: str) -> str:
    """What MunicipalityCode checks, in Python (MunicipalityCode runs it in pydantic-core)."""
    if not is_municipality(value):
        raise ValueError(MUNICIPALITY_MESSAGE)
    return value


def _one_of(values: list[str]) -> str:
    """A pattern matching exactly one of `values` (pydantic-core compiles it to an automaton:
    as cheap as a set lookup, without a call into Python)."""
    return "^(?:" + "|".join(re.escape(v) for v in values) + ")$"


def _check_month(value: str) -> str:
    """What Month checks, in Python (Month runs it in pydantic-core; tests/unit compares)."""
    if _MONTH.fullmatch(value) is None:
        raise ValueError(MONTH_MESSAGE)
    if int(value[:4]) < EARLIEST_DATE.year:
        raise ValueError(MONTH_EARLIEST_MESSAGE)
    return value


class _CoreChecks:
    """Rules on a str checked by pydantic-core, in order, each failing with the contract's
    own message as a `value_error` — exactly the error a Python validator raising
    ValueError(message) gives, and unlike pydantic's pattern error it never quotes the
    regex. Ingest runs several per event: in Rust each costs a fraction of the Python
    validator it replaces (no call into Python, no re match object).

    The annotated str itself (strict, with its JSON Schema metadata) is the first step, so
    a non-str fails as before, and the last: pydantic takes a chain's JSON Schema from its
    first step in validation mode and from its last in serialization mode, so both stay
    what they were (a second strict str check of a str costs next to nothing). `lower`
    returns the value lower-cased once the last rule has passed.
    """

    def __init__(self, *rules: tuple[str, str], lower: bool = False) -> None:
        self.rules, self.lower = rules, lower

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        annotated = handler(source)
        steps = [annotated]
        for number, (pattern, message) in enumerate(self.rules, start=1):
            rule = core_schema.str_schema(pattern=pattern,
                                          to_lower=self.lower and number == len(self.rules))
            steps.append(core_schema.custom_error_schema(
                rule, custom_error_type="value_error", custom_error_context={"error": message}))
        return core_schema.chain_schema([*steps, annotated])


class _MunicipalityEnum:
    """Lists the 98 codes in the JSON Schema, from the packaged reference data."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["enum"] = sorted(municipalities())
        return schema


EventId = Annotated[
    str,
    Field(
        strict=True,
        description="A UUID (any version), hyphenated.",
        json_schema_extra={"pattern": UUID_PATTERN},
    ),
    # _canonical_uuid, in pydantic-core: one spelling of each UUID is stored.
    _CoreChecks((UUID_PATTERN, UUID_MESSAGE), lower=True),
]
MunicipalityCode = Annotated[
    str,
    Field(
        strict=True,
        description="A 3-digit kommunekode, one of the 98 municipalities (e.g. 851 Aalborg).",
    ),
    # _check_municipality, in pydantic-core (the reference data is read on import for it).
    _CoreChecks((_one_of(sorted(municipalities())), MUNICIPALITY_MESSAGE)),
    _MunicipalityEnum(),
]
Cpr = Annotated[
    str,
    Field(
        strict=True,
        description="The citizen's CPR number, 10 digits without a hyphen. The first six "
        "digits must be a real date DDMMYY (in the 1900s or 2000s); there is no modulus-11 "
        "check. Replaced by a pseudonym on arrival and never stored.",
        json_schema_extra={"pattern": CPR_PATTERN},
    ),
    # check_cpr's two rules (identifiers.py), in pydantic-core; tests/unit compares them.
    _CoreChecks(("^[0-9]{10}$", CPR_DIGITS_MESSAGE), (f"^{DDMMYY_PATTERN}", CPR_DATE_MESSAGE)),
]
Cvr = Annotated[
    str,
    Field(
        strict=True,
        description="A CVR number: 8 digits passing the modulus-11 check "
        "(weights 2,7,6,5,4,3,2,1).",
        json_schema_extra={"pattern": CVR_PATTERN},
    ),
    # check_cvr (identifiers.py): the digits in pydantic-core, the modulus-11 in Python.
    _CoreChecks(("^[0-9]{8}$", CVR_DIGITS_MESSAGE)),
    AfterValidator(check_cvr_checksum),
]
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date_only),  # also checks _not_before_2000
    Field(description="A calendar date YYYY-MM-DD (Danish local time), not before 2000-01-01."),
]
Month = Annotated[
    str,
    Field(
        strict=True,
        description="A calendar month YYYY-MM, not before 2000-01.",
        json_schema_extra={"pattern": MONTH_PATTERN},
    ),
    # _check_month's two rules; a year of four ASCII digits is before 2000 when it starts
    # with 0 or 1.
    _CoreChecks((MONTH_PATTERN, MONTH_MESSAGE), ("^[2-9]", MONTH_EARLIEST_MESSAGE)),
]
Slug = Annotated[str, Field(strict=True, pattern=SLUG_PATTERN)]
Code = Annotated[str, Field(strict=True, pattern=CODE_PATTERN)]
OpaqueId = Annotated[
    str, Field(strict=True, pattern=OPAQUE_ID_PATTERN), AfterValidator(_no_cpr_inside)
]
CaseRef = Annotated[str, Field(strict=True, max_length=100), AfterValidator(_no_cpr_inside)]
NoBool = BeforeValidator(_reject_bool)
