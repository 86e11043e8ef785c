"""Registry data, 2nd and 3rd application rounds (approved 26 June and 21 December 2017,
seeds/003 L3517, L3570): rehabiliteringsteams (LÆ265), revalidering without LÆ265,
ledighedsydelse without the 12-in-18 reassessment, løntilskud/jobrotation without 26 weeks'
prior unemployment, relaxed mentor rules, the integration contact course, and fewer
follow-ups for førtidspensionister in løntilskud.

Plain data, validated by `registry.Experiment`; quotes are verbatim from the cited lines.
"""

from __future__ import annotations

from typing import Any

from kommunepuls.experiments.registry_round1 import (
    AALBORG,
    BROENDERSLEV,
    FREDERIKSHAVN,
    JAMMERBUGT,
    LAESOE,
    MARIAGERFJORD,
    NETWORK_END,
    REBILD,
    THISTED,
    VESTHIMMERLAND,
    S,
    W,
)

MORSOE = "773"
ROUND_3_IN_FORCE = S("003", 3607, "forventes også at træde i kraft 1. juli 2018")
BEKENDTGOERELSE = "Hjemles på bekendtgørelsesniveau"

# Assens, Billund, Fredensborg, Fredericia, Frederikssund, Halsnæs, Hillerød, Ikast-Brande,
# Kerteminde, Lolland, Nyborg, Næstved, Ringkøbing-Skjern, Samsø, Skanderborg, Vordingborg.
REHAB_COMPARISON = ["420", "530", "210", "607", "250", "260", "219", "756",
                    "440", "360", "450", "370", "760", "741", "746", "390"]

