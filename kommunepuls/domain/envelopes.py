"""The event envelope (contract v1): one frozen model per event type, and their union.

The public entry points (parse_event, to_stored, ...) are in `kommunepuls.domain.events`.

The citizen is identified by `cpr` on HTTP. A Kafka ingress will send `cpr_sealed`
instead; that is one more optional field on `_Envelope` plus an "exactly one of" check,
and `to_stored` is unaffected because the caller resolves the pseudonym.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from kommunepuls.domain.event_data import (
    CURRENT_VERSIONS,
    LEGACY_DATA_MODELS,
    AfklaretData,
    CaseworkerAssignedData,
    CvrCeasedData,
    CvrRegisteredData,
    EventRetractedData,
    EventType,
    ExemptionEndedData,
    ExemptionStartedData,
    MicroloanEndedData,
    MicroloanGrantedData,
    OrdinaryHoursData,
    RaskmeldingData,
    RelocatedData,
    SamtaleData,
    SamtaleDataV1,
    SygemeldingData,
    TilbudEndedData,
    TilbudStartedData,
    VisitationData,
    VisitationEndedData,
)
from kommunepuls.domain.fields import CaseRef, Cpr, EventId, IsoDate, MunicipalityCode, NoBool

# Senders' clocks and time zones differ; a day's grace keeps a correct event from being
# refused at midnight, while a typo'd year still is.
CLOCK_SKEW = timedelta(days=1)

V1 = Annotated[Literal[1], NoBool, Field(description="Version of this type's data shape.")]
V2 = Annotated[Literal[2], NoBool, Field(description="Version of this type's data shape.")]


def _field_error(title: str, loc: tuple[str, ...], message: str, value: Any) -> ValidationError:
    # A cross-field rule is checked on the whole model, but its error belongs to one field.
    error = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(
        title, [InitErrorDetails(type=error, loc=loc, input=value)]
    )


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: EventId = Field(
        description="The sender's idempotency key (a UUID): the same id sent twice is stored "
        "once; the same id with a different body is refused as a conflict."
    )
    type: str
    schema_version: int
    municipality: MunicipalityCode = Field(
        description="Kommunekode of the municipality whose case this is (one of the 98)."
    )
    cpr: Cpr
    occurred_at: IsoDate = Field(
        description="When it happened (haendelsesdato), YYYY-MM-DD in Danish local time; not "
        "before 2000-01-01 and not more than 1 day after the day it is received."
    )
    source: str = Field(
        min_length=1,
        max_length=100,
        strict=True,
        description="Name of the sending system (fagsystem), 1-100 characters.",
    )
    case_ref: CaseRef | None = Field(
        None,
        description="Optional id of the case in the sending system (at most 100 characters); "
        "must not contain a CPR number.",
    )

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, value: date, info: ValidationInfo) -> date:
        context = info.context if isinstance(info.context, dict) else {}
        # parse_event passes the latest day allowed with the receiving day ("today"),
        # computed once per request rather than per event.
        latest = context.get("latest") or (context.get("today") or date.today()) + CLOCK_SKEW
        if value > latest:
            raise ValueError(f"must not be after {latest.isoformat()}")
        return value


class VisitationEvent(_Envelope):
    """A citizen is visited into a programme with a group (persongruppemarkering).
    occurred_at is the first day of membership."""

    type: Literal["visitation"]
    schema_version: V1
    data: VisitationData


class VisitationEndedEvent(_Envelope):
    """Programme membership ends without the citizen being afklaret.
    occurred_at is the last day of membership (inclusive)."""

    type: Literal["visitation_ended"]
    schema_version: V1
    data: VisitationEndedData


class CaseworkerAssignedEvent(_Envelope):
    """A caseworker (jobformidler) owns the case from occurred_at."""

    type: Literal["caseworker_assigned"]
    schema_version: V1
    data: CaseworkerAssignedData


class SamtaleEventV1(_Envelope):
    """A samtale with the jobcentre, data version 1 (form `personal`). Still accepted;
    stored and read as version 2. occurred_at is the day of the samtale."""

    type: Literal["samtale"]
    schema_version: V1
    data: SamtaleDataV1


class SamtaleEvent(_Envelope):
    """A samtale (interview) with the jobcentre, held or not (cancelled / no-show).
    occurred_at is the day of the samtale."""

    type: Literal["samtale"]
    schema_version: V2
    data: SamtaleData


class TilbudStartedEvent(_Envelope):
    """A tilbud (offer / activation spell) starts. occurred_at is its first day; the spell
    is open until a tilbud_ended with the same tilbud_id."""

    type: Literal["tilbud_started"]
    schema_version: V1
    data: TilbudStartedData


class TilbudEndedEvent(_Envelope):
    """A tilbud spell ends. occurred_at is its last day (inclusive)."""

    type: Literal["tilbud_ended"]
    schema_version: V1
    data: TilbudEndedData


class OrdinaryHoursEvent(_Envelope):
    """Ordinary paid hours (ordinaere loentimer, eIndkomst) of a citizen in a month.
    occurred_at is the day the report was made."""

    type: Literal["ordinary_hours"]
    schema_version: V1
    data: OrdinaryHoursData


class CvrRegisteredEvent(_Envelope):
    """The citizen starts a business. occurred_at is the registration day."""

    type: Literal["cvr_registered"]
    schema_version: V1
    data: CvrRegisteredData


class CvrCeasedEvent(_Envelope):
    """The citizen's business closes. occurred_at is the day it ceased."""

    type: Literal["cvr_ceased"]
    schema_version: V1
    data: CvrCeasedData


