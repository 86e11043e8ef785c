"""CSV for spreadsheets: the same objects as the JSON answers, one row per value.

Asked for with `Accept: text/csv`. JSON stays the default, also for `*/*`, so a client that
asks for nothing in particular gets what the OpenAPI schema describes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

CSV_MEDIA_TYPE = "text/csv"

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"},
                                       "example": "indicator,municipality,period\n"}},
          "description": "JSON, or CSV with `Accept: text/csv`"},
}


def wants_csv(request: Request) -> bool:
    """Whether the client prefers CSV over JSON (by the Accept header's q-values)."""
    return prefers_csv(request.headers.get("accept", ""))


@lru_cache(maxsize=256)  # clients send a few Accept values, over and over
def prefers_csv(accept: str) -> bool:
    """`wants_csv` on the Accept header's value (the response cache reads it raw)."""
    best: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        best[media.lower()] = max(quality, best.get(media.lower(), 0.0))
    csv_q = best.get(CSV_MEDIA_TYPE, 0.0)
    json_q = max(best.get("application/json", 0.0), best.get("*/*", 0.0))
    return csv_q > 0 and csv_q >= json_q


def _cell(value: object) -> object:
    if value is None:
        return ""  # an empty field, as spreadsheets show a missing number
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_response(rows: Iterable[BaseModel | Mapping[str, Any]], columns: Sequence[str],
                 filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line breaks
    writer.writerow(columns)
    for row in rows:
        data = row.model_dump(mode="json") if isinstance(row, BaseModel) else row
        writer.writerow([_cell(data.get(column)) for column in columns])
    return Response(buffer.getvalue(), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def fields(model: type[BaseModel], *extra_first: str) -> list[str]:
    return [*extra_first, *(f for f in model.model_fields if f not in extra_first)]
