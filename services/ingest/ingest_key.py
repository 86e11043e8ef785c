"""GET /v1/ingest-key: the public key fagsystems seal CPR numbers to for the Kafka ingress."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kommunepuls.sealing import ALGORITHM, encode_key
from kommunepuls.web.problems import NotFound

router = APIRouter(prefix="/v1", tags=["ingress"])


class IngestKey(BaseModel):
    public_key: str = Field(description="X25519 public key, base64 (32 bytes).")
    algorithm: str = Field(examples=[ALGORITHM])


@router.get(
    "/ingest-key", response_model=IngestKey, summary="The Kafka ingress's public key",
    description="Seal each event's CPR number to this key (`cpr_sealed`, base64) before "
                "publishing it to the ingress topic; `kommunepuls.client.publish_kafka` does "
                "it for you. Public: no token needed.",
    responses={404: {"description": "The Kafka ingress is switched off"}},
)
async def ingest_key(request: Request) -> IngestKey:
    opener = getattr(request.app.state, "ingress_opener", None)
    if opener is None:
        raise NotFound("the Kafka ingress is not enabled on this deployment")
    return IngestKey(public_key=encode_key(opener.public_key), algorithm=ALGORITHM)
