"""Calibration of the simulated FSM population: every number the generator draws from.

Figures quoted from the evaluation of 'Flere skal med' (seeds/004, Rambøll 2019) carry
their line numbers; numbers without a citation are our assumptions, chosen to look like
jobcentre data and tuned so that the counted results land on the cited targets, both as
the simulator's own counter has them (`calibration.py`) and as the indicator engine's
batch recompute does (tests/unit/test_simulator_recompute_calibration.py). Changing a
number here is the only way to change the simulated world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PROGRAMME = "flere_skal_med"

# The programme ran "fra august 2017 til august 2019" (seeds/004 L10, L297).
PROGRAMME_START = date(2017, 8, 1)
PROGRAMME_END = date(2019, 8, 31)
DEFAULT_END = date(2019, 12, 31)

# Visitation happened in the programme's first months: STAR froze the groups in February
# 2018 and the evaluator preferred the marking nearest 31 January 2018 (seeds/004
# L3965-3991). We spread visitations over the six months from the start, front-loaded.
VISITATION_MONTH_WEIGHTS: tuple[float, ...] = (0.30, 0.22, 0.17, 0.13, 0.10, 0.08)
# Share first marked 6 = udskudt (deferred, seeds/004 L3987) and re-visited 1-4 months later.
DEFERRED_SHARE = 0.04

# Benefits of the FSM population: aktivitetsparate on kontanthjælp, uddannelseshjælp or
# integrationsydelse for more than five years (seeds/004 L61-65). The split is assumed;
# uddannelseshjælp is for the under-30s.
UNDER_30_UDDANNELSESHJAELP = 0.85
INTEGRATIONSYDELSE_SHARE = 0.06
# Birth years of the population (at least 5 years on benefits, up to ~20, seeds/004 L2057).
BIRTH_YEARS = (1955, 1996)

# Caseload per jobformidler: 47 on average at mid-term, 30-40 in the best municipalities
# (seeds/004 L660-666). Reassignments are assumed: about one in eight citizens a year.
CASELOAD = 40
CASEWORKER_CHANGE_PER_MONTH = 0.011

# Samtaler with "ca. 4-6 ugers kadence" (seeds/004 L697-699), intensified to every one or
# two weeks during a virksomhedsplacering (L2978-2980); we use 2-4 weeks there.
SAMTALE_GAP_DAYS = (28, 42)
SAMTALE_GAP_DAYS_PLACED = (14, 28)
SAMTALE_FORMS: tuple[tuple[str, float], ...] = (
    ("personal", 0.62),
    ("phone", 0.24),
    ("digital", 0.09),
    ("group", 0.05),
)
SAMTALE_REVURDERING = 0.08

# A month has ordinary hours reported by eIndkomst around the 10th of the next month.
EINDKOMST_REPORT_DAY = 10
# eIndkomst corrects a month now and then; the later report replaces the earlier one.
HOURS_CORRECTION_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class GroupProfile:
    """How citizens of one FSM group behave once visited."""

    share: float
    # Cumulative share activated (in virksomhedsforløb mv. from then on) by month 1 and by
    # month 29 after visitation, before the municipality's effect; linear in between.
    activated_m1: float
    activated_m29: float
    # Share afklaret within AFKLARET_REFERENCE_MONTHS of visitation, and the outcomes.
    afklaret: float
    outcomes: tuple[tuple[str, float], ...]
    # What an activated citizen does: tilbud kinds, or "job" for ordinary hours only.
    activity_mix: tuple[tuple[str, float], ...]
    # Share who ever take ordinary work (before the municipality's factor): only they get
    # "job" stints and placements with hours.
    works: float
    samtale_held: float


# Groups 1/2/3 = 55/34/11 % of the FSM population (seeds/004 Fig 4-2, L2076-2119, n=25,461).
# Month 1: "et nogenlunde ensartet udgangspunkt på ca. 15-20 procent"; month 29: group 1
# "ca. 70 pct.", the whole FSM group "omkring 50 pct." (L2185-2197), so groups 2+3 together
# about 26 %. Afklaret: "ca. 10 pct. af gruppe 1 ... ca. 74 pct. fra gruppe 2" (L2179-2183).
# Group 2's route is rehabilitering towards ressourceforløb, fleksjob or førtidspension
# (L83-88); a fleksjob counts as virksomhedsforløb mv. (L2210-2212), which is what lifts
# group 2's curve although most of it leaves the benefit.
GROUPS: dict[int, GroupProfile] = {
    1: GroupProfile(
        share=0.55,
        activated_m1=0.20,
        activated_m29=0.86,
        # Group 1's own pace: the few re-visited to group 2 (REGROUP_SHARE) are afklaret at
        # group 2's pace from then on and bring the whole group's share to about 10 %.
        afklaret=0.085,
        outcomes=(
            ("job", 0.50),
            ("education", 0.14),
            ("fleksjob", 0.12),
            ("ressourceforloeb", 0.12),
            ("foertidspension", 0.06),
            ("self_employment", 0.06),
        ),
        activity_mix=(
            ("virksomhedspraktik", 0.46),
            ("job", 0.22),
            ("loentilskud_privat", 0.08),
            ("loentilskud_offentlig", 0.07),
            ("nytteindsats", 0.08),
            ("ordinaer_uddannelse", 0.07),
            ("fleksjob", 0.02),
        ),
        works=0.50,
        samtale_held=0.86,
    ),
    2: GroupProfile(
        share=0.34,
        activated_m1=0.17,
        activated_m29=0.40,
        afklaret=0.74,
        outcomes=(
            ("ressourceforloeb", 0.40),
            ("fleksjob", 0.30),
            ("foertidspension", 0.25),
            ("job", 0.03),
            ("education", 0.02),
        ),
        activity_mix=(
            ("virksomhedspraktik", 0.62),
            ("job", 0.08),
            ("nytteindsats", 0.06),
            ("loentilskud_offentlig", 0.08),
            ("ordinaer_uddannelse", 0.04),
            ("fleksjob", 0.12),
        ),
        works=0.15,
        samtale_held=0.80,
    ),
    3: GroupProfile(
        share=0.11,
        activated_m1=0.12,
        activated_m29=0.24,
        afklaret=0.30,
        outcomes=(
            ("foertidspension", 0.55),
            ("ressourceforloeb", 0.40),
            ("other_self_support", 0.05),
        ),
        activity_mix=(("virksomhedspraktik", 0.6), ("nytteindsats", 0.25), ("job", 0.15)),
        works=0.10,
        samtale_held=0.55,
    ),
}
# Afklaret shares are the state about 26 months after visitation: the mean time from the
# (front-loaded) visitations to DEFAULT_END. Nobody is afklaret in the first two months.
AFKLARET_REFERENCE_MONTHS = 26.0
AFKLARET_EARLIEST_DAYS = 60
# The shares are of everyone ever visited to the group (fsm_afklaret's denominator), which
# keeps those whose case ended otherwise first: they moved away or their membership ended
# (RELOCATION_PER_YEAR, VISITATION_ENDED_PER_YEAR below). The hazard of afklaring allows for
# these competing exits (latent.py); without that group 2 read a few points short of 74 %.

# Spell lengths in days. Virksomhedspraktik 4-13 weeks (seeds/002 L4986-4990), løntilskud
# 3-12 months; the rest assumed.
SPELL_DAYS: dict[str, tuple[int, int]] = {
    "virksomhedspraktik": (28, 91),
    "loentilskud_privat": (91, 365),
    "loentilskud_offentlig": (91, 365),
    "nytteindsats": (28, 91),
    "ordinaer_uddannelse": (120, 300),
    "fleksjob": (365, 1500),
    "job": (60, 365),
    "mentor": (90, 365),
    "vejledning_opkvalificering": (14, 84),
    "jobrotation": (90, 180),
}
HOURS_PER_WEEK: dict[str, tuple[int, int]] = {
    "virksomhedspraktik": (8, 25),
    "loentilskud_privat": (15, 37),
    "loentilskud_offentlig": (15, 37),
    "nytteindsats": (10, 20),
    "ordinaer_uddannelse": (20, 37),
    "fleksjob": (8, 25),
    "mentor": (1, 5),
    "vejledning_opkvalificering": (10, 30),
    "jobrotation": (30, 37),
}
# Virksomhedspraktik combined with ordinary hours is the model's tool (seeds/004 L1405-1409).
PRAKTIK_WITH_HOURS = 0.35
# Monthly ordinary hours of a "job" stint: most a few hours a week; some reach the
# 30-hours-a-week goal (seeds/004 L113-118), i.e. >= 130 hours a month.
JOB_HOURS_MONTH = (8, 110)
JOB_FULL_TIME_SHARE = 0.12
PRAKTIK_HOURS_MONTH = (4, 40)

# Gaps between an activated citizen's spells: mostly short (the effort is continuous),
# sometimes a pause. Tuned so that an activated citizen is in virksomhedsforløb mv. in
# about nine months out of ten (the curve flattens where activation stops, L2189-2197).
GAP_SHORT = (0.86, (0, 18))
GAP_MEDIUM = (0.11, (19, 70))
GAP_LONG = (0.03, (71, 180))
# Non-virksomhedsrettet tilbud (mentor, vejledning, jobrotation) for anyone, any time.
OTHER_TILBUD_PER_MONTH = 0.035
OTHER_TILBUD_MIX: tuple[tuple[str, float], ...] = (
    ("mentor", 0.62),
    ("vejledning_opkvalificering", 0.34),
    ("jobrotation", 0.04),
)

# Life events (assumed yearly rates): sickness, exemptions, moves, ended membership,
# a business of one's own.
SICKNESS_PER_YEAR = 0.22
SICKNESS_DAYS = (5, 120)
SICKNESS_PARTIAL = 0.15
EXEMPTION_PER_YEAR = 0.05
EXEMPTION_DAYS = (30, 240)
EXEMPTION_REASONS: tuple[tuple[str, float], ...] = (
    ("sygdom", 0.55),
    ("barsel", 0.20),
    ("pasning_af_syg", 0.10),
    ("andet", 0.15),
)
RELOCATION_PER_YEAR = 0.03
RELOCATION_SAME_REGION = 0.65
# After a move the new jobcentre usually picks the case up with a visitation of its own.
RELOCATION_CONTINUES = 0.7
RELOCATION_REVISIT_DAYS = (7, 60)
VISITATION_ENDED_PER_YEAR = 0.02
VISITATION_ENDED_REASONS: tuple[tuple[str, float], ...] = (
    ("ydelse_ophoert", 0.55),
    ("anden_ydelse", 0.30),
    ("fejlmarkering", 0.15),
)
# A group-1 citizen re-visited to group 2 (rehabilitering) during the programme.
REGROUP_SHARE = 0.03
CVR_REGISTER_SHARE = 0.02
CVR_CEASE_SHARE = 0.5

# Municipal differences. Ever in virksomhedsforløb mv. by population 84/78/77 % and ordinary
# hours 37/31/29 % (Table 4-2, seeds/004 L2364-2368; Table 4-4's mean for ordinary hours is
# 22 %, L2547, so the sources disagree and we aim between, at about 30 % pooled). The
# activation curve of a municipality is 1 - (1 - C(m))**k, so k scales how fast its citizens
# are activated; k per band is set from the ever shares relative to the large band, with
# some spread per municipality (Table 4-3: min 57, Q1 73, median 78, Q3 84, max 100 %,
# L2480-2490).
BAND_ACTIVATION: dict[str, float] = {"0-25k": 1.2, "25-50k": 1.05, "50k+": 1.0}
BAND_HOURS: dict[str, float] = {"0-25k": 37 / 29, "25-50k": 31 / 29, "50k+": 1.0}
ACTIVATION_SPREAD = 0.12  # sd of log k across municipalities
# "Der er dog kun fire kommuner, som ikke har nået målet om de 40 pct." (L2171-2173): four
# municipalities (drawn per seed among those of 40-100k inhabitants; Furesø, 41k, had the
# lowest share in virksomhedsrettet indsats, L2377-2379) get a weak effort. The two figures
# pull apart: weak enough to miss 40 % in a 3-month window puts their "ever" share near
# 45 %, below the 57 % minimum of Table 4-3; we follow the criterion.
STRUGGLING_MUNICIPALITIES = 4
STRUGGLING_POPULATION = (40_000, 100_000)
STRUGGLING_ACTIVATION = 0.35

# Case systems; a municipality uses one. eIndkomst reports ordinary hours for all.
FAGSYSTEMS = ("momentum", "fasit")
EINDKOMST_SOURCE = "sim-eindkomst"
