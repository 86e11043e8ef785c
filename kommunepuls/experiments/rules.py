"""Rule sets: the ordinary cadence of samtaler and follow-ups per target group, and the
experiments' relaxed versions, each with validity dates and its seed lines.

A rule family (e.g. `ledighedsydelse_revurdering`) has one ordinary version and, where an
experiment relaxes it, an experiment version. `rule_in_force` picks the version for a
municipality and a day: the experiment's, if an experiment relaxing the family covers the
target group in that municipality and runs that day; else the ordinary one. Deadlines and
indicators record the version they were judged by, so trial and ordinary municipalities are
compared rule set by rule set.

Validity: the ordinary versions are open-ended here. The seeds state these rules as they
stood in 2016-2018; whether the 2020 reform kept them is not in the seeds (see the report's
open points), so a version for 2020 onwards is to be added with its source when known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kommunepuls.experiments.registry import Experiment, Source, Words, registry

Variant = Literal["ordinary", "experiment"]
Anchor = Literal["membership", "loentilskud"]


@dataclass(frozen=True, slots=True)
class Interval:
    """First deadline `first_within_months` after the anchor, then `then_every_months`
    after the last qualifying samtale (or the missed deadline's late samtale)."""

    first_within_months: int
    then_every_months: int
    anchor: Anchor = "membership"


@dataclass(frozen=True, slots=True)
class CountInWindow:
    """At least `min_count` qualifying samtaler in every window of `window_months`
    calendar months that the membership covers whole."""

    min_count: int
    window_months: int


@dataclass(frozen=True, slots=True)
class BenefitClock:
    """A reassessment once benefit days reach `trigger_months` within `window_months`;
    due when benefit days since the clock started reach `deadline_months`."""

    trigger_months: int
    window_months: int
    deadline_months: int


@dataclass(frozen=True, slots=True)
class Waived:
    """The experiment lifts the requirement: no deadlines while it is in force."""


Cadence = Interval | CountInWindow | BenefitClock | Waived


@dataclass(frozen=True, slots=True)
class SamtaleFilter:
    """Which samtaler satisfy the rule (held ones only, always)."""

    forms: frozenset[str] | None = None  # None = any form
    kinds: frozenset[str] | None = None  # None = any kind


@dataclass(frozen=True, slots=True)
class RuleVersion:
    id: str
    family: str
    variant: Variant
    experiment: str | None
    target_group: str
    cadence: Cadence
    counts: SamtaleFilter
    valid_from: date | None
    valid_to: date | None
    description: Words
    written: tuple[str, ...]  # every number of the rule as the seeds write it
    sources: tuple[Source, ...]

    def valid_on(self, day: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


def _s(seed: str, line: int, quote: str, last: int | None = None) -> Source:
    return Source(seed=seed, first_line=line, last_line=last or line, quote=quote)  # type: ignore[arg-type]


ANY_HELD = SamtaleFilter()

RULE_VERSIONS: tuple[RuleVersion, ...] = (
    RuleVersion(
        "integration_samtaler/ordinary/v1", "integration_samtaler", "ordinary", None,
        "integrationsydelse", CountInWindow(min_count=4, window_months=12),
        # Individual samtaler in person: the experiment is what adds phone, digital and group.
        SamtaleFilter(forms=frozenset({"in_person"})), None, None,
        Words(da="Mindst 4 individuelle jobsamtaler inden for 12 kalendermåneder",
              en="At least 4 individual interviews in every 12 calendar months"),
        ("4", "12"),
        (_s("003", 3230, "minimum 4 individuelle jobsamtaler inden for 12 kalendermåneder"),
         _s("001", 779, "Disse samtaler afholdes som", last=781)),
    ),
    RuleVersion(
        "integration_samtaler/experiment/v1", "integration_samtaler", "experiment",
        "integration_kontaktforloeb", "integrationsydelse",
        CountInWindow(min_count=4, window_months=12), ANY_HELD, None, None,
        Words(da="Fortsat mindst 4 samtaler inden for 12 kalendermåneder; telefon, digitalt og "
                 "gruppesamtaler tæller med",
              en="Still at least 4 interviews in 12 calendar months; phone, digital and group "
                 "interviews count"),
        ("4", "12"),
        (_s("001", 769, "Der afholdes fortsat mindst 4 samtaler indenfor 12 kalendermåneder"),
         _s("001", 726, "Gruppesamtaler sidestilles med opfølgning"),
         _s("001", 728, "Der kan foretages tlf. og digital opfølgning for alle i målgrupperne")),
    ),
    RuleVersion(
        "ledighedsydelse_kontakt/ordinary/v1", "ledighedsydelse_kontakt", "ordinary", None,
        "ledighedsydelse", Interval(first_within_months=3, then_every_months=3), ANY_HELD,
        None, None,
        Words(da="Jobsamtale senest hver 3. måned fra visitationen (LAB § 73 a)",
              en="An interview at least every 3 months from visitation (LAB § 73 a)"),
        ("3",),
        (_s("003", 2716, "Senest hver 3. måned - fra visitationen til fleksjob"),),
    ),
    RuleVersion(
        "ledighedsydelse_kontakt/experiment/v1", "ledighedsydelse_kontakt", "experiment",
        "formkrav_oevrige", "ledighedsydelse", Waived(), ANY_HELD, None, None,
        Words(da="Fritaget for rettidigheden (LAB § 73a stk. 2)",
              en="Timeliness waived (LAB § 73a stk. 2)"),
        ("73", "2"),
        (_s("003", 1162, "Fritagelse fra: LAB § 73a stk. 2"),),
    ),
    RuleVersion(
        "ledighedsydelse_revurdering/ordinary/v1", "ledighedsydelse_revurdering", "ordinary",
        None, "ledighedsydelse",
        BenefitClock(trigger_months=12, window_months=18, deadline_months=18),
        SamtaleFilter(kinds=frozenset({"revurdering"})), None, None,
        Words(da="Vurdering, når ledighedsydelse er modtaget i 12 måneder inden for 18 "
                 "måneder; afsluttet senest ved 18 måneders ledighedsydelse (LAS § 74 c)",
              en="A reassessment once ledighedsydelse has been received for 12 months within "
                 "18; done at the latest at 18 months of ledighedsydelse (LAS § 74 c)"),
        ("12", "18", "18"),
        (_s("003", 2758, "når en person har fået ledighedsydelse i 12 måneder inden for 18 "
            "måneder"),
         _s("003", 2758, "Vurderingen skal være afsluttet, senest når pågældende har modtaget "
            "ledighedsydelse i 18")),
    ),
    RuleVersion(
        "ledighedsydelse_revurdering/experiment/v1", "ledighedsydelse_revurdering",
        "experiment", "ledighedsydelse_revurdering", "ledighedsydelse", Waived(),
        SamtaleFilter(kinds=frozenset({"revurdering"})), None, None,
        Words(da="Fritaget for revurdering ved 12 måneder inden for 18 måneder",
              en="No reassessment at 12 months within 18"),
        ("12", "18"),
        (_s("001", 256, "fritagelse for revurdering ved 12 måneder indenfor 18 måneder"),),
    ),
    RuleVersion(
        "revalidering_samtaler/ordinary/v1", "revalidering_samtaler", "ordinary", None,
        "revalidering", Interval(first_within_months=3, then_every_months=3), ANY_HELD,
        None, None,
        Words(da="Individuelle jobsamtaler senest hver 3. måned (LAB § 18 stk. 1)",
              en="Individual interviews at least every 3 months (LAB § 18 stk. 1)"),
        ("3",),
        (_s("003", 1120, "senest hver 3 mdr. skal afholdes individuelle jobsamtaler"),),
    ),
    RuleVersion(
        "revalidering_samtaler/experiment/v1", "revalidering_samtaler", "experiment",
        "formkrav_oevrige", "revalidering", Waived(), ANY_HELD, None, None,
        Words(da="Samtaler efter behov i stedet for eksakt hver 3. måned",
              en="Interviews as needed instead of exactly every 3 months"),
        ("3",),
        (_s("003", 1118, "fritagelse for at skulle afholde samtaler eksakt hver 3 mdr."),),
    ),
    RuleVersion(
        "foertidspension_loentilskud/ordinary/v1", "foertidspension_loentilskud", "ordinary",
        None, "foertidspension",
        Interval(first_within_months=6, then_every_months=12, anchor="loentilskud"), ANY_HELD,
        None, None,
        Words(da="Opfølgning senest 6 mdr. efter løntilskuddets start, herefter senest 12 "
                 "måneder efter seneste vurdering (LAS § 10 stk. 3)",
              en="Follow-up within 6 months of the løntilskud start, then within 12 months of "
                 "the last one (LAS § 10 stk. 3)"),
        ("6", "12"),
        (_s("001", 1121, "opfølgning senest 6 mdr. efter"),
         _s("001", 1125, "senest 12 måneder efter seneste")),
    ),
    RuleVersion(
        "foertidspension_loentilskud/experiment/v1", "foertidspension_loentilskud",
        "experiment", "foertidspension_loentilskud", "foertidspension",
        Interval(first_within_months=30, then_every_months=30, anchor="loentilskud"), ANY_HELD,
        None, None,
        Words(da="Første opfølgning senest 2½ år efter ansættelsen i løntilskud, herefter "
                 "senest hver gang der er gået 2½ år",
              en="First follow-up within 2½ years of the løntilskud start, then every 2½ years"),
        ("2 ½", "2½"),
        (_s("001", 1115, "første opfølgning senest 2 ½ år efter ansættelsen i løntilskud. "
            "Herefter skal der følges op senest hver gang der er gået 2½ år", last=1119),),
    ),
)

RULE_FAMILIES: dict[str, tuple[RuleVersion, ...]] = {}
for _version in RULE_VERSIONS:
    RULE_FAMILIES.setdefault(_version.family, ())
    RULE_FAMILIES[_version.family] += (_version,)


def family_target_group(family: str) -> str:
    return RULE_FAMILIES[family][0].target_group


def rule_in_force(family: str, municipality: str, day: date,
                  experiments: Mapping[str, Experiment] | None = None) -> RuleVersion | None:
    """The version of `family` that governs `municipality` on `day` (None: no rule)."""
    known = registry() if experiments is None else experiments
    ordinary = None
    for version in RULE_FAMILIES[family]:
        if not version.valid_on(day):
            continue
        if version.variant == "ordinary":
            ordinary = version
            continue
        entry = known.get(version.experiment or "")
        if (entry is not None and entry.active_on(day)
                and entry.covers(municipality, version.target_group)):
            return version
    return ordinary
