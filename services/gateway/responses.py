"""JSON answers sent as the models already are.

A route with a `response_model` that returns a model has FastAPI dump it, validate the dump
against the same model again and encode it once more. The models here are built and
validated once by the route, so their own JSON is sent as it is; the route keeps its
`response_model`, so the OpenAPI document is unchanged. The JSON is the same values (only a
float below 1e-4 is written `1e-5` rather than `1e-05`).
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

JSON_MEDIA_TYPE = "application/json"


def json_response(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type=JSON_MEDIA_TYPE)