class SygemeldingEvent(_Envelope):
    """A sickness spell starts. occurred_at is the first day of the spell."""

    type: Literal["sygemelding"]
    schema_version: V1
    data: SygemeldingData


class RaskmeldingEvent(_Envelope):
    """A sickness spell ends with a fit report; data.fit_from is the first fit day."""

    type: Literal["raskmelding"]
    schema_version: V1
    data: RaskmeldingData


class ExemptionStartedEvent(_Envelope):
    """The citizen is exempt (fritaget) from the effort from occurred_at; exempt citizens
    leave indicator denominators while exempt."""

    type: Literal["exemption_started"]
    schema_version: V1
    data: ExemptionStartedData


class ExemptionEndedEvent(_Envelope):
    """An exemption ends. occurred_at is its last day (exempt through that day)."""

    type: Literal["exemption_ended"]
    schema_version: V1
    data: ExemptionEndedData


class AfklaretEvent(_Envelope):
    """The citizen left the benefit to a clarified outcome; ends programme membership.
    occurred_at is the first day the citizen no longer belongs to the cohort."""

    type: Literal["afklaret"]
    schema_version: V1
    data: AfklaretData


class RelocatedEvent(_Envelope):
    """The citizen moves to another municipality; membership in this one ends (censored,
    not a failure). occurred_at is the moving day."""

    type: Literal["relocated"]
    schema_version: V1
    data: RelocatedData

    @model_validator(mode="after")
    def _moves_elsewhere(self) -> RelocatedEvent:
        if self.data.to_municipality == self.municipality:
            raise _field_error(
                "RelocatedEvent",
                ("data", "to_municipality"),
                "must differ from municipality",
                self.data.to_municipality,
            )
        return self


class EventRetractedEvent(_Envelope):
    """The referenced event counts as never having happened, as known from this event's
    recorded_at. Send it with the same municipality and cpr as the retracted event."""

    type: Literal["event_retracted"]
    schema_version: V1
    data: EventRetractedData

    @model_validator(mode="after")
    def _not_itself(self) -> EventRetractedEvent:
        if self.data.event_id == self.event_id:
            raise _field_error(
                "EventRetractedEvent",
                ("data", "event_id"),
                "an event cannot retract itself",
                self.data.event_id,
            )
        return self


class MicroloanGrantedEvent(_Envelope):
    """A microloan is granted to start a business (frikommune experiment Mikrolån).
    occurred_at is the first day of the microloan period, in which the citizen receives the
    loan and support (6 months in the experiment, seeds/000 L198); the period is open until
    a microloan_ended with the same loan_id."""

    type: Literal["microloan_granted"]
    schema_version: V1
    data: MicroloanGrantedData


class MicroloanEndedEvent(_Envelope):
    """A microloan period ends. occurred_at is its last day (inclusive); self-support is
    followed up from the day after (seeds/000 L193-195)."""

    type: Literal["microloan_ended"]
    schema_version: V1
    data: MicroloanEndedData


