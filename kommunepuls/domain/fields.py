"""Reusable field types of the event contract: each type carries its rule and its JSON Schema.

Validators here raise messages that never contain the offending value, because a sender's
mistakes are echoed back in receipts and logs and a CPR may sit in any field. Where a rule
is a regular expression, the code checks it with a readable message and the pattern is
only written into the JSON Schema (pydantic's own message would quote the regex).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from kommunepuls.domain.identifiers import check_cpr, check_cvr, contains_cpr
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
    if isinstance(value, datetime):
        raise ValueError("must be a calendar date YYYY-MM-DD, not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE_PATTERN.fullmatch(value):
        return value
    raise ValueError("must be a calendar date YYYY-MM-DD")


def _not_before_2000(value: date) -> date:
    if value < EARLIEST_DATE:
        raise ValueError(f"must not be before {EARLIEST_DATE.isoformat()}")
    return value


def _no_cpr_inside(value: str) -> str:
    # Case systems often key cases by CPR; an id we store must not smuggle one in.
    if contains_cpr(value):
        raise ValueError("must not contain a CPR number")
    return value


def _canonical_uuid(value: str) -> str:
    if _UUID.fullmatch(value) is None:
        raise ValueError("must be a hyphenated UUID (8-4-4-4-12 hex digits)")
    # The event_id is the idempotency key: "ABC…" and "abc…" are the same UUID, so store one.
    # For what the pattern admits (ASCII hex in 8-4-4-4-12) str(uuid.UUID(v)) is v.lower(),
    # at a tenth of the cost (tests/unit prove the equivalence).
    return value.lower()


def _check_municipality(value: str) -> str:
    if not is_municipality(value):
        raise ValueError("not one of the 98 municipality codes (kommunekode)")
    return value


def _check_month(value: str) -> str:
    if _MONTH.fullmatch(value) is None:
        raise ValueError("must be a month YYYY-MM")
    if int(value[:4]) < EARLIEST_DATE.year:
        raise ValueError(f"must not be before {EARLIEST_DATE.year}-01")
    return value


class _MunicipalityEnum:
    """Lists the 98 codes in the JSON Schema, read lazily from the packaged reference data."""

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
    AfterValidator(_canonical_uuid),
]
MunicipalityCode = Annotated[
    str,
    Field(
        strict=True,
        description="A 3-digit kommunekode, one of the 98 municipalities (e.g. 851 Aalborg).",
    ),
    AfterValidator(_check_municipality),
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
    AfterValidator(check_cpr),
]
Cvr = Annotated[
    str,
    Field(
        strict=True,
        description="A CVR number: 8 digits passing the modulus-11 check "
        "(weights 2,7,6,5,4,3,2,1).",
        json_schema_extra={"pattern": CVR_PATTERN},
    ),
    AfterValidator(check_cvr),
]
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date_only),
    AfterValidator(_not_before_2000),
    Field(description="A calendar date YYYY-MM-DD (Danish local time), not before 2000-01-01."),
]
Month = Annotated[
    str,
    Field(
        strict=True,
        description="A calendar month YYYY-MM, not before 2000-01.",
        json_schema_extra={"pattern": MONTH_PATTERN},
    ),
    AfterValidator(_check_month),
]
Slug = Annotated[str, Field(strict=True, pattern=SLUG_PATTERN)]
Code = Annotated[str, Field(strict=True, pattern=CODE_PATTERN)]
OpaqueId = Annotated[
    str, Field(strict=True, pattern=OPAQUE_ID_PATTERN), AfterValidator(_no_cpr_inside)
]
CaseRef = Annotated[str, Field(strict=True, max_length=100), AfterValidator(_no_cpr_inside)]
NoBool = BeforeValidator(_reject_bool)
