"""One inbound ingress record, before and around `ingest_items`: split it into items,
authenticate its sender, refuse plaintext CPRs and open sealed ones, shape its problems.

No I/O: the consumer loop is in ingress.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kommunepuls.auth import Forbidden, InvalidToken, Principal, Role, verify_token
from kommunepuls.domain.event_data import EventType
from kommunepuls.sealing import Opener, UnsealError
from kommunepuls.web.problems import PROBLEM_BASE, Problem
from services.ingest.bodies import MalformedJSON, json_items, ndjson_items
from services.ingest.intake import RawItem

_KNOWN_TYPES = frozenset(t.value for t in EventType)
_CPR_DETAIL = re.compile(r"(^|; )cpr:")
MAX_HEADER_CHARS = 100


def problem(slug: str, title: str, status: int, detail: str,
            errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `Problem` as the plain dict the per-event results carry (as intake.py does)."""
    return Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail,
                   errors=errors).model_dump(mode="json")  # type: ignore[arg-type]


def rejected(index: int, value: Any, why: dict[str, Any]) -> dict[str, Any]:
    """A rejected `EventResult`, with the event_id when the item carries a readable one."""
    event_id = value.get("event_id") if isinstance(value, dict) else None
    if not (isinstance(event_id, str) and len(event_id) <= 64):
        event_id = None
    return {"index": index, "event_id": event_id, "status": "rejected", "position": None,
            "problem": why}


def split_record(value: bytes | None) -> list[RawItem]:
    """A record's value as items, like the HTTP body: one envelope, an array, or NDJSON."""
    if not value or not value.strip():
        return [RawItem(None, "the record is empty")]
    try:
        return json_items(value)
    except MalformedJSON:
        return ndjson_items(value)  # NDJSON (or broken): line by line, a bad line costs itself


def header_values(headers: Sequence[tuple[str, bytes]], name: str) -> list[bytes]:
    return [v for k, v in headers if k.lower() == name]


def authenticate(headers: Sequence[tuple[str, bytes]], secret: bytes) -> Principal:
    """The record's sender, verified as POST /v1/events verifies it: a valid token with
    role fagsystem (its municipalities are checked per event by `ingest_items`)."""
    values = header_values(headers, "authorization")
    if len(values) != 1:
        raise InvalidToken("a bearer token is required (one `authorization` header)")
    try:
        scheme, _, token = values[0].decode("ascii").partition(" ")
    except UnicodeDecodeError:
        raise InvalidToken("the authorization header is not ASCII") from None
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("a bearer token is required")
    principal = verify_token(secret, token.strip())
    if principal.role is not Role.fagsystem:
        raise Forbidden(f"role {principal.role.value!r} may not use this; needs one of: "
                        f"{Role.fagsystem.value}")
    return principal


def auth_problem(exc: InvalidToken | Forbidden) -> dict[str, Any]:
    if isinstance(exc, InvalidToken):
        return problem("unauthorized", "Authentication required", 401, str(exc))
    return problem("forbidden", "Access denied", 403, str(exc))


def text_header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    values = header_values(headers, name)
    if len(values) != 1 or len(values[0]) > MAX_HEADER_CHARS:
        return None
    try:
        return values[0].decode("ascii")
    except UnicodeDecodeError:
        return None


class Sealed:
    """Ingress checks of the CPR, before `ingest_items`: refuse a plaintext `cpr`, open
    `cpr_sealed` into `cpr` on a copy of the envelope (memory only; it is dropped with the
    record), or say why not."""

    PLAINTEXT = problem(
        "plaintext-cpr", "Plaintext CPR", 422,
        "cpr: a plaintext CPR number is not accepted on Kafka; seal it to the key at "
        "GET /v1/ingest-key and send it as cpr_sealed",
        [{"loc": ["cpr"], "msg": "not accepted on Kafka: send cpr_sealed"}])

    def __init__(self, opener: Opener) -> None:
        self.opener = opener

    def open_items(self, items: list[RawItem]) -> list[RawItem | dict[str, Any]]:
        """Per item: the item to pass on, or the problem that rejects it. CPU-bound (one
        X25519 operation per distinct sealed CPR), so it runs in a thread."""
        opened: dict[str, str] = {}  # a client may seal a citizen once per record
        out: list[RawItem | dict[str, Any]] = []
        for item in items:
            value = item.value
            if item.parse_error is not None or not isinstance(value, dict):
                out.append(item)  # ingest_items rejects it exactly as HTTP would
            elif "cpr" in value:
                out.append(self.PLAINTEXT)
            elif "cpr_sealed" not in value:
                out.append(problem("validation", "Invalid event", 422,
                                    "cpr_sealed: Field required",
                                    [{"loc": ["cpr_sealed"], "msg": "Field required"}]))
            else:
                sealed = value["cpr_sealed"]
                try:
                    cpr = opened.get(sealed) if isinstance(sealed, str) else None
                    if cpr is None:
                        cpr = opened[sealed] = self.opener.open(sealed)
                except UnsealError as exc:
                    out.append(problem("sealed-cpr", "Sealed CPR cannot be opened", 422,
                                        f"cpr_sealed: {exc}",
                                        [{"loc": ["cpr_sealed"], "msg": str(exc)}]))
                    continue
                envelope = {k: v for k, v in value.items() if k != "cpr_sealed"}
                envelope["cpr"] = cpr
                out.append(RawItem(envelope))
        return out


def name_sealed_field(result: dict[str, Any]) -> None:
    # The contract's message about the opened CPR says `cpr`; the sender wrote `cpr_sealed`.
    problem = result.get("problem")
    if not problem:
        return
    for error in problem.get("errors") or ():
        if error.get("loc") and error["loc"][0] == "cpr":
            error["loc"] = ["cpr_sealed", *error["loc"][1:]]
    if isinstance(problem.get("detail"), str):
        problem["detail"] = _CPR_DETAIL.sub(r"\1cpr_sealed:", problem["detail"])


def type_label(value: Any) -> str:
    # Label values must stay few: an unknown or missing type is "invalid", never echoed.
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if kind in _KNOWN_TYPES else "invalid"
