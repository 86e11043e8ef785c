"""JSON Schemas of the event contract, generated from the models.

The files in the repository's `schemas/` are the contract fagsystems build against; they
are generated here and a test fails when they drift from the models, so the two can never
disagree. Regenerate with `python -m kommunepuls.domain.schemas schemas`.

Some rules cannot be said in JSON Schema (a CPR's date, a CVR's check digit, occurred_at
relative to the receiving day, relocation to another municipality); the descriptions name
them, and ingest enforces them.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated, Any, Union, cast

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter

from kommunepuls.domain.envelopes import (
    ENVELOPES,
    LEGACY_ENVELOPES,
    EventIn,
    event_tag,
    legacy_tag,
)
from kommunepuls.domain.event_data import EventType, accepted_versions
from kommunepuls.reference import municipalities

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://kommunepuls.dk/schemas/v1/"
ENVELOPE_FILE = "envelope.schema.json"
SUFFIX = ".schema.json"
MUNICIPALITY_DEF = "Kommunekode"

ENVELOPE_DESCRIPTION = (
    "One event sent by a fagsystem to Kommunepuls (contract v1). Every event has the same "
    "envelope - event_id (the idempotency key), type, schema_version, municipality, cpr, "
    "occurred_at, source and optional case_ref - and a `data` object whose shape depends on "
    "`type` (see <type>.schema.json). The CPR is replaced by a pseudonym on arrival and is "
    "never stored. Rules JSON Schema cannot express are checked on ingest: the CPR's first "
    "six digits must be a real date, CVR numbers must pass modulus-11, and occurred_at must "
    "not be more than 1 day after the day the event is received. Unknown fields are refused."
)


def _file_name(event_type: str) -> str:
    return f"{event_type}{SUFFIX}"


def _versions_of(event_type: EventType) -> list[tuple[str, type[BaseModel]]]:
    """(union tag, envelope class) for every accepted version of a type, newest first."""
    versions: list[tuple[str, type[BaseModel]]] = [(event_type.value, ENVELOPES[event_type])]
    for (kind, version), cls in sorted(LEGACY_ENVELOPES.items(), reverse=True):
        if kind == event_type:
            versions.append((legacy_tag(kind, version), cls))
    return versions


def _type_schema(event_type: EventType) -> dict[str, Any]:
    versions = _versions_of(event_type)
    if len(versions) == 1:
        adapter: TypeAdapter[Any] = TypeAdapter(versions[0][1])
    else:
        members = tuple(Annotated[cls, Tag(tag)] for tag, cls in versions)
        # Built at run time from the registered versions: no static type to give it.
        adapter = TypeAdapter(cast(Any, Annotated[Union[members], Discriminator(event_tag)]))  # noqa: UP007
    schema = adapter.json_schema()
    current = ENVELOPES[event_type]
    description = inspect.cleandoc(current.__doc__ or "")
    accepted = accepted_versions(event_type)
    if len(accepted) > 1:
        listed = ", ".join(str(v) for v in accepted)
        description += (
            f"\n\nAccepted schema_version: {listed} (older versions are upcast to "
            f"{accepted[-1]} on arrival)."
        )
    return _with_header(schema, _file_name(event_type), f"{event_type.value} event", description)


def _with_header(
    schema: dict[str, Any], file_name: str, title: str, description: str
) -> dict[str, Any]:
    return _tidy(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": SCHEMA_BASE_URL + file_name,
            **schema,
            "title": title,
            "description": description,
        }
    )


def _tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """Share the 98 municipality codes as one definition instead of one copy per field and
    event type, and reflow docstring line breaks so descriptions read as paragraphs."""
    codes = sorted(municipalities())
    used = False

    def walk(node: Any) -> Any:
        nonlocal used
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node.get("enum") == codes:
            used = True
            kept = {k: v for k, v in node.items() if k in ("description", "title")}
            return {"$ref": f"#/$defs/{MUNICIPALITY_DEF}", **walk(kept)}
        return {
            key: _reflow(value) if key == "description" and isinstance(value, str) else walk(value)
            for key, value in node.items()
        }

    tidy = walk(schema)
    if used:
        tidy.setdefault("$defs", {})[MUNICIPALITY_DEF] = {
            "description": "The 98 Danish municipality codes (kommunekoder), 3 digits.",
            "enum": codes,
            "title": MUNICIPALITY_DEF,
            "type": "string",
        }
    return tidy


def _reflow(text: str) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)


def generate_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type plus the envelope (any type), by file name."""
    schemas = {_file_name(t): _type_schema(t) for t in EventType}
    envelope = TypeAdapter(EventIn).json_schema()
    schemas[ENVELOPE_FILE] = _with_header(
        envelope, ENVELOPE_FILE, "Kommunepuls event (any type)", ENVELOPE_DESCRIPTION
    )
    return dict(sorted(schemas.items()))


def render(schema: dict[str, Any]) -> str:
    """The file text: sorted keys and a trailing newline, so output is byte-for-byte stable."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` and remove stale *.schema.json files there."""
    directory.mkdir(parents=True, exist_ok=True)
    schemas = generate_schemas()
    for stale in directory.glob(f"*{SUFFIX}"):
        if stale.name not in schemas:
            stale.unlink()
    written = []
    for name, schema in schemas.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def schemas_drift(directory: Path) -> list[str]:
    """How the files in `directory` differ from the models; empty when they agree."""
    schemas = generate_schemas()
    problems = []
    present = {p.name for p in directory.glob(f"*{SUFFIX}")}
    for name, schema in schemas.items():
        path = directory / name
        if name not in present:
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != render(schema):
            problems.append(f"{name}: differs from the models")
    unexpected = sorted(present - set(schemas))
    problems.extend(f"{name}: not generated by the models" for name in unexpected)
    return problems