ROUND_2_3: list[dict[str, Any]] = [
    {
        "id": "rehabiliteringsteam_lae265",
        "title": W("Rehabiliteringsteams – fritagelse for LÆ265",
                   "Rehabilitation teams without the LÆ265 medical certificate"),
        "round": 2,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelse",
                        "sources": [S("003", 3551, "Hjemles i eksisterende forsøgsbestemmelse")]},
        "waives": {"text": "Krav om at indhente lægeattest – LÆ265 – forud for rehabiliterings"
                           "teamet, når der foreligger tilstrækkelige helbredsmæssige oplysninger",
                   "sources": [S("003", 3551, "Fritagelse fra krav om at indhente lægeattest – "
                                 "LÆ265")]},
        "scope": [{"lab_codes": ["2.5"],
                   "municipalities": [REBILD, VESTHIMMERLAND, MARIAGERFJORD, JAMMERBUGT, MORSOE,
                                      FREDERIKSHAVN, LAESOE, BROENDERSLEV, AALBORG],
                   "source": S("003", 7252, "Sammenligningsgruppen består således af "
                               "sygedagpengemodtagere")}],
        "municipality_sources": [S("003", 1784, "Rebild, Vesthimmerland, Mariagerfjord, "
                                   "Jammerbugt, Morsø, Frederikshavn/Læsø, Brønderslev, Aalborg")],
        "start": {"on": "2018-01-01",
                  "sources": [S("003", 3529, "ikrafttrædelse d. 1. januar 2018")]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "sources": [
            S("003", 7217, "sygedagpengemodtagere, som i forsøgsperioden fra juli 2017 til og "
              "med december 2019 overgår til")]},
        "comparison": {
            "municipalities": REHAB_COMPARISON,
            "before": {"first": "2016-01-01", "last": "2016-12-31"},
            "after": {"first": "2017-07-01", "last": "2019-12-31"},
            "sources": [S("003", 7264, "Assens, Billund, Fredensborg, Fredericia, Frederikssund, "
                          "Halsnæs, Hillerød, Ikast-Brande, Kerteminde, Lolland, Nyborg, Næstved, "
                          "Ringkøbing-Skjern, Samsø, Skanderborg og Vordingborg"),
                        S("003", 7260, "juli 2017 til december 2019"),
                        S("003", 7260, "overgår til en af ydelserne i 2016"),
                        S("003", 7258, "anvender vi ikke forløb som er overgået i første "
                          "halvår af 2017")],
            "note": "The seed's after-period ends December 2020 in L7258 and December 2019 in "
                    "L7260; the data run to February 2020 (L7258), so 2019 is used.",
        },
        "followups": [{"kind": "outcome_windows", "months": [3, 6, 9, 12],
                       "written": "1-3, 4-6, 7-9 og 10-12 måneder",
                       "source": S("003", 7289, "1-3, 4-6, 7-9 og 10-12 måneder efter "
                                   "overgangen")}],
        "notes": ["The evaluation counts sickness-benefit spells ending in a transition, not "
                  "persons (domain.md §7); membership here is the sygedagpenge spell."],
    },
    {
        "id": "revalidering_lae265",
        "title": W("Forenkling af bevillingsgrundlaget for revalidering",
                   "Revalidering decided without the LÆ265 certificate"),
        "round": 3,
        "legal_basis": {"text": BEKENDTGOERELSE, "sources": [S("003", 3584, BEKENDTGOERELSE)]},
        "waives": {"text": "Indhentelse af LÆ265 i revalideringssagerne ved stillingtagen til "
                           "revalideringsberettigelsen, når sagen er tilstrækkeligt lægeligt "
                           "belyst",
                   "sources": [S("001", 51, "Fritagelse for indhentelse af LÆ265 i "
                                 "revalideringssagerne")]},
        "scope": [{"lab_codes": ["2.4"],
                   "municipalities": [VESTHIMMERLAND, THISTED, JAMMERBUGT, AALBORG],
                   "source": S("001", 92, "Alle sager, hvor der skal tages stilling til "
                               "revalideringsberettigelsen")}],
        "municipality_sources": [S("001", 41, "Vesthimmerland, Thisted, Jammerbugt og Aalborg")],
        "start": {"on": "2018-07-01",
                  "sources": [S("003", 7811, "gælder sager bevilget fra 1/7 2018")]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "started_from": "2018-07-01", "sources": [
            S("001", 94, "med opstart efter 1/7 2018 er omfattet af forsøget"),
            S("001", 96, "målgruppen kan udsøges i fagsystemerne på opstartsdato")]},
        "reference_figures": [
            {"id": "lae265_waived_share",
             "title": W("Sager afgjort uden LÆ265", "Cases decided without LÆ265"),
             "written": "54%", "numerator": 129, "denominator": 239,
             "source": S("003", 5458, "155 af 239 sager om revalidering fremgår det, at "
                         "muligheden for at fritage for indhentning af LÆ265 til 1.742 kr. (2020) "
                         "er anvendt i ca. 54% af sagerne. Det svarer til 129 sager")},
        ],
        "notes": ["'After 1/7 2018' (seeds/001 L94) is read as from 1 July 2018, the day the "
                  "rules took effect (seeds/003 L7811)."],
    },
    {
        "id": "ledighedsydelse_revurdering",
        "title": W("Ledighedsydelse – fritagelse for revurdering i 12. måned indenfor 18 måneder",
                   "Ledighedsydelse without the 12-in-18 months reassessment"),
        "round": 3,
        "legal_basis": {"text": "Søges hjemlet i lov om frikommunenetværk",
                        "sources": [S("003", 3585, "Søges hjemlet i lov om frikommunenetværk")]},
        "waives": {"text": "Lov om Aktiv Socialpolitik § 74c: vurdering, når en person har fået "
                           "ledighedsydelse i 12 måneder inden for 18 måneder",
                   "sources": [S("003", 2756, "Lov om Aktiv Socialpolitik § 74c"),
                               S("003", 2758, "når en person har fået ledighedsydelse i 12 "
                                 "måneder inden for 18 måneder")]},
        "scope": [{"lab_codes": ["2.7"],
                   "municipalities": [THISTED, REBILD, AALBORG, VESTHIMMERLAND, JAMMERBUGT],
                   "source": S("001", 252, "Ledighedsydelse – fritagelse for revurdering i 12. "
                               "måned indenfor 18")}],
        "municipality_sources": [S("003", 2695, "Thisted, Rebild, Aalborg, Vesthimmerland, "
                                   "Jammerbugt")],
        "start": {"on": "2018-07-01", "sources": [
            ROUND_3_IN_FORCE, S("001", 272, "Skæringsdato for deltagelse i forsøget er "
                                "30.6.2018")]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END, S("001", 290, "juli 18 og juli 20")]},
        "membership": {"by": "rule", "sources": [
            S("001", 272, "De revurderinger der er påbegyndt inden den 30.06.18, men ikke "
              "afsluttet, er omfattet af forsøget", last=274)]},
        "rule_families": ["ledighedsydelse_revurdering"],
        "notes": ["seeds/001 L274-276 excludes reassessments due by 1.7.2019, which contradicts "
                  "the cut-off 30.6.2018 two lines above (a typo for 2018, it seems); the "
                  "relaxed rule applies to every reassessment falling due from 1 July 2018."],
    },
    {
        "id": "loentilskud_jobrotation",
        "title": W("Fleksible rammer for løntilskud/jobrotation",
                   "Løntilskud and jobrotation without 26 weeks' prior unemployment"),
        "round": 3,
        "legal_basis": {"text": BEKENDTGOERELSE, "sources": [S("003", 3597, BEKENDTGOERELSE)]},
        "waives": {"text": "§ 51, stk. 2 og 3 og 98b, stk. 1, nr. 1 og 2 i Lov om aktiv "
                           "beskæftigelsesindsats: krav om 26 ugers forudgående ledighed",
                   "sources": [S("001", 355, "Forsøget refererer til § 51, stk. 2 og 3 og 98b, "
                                 "stk. 1, nr. 1 og 2 i Lov om aktiv beskæftigelsesindsats"),
                               S("001", 359, "krav om 26 ugers forudgående")]},
        "scope": [{"lab_codes": ["2.1", "2.2", "2.3", "2.5", "2.11", "2.12", "2.13"],
                   "municipalities": [JAMMERBUGT, FREDERIKSHAVN],
                   "source": S("001", 420, "dagpengemodtagere, jobparate og aktivitetsparate "
                               "kontanthjælpsmodtagere, selvforsørgende, sygemeldte, borgere, som "
                               "modtager ressourceforløbsydelse samt jobparate og aktivitetsparate "
                               "på uddannelseshjælp", last=424)}],
        "municipality_sources": [S("003", 2790, "Jammerbrugt og Frederikshavn")],
        "start": {"on": "2018-07-01", "sources": [ROUND_3_IN_FORCE]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("001", 502, "skal markeres med en persongruppemarkering", last=504)]},
        "followups": [{"kind": "status_after_tilbud", "months": [3, 6, 9],
                       "written": "3, 6 eller 9 måneder",
                       "tilbud_kinds": ["loentilskud_offentlig", "loentilskud_privat",
                                        "jobrotation"],
                       "source": S("001", 546, "3, 6 eller 9 måneder efter endt ansættelse med "
                                   "løntilskud")}],
        "notes": ["The approval covers løntilskud at public employers and jobrotation at "
                  "public and private ones (seeds/003 L3597)."],
    },
    {
        "id": "lempede_mentorregler",
        "title": W("Lempede mentorregler", "Relaxed mentor rules"),
        "round": 3,
        "legal_basis": {"text": BEKENDTGOERELSE, "sources": [S("003", 3586, BEKENDTGOERELSE)]},
        "waives": {"text": "LAB §§ 93 og 96c: ret- og pligtmentor i 6 måneder med kontakt "
                           "mindst en gang hver anden uge",
                   "sources": [S("003", 3068, "i henhold til LAB §§ 93 og 96c behov for "
                                 "fritagelse for ret- og pligt mentor"),
                               S("003", 3079, "Tilbud om mentorstøtte skal gives for en periode "
                                 "på 6 måneder, og der skal som minimum være kontakt en gang "
                                 "hver anden uge")]},
        "scope": [{"lab_codes": ["2.3", "2.13"], "municipalities": [JAMMERBUGT, AALBORG],
                   "source": S("001", 15, "fritage aktivitetsparate kontant- og "
                               "uddannelseshjælpsmodtagere for ret og pligt mentor", last=17)}],
        "municipality_sources": [S("003", 3008, "Jammerbugt og Aalborg")],
        "start": {"on": "2018-07-01", "sources": [ROUND_3_IN_FORCE]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("001", 605, "Via en persongruppemarkering laves en kvantitativ måling på antallet "
              "af fritagelser")]},
        "notes": ["Mentor contacts are not events of the contract, so the every-other-week "
                  "contact rule is not checked; the experiment is followed by its markings."],
    },
    {
        "id": "integration_kontaktforloeb",
        "title": W("Fleksibelt kontaktforløb for integrationsborgere",
                   "Flexible contact course for integration citizens"),
        "round": 3,
        "legal_basis": {"text": "Søges hjemlet i lov om frikommunenetværk",
                        "sources": [S("003", 3592, "Søges hjemlet i lov")]},
        "waives": {"text": "Lov om integration af udlændinge i Danmark § 20: samtaler mindst 4 "
                           "gange indenfor 12 kalendermåneder, som individuelle samtaler",
                   "sources": [S("001", 777, "Lov om integration af udlændinge i Danmark § 20"),
                               S("001", 779, "afholdes samtaler mindst 4 gange indenfor 12 "
                                 "kalendermåneder")]},
        "scope": [{"other_target_groups": ["integrationsydelse"],
                   "municipalities": [VESTHIMMERLAND],
                   "source": S("001", 712, "Borgere omfattet af Integrationsloven, der modtager "
                               "integrations ydelse")}],
        "municipality_sources": [S("001", 684, "Kommune: Vesthimmerlands Kommune")],
        "start": {"on": "2018-08-01", "sources": [S("001", 848, "Forventes at starte 01-08-2018")]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "sources": [
            S("001", 712, "Borgere omfattet af Integrationsloven, der modtager integrations "
              "ydelse")]},
        "rule_families": ["integration_samtaler"],
    },
    {
        "id": "foertidspension_loentilskud",
        "title": W("Færre opfølgninger i relation til førtidspensionister i løntilskud",
                   "Fewer follow-ups for førtidspensionister in løntilskud"),
        "round": 3,
        "legal_basis": {"text": BEKENDTGOERELSE, "sources": [S("003", 3589, BEKENDTGOERELSE)]},
        "waives": {"text": "§ 10 stk. 3, 2. og 3. pkt. i Lov om en aktiv socialpolitik: "
                           "opfølgning senest 6 mdr. efter løntilskuddets start og herefter "
                           "senest 12 måneder efter seneste vurdering",
                   "sources": [S("001", 1129, "fravigelse fra § 10 stk. 3, 2.og 3. pkt. i Lov om "
                                 "en aktiv socialpolitik"),
                               S("001", 1121, "opfølgning senest 6 mdr. efter"),
                               S("001", 1125, "senest 12 måneder efter seneste")]},
        "scope": [{"lab_codes": ["2.6"], "municipalities": [VESTHIMMERLAND],
                   "source": S("001", 1099, "Målgruppe 2.6 – borgere visiteret til "
                               "førtidspension og ansat i løntilskud")}],
        "municipality_sources": [S("001", 1085, "Kommune: Vesthimmerlands Kommune")],
        "start": {"on": "2018-07-01",
                  "sources": [S("001", 1133, "Bekendtgørelsen træder i kraft den 1/7 2018")]},
        "end": {"on": "2021-12-31",
                "sources": [S("001", 1133, "forsøgsperioden løber til 1. januar 2022")]},
        "membership": {"by": "rule", "sources": [
            S("001", 1113, "når personer omfattet af § 2 nr. 6 i Lov om en aktiv "
              "beskæftigelsesindsats får tilbud om")]},
        "rule_families": ["foertidspension_loentilskud"],
    },
]
