"""The `data` part of each event type (contract v1), its vocabularies, versions and upcasters.

Upcasters sit here, next to the models they translate between, so that no consumer ever
sees an old shape: the event store keeps what was sent, and `upcast` lifts it on reading.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kommunepuls.domain.fields import (
    Code,
    Cvr,
    EventId,
    IsoDate,
    Month,
    MunicipalityCode,
    NoBool,
    OpaqueId,
    Slug,
)

# Bounds (documented in the fields): a week has 168 hours, but more than 80 planned hours a
# week is a typing error; a month has at most 31 x 24 = 744 hours.
MAX_HOURS_PER_WEEK = 80
MAX_HOURS_PER_MONTH = 744
# A microloan above ten million kroner is a typing error whatever the programme; the
# Mikrolån experiment itself lent 1,000-50,000 kr. (seeds/003 L9818).
MAX_MICROLOAN_DKK = 10_000_000


class EventType(StrEnum):
    VISITATION = "visitation"
    VISITATION_ENDED = "visitation_ended"
    CASEWORKER_ASSIGNED = "caseworker_assigned"
    SAMTALE = "samtale"
    TILBUD_STARTED = "tilbud_started"
    TILBUD_ENDED = "tilbud_ended"
    ORDINARY_HOURS = "ordinary_hours"
    CVR_REGISTERED = "cvr_registered"
    CVR_CEASED = "cvr_ceased"
    SYGEMELDING = "sygemelding"
    RASKMELDING = "raskmelding"
    EXEMPTION_STARTED = "exemption_started"
    EXEMPTION_ENDED = "exemption_ended"
    AFKLARET = "afklaret"
    RELOCATED = "relocated"
    EVENT_RETRACTED = "event_retracted"
    MICROLOAN_GRANTED = "microloan_granted"
    MICROLOAN_ENDED = "microloan_ended"


class Programme(StrEnum):
    """Programmes the platform has rules for. The contract accepts any slug, because
    experiments add programme ids without a new contract version."""

    FLERE_SKAL_MED = "flere_skal_med"


class TargetGroup(StrEnum):
    KONTANTHJAELP_AKTIVITETSPARAT = "kontanthjaelp_aktivitetsparat"
    KONTANTHJAELP_JOBPARAT = "kontanthjaelp_jobparat"
    UDDANNELSESHJAELP = "uddannelseshjaelp"
    INTEGRATIONSYDELSE = "integrationsydelse"
    LEDIGHEDSYDELSE = "ledighedsydelse"
    SYGEDAGPENGE = "sygedagpenge"
    JOBAFKLARINGSFORLOEB = "jobafklaringsforloeb"
    RESSOURCEFORLOEB = "ressourceforloeb"
    REVALIDERING = "revalidering"
    DAGPENGE = "dagpenge"
    DAGPENGE_DIMITTEND = "dagpenge_dimittend"
    # Førtidspensionister in a løntilskud job (LAB § 2, nr. 6; seeds/001 L1099): the
    # experiments' follow-up rules for them need the group named.
    FOERTIDSPENSION = "foertidspension"


class SamtaleFormV1(StrEnum):
    PERSONAL = "personal"
    PHONE = "phone"
    DIGITAL = "digital"
    GROUP = "group"


class SamtaleForm(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    DIGITAL = "digital"
    GROUP = "group"


class SamtaleKind(StrEnum):
    ORDINARY = "ordinary"
    FIRST = "first"
    REVURDERING = "revurdering"
    JOINT = "joint"
    REHABILITERINGSTEAM = "rehabiliteringsteam"
    SYGEOPFOELGNING = "sygeopfoelgning"


class TilbudKind(StrEnum):
    VIRKSOMHEDSPRAKTIK = "virksomhedspraktik"
    LOENTILSKUD_PRIVAT = "loentilskud_privat"
    LOENTILSKUD_OFFENTLIG = "loentilskud_offentlig"
    NYTTEINDSATS = "nytteindsats"
    MENTOR = "mentor"
    VEJLEDNING_OPKVALIFICERING = "vejledning_opkvalificering"
    ORDINAER_UDDANNELSE = "ordinaer_uddannelse"
    FLEKSJOB = "fleksjob"
    JOBROTATION = "jobrotation"


VIRKSOMHEDSRETTET: frozenset[TilbudKind] = frozenset(
    {
        TilbudKind.VIRKSOMHEDSPRAKTIK,
        TilbudKind.LOENTILSKUD_PRIVAT,
        TilbudKind.LOENTILSKUD_OFFENTLIG,
        TilbudKind.NYTTEINDSATS,
    }
)


class AfklaretOutcome(StrEnum):
    JOB = "job"
    EDUCATION = "education"
    FLEKSJOB = "fleksjob"
    RESSOURCEFORLOEB = "ressourceforloeb"
    FOERTIDSPENSION = "foertidspension"
    SELF_EMPLOYMENT = "self_employment"
    OTHER_SELF_SUPPORT = "other_self_support"


Group = Annotated[Literal[1, 2, 3, 6], NoBool]

_REASON = (
    "A short reason code from the sending system (lower-case letters, digits, underscore; "
    "e.g. {example}). Free text is refused so that no personal data rides along."
)


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VisitationData(_Data):
    programme: Slug = Field(
        description="Programme id, a lower-case slug (e.g. flere_skal_med). New programmes "
        "(experiments) need no contract change."
    )
    target_group: TargetGroup = Field(
        description="The benefit (ydelsesgruppe) the citizen receives."
    )
    group: Group | None = Field(
        description="Group within the programme: FSM 1 = indsatsgruppen, 2 = rehabilitering, "
        "3 = ukontaktbar, 6 = udskudt; null for programmes without groups. A new visitation "
        "to the same programme replaces the group from its occurred_at."
    )


class VisitationEndedData(_Data):
    programme: Slug = Field(description="The programme whose membership ends (not afklaret).")
    reason: Code | None = Field(None, description=_REASON.format(example="fejlmarkering"))


class CaseworkerAssignedData(_Data):
    caseworker_id: OpaqueId = Field(
        description="Opaque staff id of the jobformidler who owns the case from occurred_at "
        "(1-100 characters: letters, digits and . _ : / -; must not contain a CPR number)."
    )


class SamtaleDataV1(_Data):
    """samtale data, schema_version 1 (still accepted; read as version 2)."""

    form: SamtaleFormV1 = Field(description="How the samtale was held (v1 vocabulary).")
    held: StrictBool = Field(description="false = cancelled or no-show.")
    kind: SamtaleKind = Field(description="What the samtale was for.")


class SamtaleData(_Data):
    """samtale data, schema_version 2.

    Version 2 renames form `personal` to `in_person`: "personal" was a literal translation
    of *personlig samtale* and reads as "private" in English, which integrators mixed up
    with one-to-one digital meetings. Nothing else changed; v1 events are upcast.
    """

    form: SamtaleForm = Field(
        description="How the samtale was held: in_person (face to face at the jobcentre or "
        "elsewhere), phone, digital (video), or group."
    )
    held: StrictBool = Field(description="false = cancelled or no-show.")
    kind: SamtaleKind = Field(description="What the samtale was for.")


class TilbudStartedData(_Data):
    tilbud_id: OpaqueId = Field(
        description="The sending system's id of this tilbud spell; tilbud_ended refers to it "
        "(1-100 characters: letters, digits and . _ : / -; must not contain a CPR number)."
    )
    kind: TilbudKind = Field(
        description="Kind of tilbud. Virksomhedsrettet: virksomhedspraktik, "
        "loentilskud_privat, loentilskud_offentlig, nytteindsats."
    )
    hours_per_week: (
        Annotated[float, Field(strict=True, ge=0, le=MAX_HOURS_PER_WEEK, allow_inf_nan=False)]
        | None
    ) = Field(None, description="Planned hours per week, 0 to 80.")
    cvr: Cvr | None = Field(None, description="CVR number of the workplace, if any.")


class TilbudEndedData(_Data):
    tilbud_id: OpaqueId = Field(description="The id sent in tilbud_started.")
    reason: Code | None = Field(None, description=_REASON.format(example="afsluttet"))


class OrdinaryHoursData(_Data):
    month: Month = Field(description="The calendar month the hours were worked, YYYY-MM.")
    hours: Annotated[
        float, Field(strict=True, ge=0, le=MAX_HOURS_PER_MONTH, allow_inf_nan=False)
    ] = Field(
        description="Ordinary paid hours (eIndkomst) in the month, 0 to 744. A later report "
        "for the same citizen and month replaces the earlier one."
    )
    cvr: Cvr | None = Field(None, description="CVR number of the employer, if known.")


class CvrRegisteredData(_Data):
    cvr: Cvr = Field(description="CVR number of the business the citizen started.")


class CvrCeasedData(_Data):
    cvr: Cvr = Field(description="CVR number of the business the citizen closed.")


class SygemeldingData(_Data):
    first_sick_day: IsoDate = Field(description="First day of sickness, YYYY-MM-DD.")
    partial: StrictBool = Field(description="true = partly sick (delvis sygemelding).")


class RaskmeldingData(_Data):
    fit_from: IsoDate = Field(description="First fit day, YYYY-MM-DD.")
    partial: StrictBool = Field(description="true = only partly fit (delvis raskmelding).")


class ExemptionStartedData(_Data):
    reason: Code = Field(description=_REASON.format(example="sygdom, barsel"))


class ExemptionEndedData(_Data):
    reason: Code = Field(description=_REASON.format(example="sygdom, barsel"))


class AfklaretData(_Data):
    outcome: AfklaretOutcome = Field(description="The clarified outcome the citizen left to.")


class RelocatedData(_Data):
    to_municipality: MunicipalityCode = Field(
        description="Kommunekode the citizen moves to; must differ from municipality."
    )


class EventRetractedData(_Data):
    event_id: EventId = Field(description="event_id of the event that never happened.")
    reason: Code = Field(description=_REASON.format(example="registration_error"))


class MicroloanGrantedData(_Data):
    loan_id: OpaqueId = Field(
        description="The sending system's id of this microloan; microloan_ended refers to it "
        "(1-100 characters: letters, digits and . _ : / -; must not contain a CPR number)."
    )
    amount_dkk: (
        Annotated[int, Field(strict=True, ge=1, le=MAX_MICROLOAN_DKK)] | None
    ) = Field(None, description="Amount granted in whole kroner, if known.")


class MicroloanEndedData(_Data):
    loan_id: OpaqueId = Field(description="The id sent in microloan_granted.")
    reason: Code | None = Field(None, description=_REASON.format(example="afsluttet"))


# The current data model per type; the envelope for a type carries this version.
DATA_MODELS: dict[EventType, type[_Data]] = {
    EventType.VISITATION: VisitationData,
    EventType.VISITATION_ENDED: VisitationEndedData,
    EventType.CASEWORKER_ASSIGNED: CaseworkerAssignedData,
    EventType.SAMTALE: SamtaleData,
    EventType.TILBUD_STARTED: TilbudStartedData,
    EventType.TILBUD_ENDED: TilbudEndedData,
    EventType.ORDINARY_HOURS: OrdinaryHoursData,
    EventType.CVR_REGISTERED: CvrRegisteredData,
    EventType.CVR_CEASED: CvrCeasedData,
    EventType.SYGEMELDING: SygemeldingData,
    EventType.RASKMELDING: RaskmeldingData,
    EventType.EXEMPTION_STARTED: ExemptionStartedData,
    EventType.EXEMPTION_ENDED: ExemptionEndedData,
    EventType.AFKLARET: AfklaretData,
    EventType.RELOCATED: RelocatedData,
    EventType.EVENT_RETRACTED: EventRetractedData,
    EventType.MICROLOAN_GRANTED: MicroloanGrantedData,
    EventType.MICROLOAN_ENDED: MicroloanEndedData,
}
CURRENT_VERSIONS: dict[EventType, int] = {t: 1 for t in EventType} | {EventType.SAMTALE: 2}
# Older versions still accepted on ingest (and found in the store), with their data model.
LEGACY_DATA_MODELS: dict[tuple[EventType, int], type[_Data]] = {
    (EventType.SAMTALE, 1): SamtaleDataV1,
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _samtale_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("form") == SamtaleFormV1.PERSONAL:
        return {**data, "form": SamtaleForm.IN_PERSON.value}
    return dict(data)


# (type, from_version) -> step to from_version + 1.
UPCASTERS: dict[tuple[EventType, int], Upcaster] = {
    (EventType.SAMTALE, 1): _samtale_v1_to_v2,
}


class UnknownSchemaVersion(ValueError):
    """No upcaster path from this schema_version of this type to the current version."""


def accepted_versions(event_type: str) -> tuple[int, ...]:
    """The schema_versions ingest accepts for a type, oldest first."""
    kind = EventType(event_type)
    legacy = sorted(v for t, v in LEGACY_DATA_MODELS if t == kind)
    return (*legacy, CURRENT_VERSIONS[kind])


def upcast(
    event_type: str, schema_version: int, data: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Lift `data` of `schema_version` to the type's current version, step by step.

    Returns (current_version, data); data already current is returned unchanged. The input
    dict is never mutated.
    """
    kind = EventType(event_type)
    current = CURRENT_VERSIONS[kind]
    if not 1 <= schema_version <= current:
        raise UnknownSchemaVersion(f"{kind.value} has no schema_version {schema_version}")
    version = schema_version
    while version < current:
        step = UPCASTERS.get((kind, version))
        if step is None:
            raise UnknownSchemaVersion(f"no upcaster for {kind.value} v{version}")
        data = step(data)
        version += 1
    return version, data