# Current envelopes by type, and older versions still accepted (upcast on parsing).
ENVELOPES: dict[EventType, type[_Envelope]] = {
    EventType.VISITATION: VisitationEvent,
    EventType.VISITATION_ENDED: VisitationEndedEvent,
    EventType.CASEWORKER_ASSIGNED: CaseworkerAssignedEvent,
    EventType.SAMTALE: SamtaleEvent,
    EventType.TILBUD_STARTED: TilbudStartedEvent,
    EventType.TILBUD_ENDED: TilbudEndedEvent,
    EventType.ORDINARY_HOURS: OrdinaryHoursEvent,
    EventType.CVR_REGISTERED: CvrRegisteredEvent,
    EventType.CVR_CEASED: CvrCeasedEvent,
    EventType.SYGEMELDING: SygemeldingEvent,
    EventType.RASKMELDING: RaskmeldingEvent,
    EventType.EXEMPTION_STARTED: ExemptionStartedEvent,
    EventType.EXEMPTION_ENDED: ExemptionEndedEvent,
    EventType.AFKLARET: AfklaretEvent,
    EventType.RELOCATED: RelocatedEvent,
    EventType.EVENT_RETRACTED: EventRetractedEvent,
    EventType.MICROLOAN_GRANTED: MicroloanGrantedEvent,
    EventType.MICROLOAN_ENDED: MicroloanEndedEvent,
}
LEGACY_ENVELOPES: dict[tuple[EventType, int], type[_Envelope]] = {
    (EventType.SAMTALE, 1): SamtaleEventV1,
}
# Every type has a current envelope, and every legacy data model an envelope of its own.
assert set(ENVELOPES) == set(CURRENT_VERSIONS)
assert set(LEGACY_ENVELOPES) == set(LEGACY_DATA_MODELS)


def legacy_tag(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


# Union tags as they appear first in a validation error's loc; stripped for senders.
UNION_TAGS: frozenset[str] = frozenset(
    [t.value for t in ENVELOPES] + [legacy_tag(t, v) for t, v in LEGACY_ENVELOPES]
)


# Plain-str lookups for the discriminator, which runs once per ingested event.
_TYPES: frozenset[str] = frozenset(t.value for t in ENVELOPES)
_LEGACY_TAGS: dict[tuple[str, int], str] = {
    (t.value, v): legacy_tag(t, v) for t, v in LEGACY_ENVELOPES
}
_VERSIONED_TYPES: frozenset[str] = frozenset(t for t, _ in _LEGACY_TAGS)


def event_tag(value: Any) -> str | None:
    """Pick the model from `type` and, for types with old versions, `schema_version`.

    Only a type's name selects a model: a legacy tag sent as the type ("samtale.v1") is an
    unknown type like any other.
    """
    is_dict = isinstance(value, dict)
    kind = value.get("type") if is_dict else getattr(value, "type", None)
    if not isinstance(kind, str) or kind not in _TYPES:
        return None
    if kind not in _VERSIONED_TYPES:  # most events: the type alone is the tag
        return kind
    version = value.get("schema_version") if is_dict else getattr(value, "schema_version", None)
    if isinstance(version, int) and not isinstance(version, bool):
        return _LEGACY_TAGS.get((kind, version), kind)
    return kind


EVENT_TYPE_ERROR = "'type' must be one of: " + ", ".join(sorted(t.value for t in EventType))

EventIn = Annotated[
    Annotated[VisitationEvent, Tag("visitation")]
    | Annotated[VisitationEndedEvent, Tag("visitation_ended")]
    | Annotated[CaseworkerAssignedEvent, Tag("caseworker_assigned")]
    | Annotated[SamtaleEvent, Tag("samtale")]
    | Annotated[SamtaleEventV1, Tag("samtale.v1")]
    | Annotated[TilbudStartedEvent, Tag("tilbud_started")]
    | Annotated[TilbudEndedEvent, Tag("tilbud_ended")]
    | Annotated[OrdinaryHoursEvent, Tag("ordinary_hours")]
    | Annotated[CvrRegisteredEvent, Tag("cvr_registered")]
    | Annotated[CvrCeasedEvent, Tag("cvr_ceased")]
    | Annotated[SygemeldingEvent, Tag("sygemelding")]
    | Annotated[RaskmeldingEvent, Tag("raskmelding")]
    | Annotated[ExemptionStartedEvent, Tag("exemption_started")]
    | Annotated[ExemptionEndedEvent, Tag("exemption_ended")]
    | Annotated[AfklaretEvent, Tag("afklaret")]
    | Annotated[RelocatedEvent, Tag("relocated")]
    | Annotated[EventRetractedEvent, Tag("event_retracted")]
    | Annotated[MicroloanGrantedEvent, Tag("microloan_granted")]
    | Annotated[MicroloanEndedEvent, Tag("microloan_ended")],
    Discriminator(event_tag, custom_error_type="event_type", custom_error_message=EVENT_TYPE_ERROR),
]
"""Any event a sender may send: every type, every accepted schema_version."""
