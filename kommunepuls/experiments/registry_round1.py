"""Registry data, 1st application round (approved 1 February 2017, seeds/003 L3458-3464):
Mikrolån, iværksætteri for dimittender, formkrav ved lovpligtige samtaler (three designs),
forholdstalskravet, fleksible rammer for uddannelse.

Plain data, validated by `registry.Experiment`. Every quote is verbatim from the cited
lines (whitespace aside); tests check that, and that each number is in its quote.
Municipality codes are from kommunepuls/reference (the seeds give names).
"""

from __future__ import annotations

from typing import Any


def S(seed: str, first: int, quote: str, last: int | None = None) -> dict[str, Any]:
    return {"seed": seed, "first_line": first, "last_line": last or first, "quote": quote}


def W(da: str, en: str) -> dict[str, str]:
    return {"da": da, "en": en}


# The network's experiment period, and the first round's day of entry into force.
NETWORK_END = S("003", 6005, "Forsøgsperioden varer fra 2016- 31. juli 2020")
ROUND_1_IN_FORCE = S("003", 3489, "ikrafttrædelse senest d. 1. juli 2017")
ROUND_1_NOTE = ("The seeds give no start day of its own; 1 July 2017 is the first round's "
                "entry into force.")

AALBORG, FREDERIKSHAVN, LAESOE, JAMMERBUGT = "851", "813", "825", "849"
THISTED, VESTHIMMERLAND, REBILD = "787", "820", "840"
HJOERRING, MARIAGERFJORD, BROENDERSLEV = "860", "846", "810"

ROUND_1: list[dict[str, Any]] = [
    {
        "id": "mikrolaan",
        "title": W("Mikrolån", "Microloans for starting a business"),
        "round": 1,
        "legal_basis": {"text": "Søges hjemlet i Lov om Frikommunenetværk",
                        "sources": [S("003", 3470, "Søges hjemlet i Lov om Frikommunenetværk")]},
        "waives": {"text": "Tilføjer et mikrolån til de indsatser, ledige er berettiget til "
                           "efter LAB-lovens kap. 10-12",
                   "sources": [S("000", 39, "efter LAB-lovens kap. 10-12")]},
        "scope": [{"lab_codes": ["2.2", "2.12"], "municipalities": [AALBORG],
                   "source": S("003", 3470, "jobparate kontanthjælpsmodtagere, jobparate "
                               "selvforsørgende og uddannelsesparate uddannelseshjælpsmodtagere")}],
        "municipality_sources": [S("003", 161, "Deltagerkommuner\tAalborg")],
        "start": {"on": "2017-07-01", "sources": [S("000", 87, "forsøgets opstart 1/7 2017")]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("000", 89, "registreres en", last=91),
            S("000", 91, "Markeringen fastholdes under vejlednings- og opkvalificeringsforløbet "
              "og den efterfølgende mikrolånsperiode", last=93)]},
        "targets": [
            {"id": "participants", "title": W("Deltagere i alt (højst)", "Participants (at most)"),
             "value": 80, "unit": "citizens", "direction": "at_most", "written": "80",
             "measure": "marked_citizens",
             "source": S("003", 3470, "begrænset til 80 borgere")},
            {"id": "courses", "title": W("Forløb om året", "Courses a year"),
             "value": 4, "unit": "courses_per_year", "direction": "at_least", "written": "4",
             "measure": None, "source": S("000", 48, "Der iværksættes 4 forløb")},
            {"id": "microloans", "title": W("Bevilgede mikrolån", "Microloans granted"),
             "value": 60, "unit": "microloans", "direction": "at_least", "written": "60",
             "measure": "microloans_granted",
             "source": S("000", 66, "Der bevilliges mikrolån til 60 borgere")},
            {"id": "self_supporting",
             "title": W("Selvforsørgende efter endt støtteperiode",
                        "Self-supporting after the support period"),
             "value": 45, "unit": "citizens", "direction": "at_least", "written": "45",
             "measure": "self_supporting_after_microloan",
             "source": S("000", 69, "45 ledige kommer i selvforsørgelse efter endt støtteperiode")},
        ],
        "followups": [{"kind": "self_support_after_microloan", "months": [12, 24, 30],
                       "written": "1, 2 og 2½ år",
                       "source": S("000", 193, "fastholdes i varig selvforsørgelse efter 1, 2 og "
                                   "2½ år", last=195)}],
        "notes": ["The microloan period is 6 months (seeds/000 L198); a microloan without a "
                  "microloan_ended is taken to end after 6 months."],
    },
    {
        "id": "ivaerksaetteri_dimittender",
        "title": W("Mulighed for at fremme iværksætteri for dimittender",
                   "Entrepreneurship for unemployed graduates"),
        "round": 1,
        "legal_basis": None,
        "waives": {"text": "Min Iværksætterplan i stedet for MinPlan; fritagelse for at skulle "
                           "stå til rådighed og søge job; mere end 6 ugers vejledning og "
                           "opkvalificering i de første 26 ugers ledighed",
                   "sources": [S("000", 231, "Min Iværksætterplan i stedet for MinPlan"),
                               S("000", 233, "Fritagelse for at skulle stå til rådighed og "
                                 "søge job"),
                               S("000", 237, "Mulighed for mere end 6 ugers vejledning og "
                                 "opkvalificering i de første 26 ugers ledighed")]},
        "scope": [{"lab_codes": ["2.1"], "municipalities": [AALBORG, FREDERIKSHAVN],
                   "source": S("000", 217, "ledige dimittender")}],
        "municipality_sources": [S("000", 217, "ønsker jobcentrene (Aalborg og Frederikshavn)")],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE], "note": ROUND_1_NOTE},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("000", 272, "kommer på et Iværksætterforløb, sættes en persongruppemarkering på",
              last=274)]},
        "targets": [
            {"id": "plans",
             "title": W("Udarbejdede Min Iværksætterplan", "Entrepreneur plans made"),
             "value": 100, "unit": "citizens", "direction": "at_least", "written": "100",
             "measure": "marked_citizens", "source": S("000", 245, "At 100 motiverede ledige")},
            {"id": "active_cvr", "title": W("Etablerer virksomhed (aktivt cvr-nummer)",
                                            "Start a business (active CVR number)"),
             "value": 55, "unit": "citizens", "direction": "at_least", "written": "55",
             "measure": "members_with_cvr",
             "source": S("000", 254, "At 55 ledige etablerer virksomhed (registrering af aktivt "
                         "cvr-nummer)")},
            {"id": "alive_two_years", "title": W("Virksomheder, der eksisterer efter 2 år",
                                                 "Businesses alive after 2 years"),
             "value": 40, "unit": "businesses", "direction": "at_least", "written": "40",
             "measure": "cvr_alive_24m",
             "source": S("000", 257, "At 40 af disse virksomheder stadig eksisterer efter 2 år")},
        ],
        "followups": [{"kind": "cvr_survival", "months": [6, 12, 18, 24],
                       "written": "6 måneder, 1 år, 1½ år og 2 år",
                       "source": S("000", 296, "Antal levedygtige virksomheder efter 6 måneder, "
                                   "1 år, 1½ år og 2 år efter registrering af cvr-")}],
        "notes": ["'Plans made' is counted as citizens marked (the marking is set when the "
                  "citizen starts an entrepreneur course, seeds/000 L272-274)."],
    },
    {
        "id": "formkrav_forsikrede",
        "title": W("Formkrav ved lovpligtige samtaler – forsikrede ledige",
                   "Form requirements for mandatory interviews – insured unemployed"),
        "round": 1,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelser",
                        "sources": [S("003", 3471, "Hjemles i eksisterende forsøgsbestemmelser")]},
        "waives": {"text": "Fritagelse fra krav til frekvens, form og indhold vedrørende de "
                           "lovpligtige samtaler (LBK nr. 807 af 1/7 2015 § 16, § 16 a, § 16 b)",
                   "sources": [S("003", 3471, "Fritagelse fra krav til frekvens, form og indhold "
                                 "vedrørende de lovpligtige samtaler"),
                               S("003", 1053, "LBK nr. 807 af 1/7 2015 § 16"),
                               S("003", 1079, "LBK nr. 807 af 1/7 2015 § 16 a og § 16 b")]},
        "scope": [{"lab_codes": ["2.1"],
                   "municipalities": [REBILD, THISTED, FREDERIKSHAVN, LAESOE, AALBORG, HJOERRING,
                                      MARIAGERFJORD, BROENDERSLEV, JAMMERBUGT, VESTHIMMERLAND],
                   "source": S("000", 379, "omhandler de forsikrede ledige (2.1)")}],
        "municipality_sources": [S("000", 369, "Rebild, Thisted, Frederikshavn/Læsø, Aalborg, "
                                   "Hjørring, Mariagerfjord, Brønderslev, Jammerbugt og "
                                   "Vesthimmerland", last=371)],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE], "note": ROUND_1_NOTE},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "sources": [
            S("000", 373, "giver de ni kommuner", last=377)]},
        "comparison": {"sources": [S("000", 442, "sammenlignelig klyngekommune. Der benyttes "
                                   "et før-efter-design med en difference-in-difference-"
                                   "kontrolgruppe", last=444)],
                       "note": "The comparison cluster municipalities are not named in the "
                               "seeds; pass them to the comparison explicitly."},
        "notes": ["Thisted runs the experiment only for seasonal unemployed (seeds/000 "
                  "L387-389), which the events cannot tell apart; all insured unemployed in "
                  "the ten municipalities count as members.",
                  "Measured, as the design asks, by samtaler per citizen per quarter and weeks "
                  "to the first samtale (seeds/000 L476-478)."],
    },
    {
        "id": "formkrav_sygedagpenge",
        "title": W("Formkrav ved lovpligtige samtaler – sygedagpengemodtagere",
                   "Form requirements for mandatory interviews – sickness benefit"),
        "round": 1,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelser",
                        "sources": [S("003", 3471, "Hjemles i eksisterende forsøgsbestemmelser")]},
        "waives": {"text": "Sygedagpengelovens § 13a stk. 1-4 og § 13b stk. 1-3 (opfølgnings"
                           "samtalernes sekvens), § 13 stk. 4 og 5",
                   "sources": [S("003", 1142, "Fritagelse fra: Sygedagpengelovens § 13a stk. 1-4, "
                                 "§ 13b stk. 1 - 3, omhandler opfølgningssamtalernes sekvens"),
                               S("003", 1134, "Sygedagpengelovens § 13 stk. 4 og 5")]},
        "scope": [{"lab_codes": ["2.5"], "municipalities": [REBILD, JAMMERBUGT, VESTHIMMERLAND],
                   "source": S("000", 659, "LAB 2.5 – Sygedagpengemodtagere")}],
        "municipality_sources": [S("000", 665, "Rebild"), S("000", 667, "Jammerbugt"),
                                 S("000", 669, "Vesthimmerland")],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE], "note": ROUND_1_NOTE},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "sources": [S("000", 657, "Målgruppe", last=659)]},
        "notes": ["Rebild does not take part in the content part (seeds/000 L665)."],
    },
    {
        "id": "formkrav_oevrige",
        "title": W("Formkrav ved lovpligtige samtaler – øvrige målgrupper",
                   "Form requirements for mandatory interviews – other target groups"),
        "round": 1,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelser",
                        "sources": [S("003", 3471, "Hjemles i eksisterende forsøgsbestemmelser")]},
        "waives": {"text": "Fritagelse for rettidigheden ifm. afholdelse af jobsamtaler i "
                           "kontaktforløbet (bl.a. LAB § 18 stk. 1 og § 73a stk. 2)",
                   "sources": [S("003", 1101, "Kommunerne søger om fritagelse for rettidigheden "
                                 "ifm. afholdelse af jobsamtaler i kontaktforløbet"),
                               S("003", 1120, "LAB § 18 stk. 1"),
                               S("003", 1162, "LAB § 73a stk. 2")]},
        "scope": [
            {"lab_codes": ["2.2", "2.3", "2.11"], "municipalities": [VESTHIMMERLAND, FREDERIKSHAVN],
             "source": S("000", 1004, "LAB 2.3 – Aktivitetsparate kontanthjælpsmodtagere "
                         "Vesthimmerland og Frederikshavn", last=1007)},
            {"lab_codes": ["2.4", "2.7", "2.14"], "municipalities": [VESTHIMMERLAND],
             "source": S("000", 1009, "LAB 2.7 – Ledighedsydelsesmodtagere Vesthimmerland",
                         last=1012)},
            {"lab_codes": ["2.12", "2.13"], "municipalities": [VESTHIMMERLAND, JAMMERBUGT],
             "source": S("000", 1024, "LAB 2.12 – Uddannelsesparate Vesthimmerland og Jammerbugt")},
        ],
        "municipality_sources": [S("000", 990, "Jammerbugt"), S("000", 992, "Frederikshavn"),
                                 S("000", 994, "Vesthimmerland")],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE], "note": ROUND_1_NOTE},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "rule", "sources": [S("000", 996, "Herunder følger en oversigt over "
                                                  "de målgrupper, som de enkelte kommuner har "
                                                  "fokus på i forsøget")]},
        "rule_families": ["revalidering_samtaler", "ledighedsydelse_kontakt"],
        "notes": ["Scope rows follow the table in seeds/000 L998-1033 (2.2 and 2.11: L999-1002, "
                  "L1019-1022; 2.4: L1014-1017; 2.13: L1027-1031; 2.14: L1033)."],
    },
    {
        "id": "forholdstal",
        "title": W("Fleksibilitet i forhold til forholdstalskravene",
                   "Waiver of the ratio requirement for company placements"),
        "round": 1,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelser",
                        "sources": [S("003", 3472, "Hjemles i eksisterende forsøgsbestemmelser")]},
        "waives": {"text": "§ 48, stk. 1, i lov om en aktiv beskæftigelsesindsats og § 73 i "
                           "bekendtgørelse om en aktiv beskæftigelsesindsats",
                   "sources": [S("000", 1325, "fravigelse fra § 48, stk. 1, i lov om en aktiv "
                                 "beskæftigelsesindsats og § 73 i bekendtgørelse om en aktiv "
                                 "beskæftigelsesindsats", last=1327)]},
        "scope": [{"lab_codes": ["2.3", "2.7", "2.11", "2.13"],
                   "municipalities": [JAMMERBUGT, VESTHIMMERLAND, THISTED],
                   "source": S("000", 1335, "Aktivitetsparate kontanthjælpsmodtagere (§ 2, nr. 3)",
                               last=1341)},
                  {"other_target_groups": ["integrationsydelse"],
                   "municipalities": [JAMMERBUGT, VESTHIMMERLAND, THISTED],
                   "source": S("000", 1343, "Aktivitetsparate udlændinge (jf. integrationslovens "
                               "§ 17)")}],
        "municipality_sources": [S("003", 1274, "Jammerbugt, Vesthimmerland, Thisted")],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("000", 1404, "foretages en persongruppemarkering på alle borgere i forsøget")]},
        "targets": [
            {"id": "virksomhedsrettet_growth",
             "title": W("Flere udsatte borgere i virksomhedsrettet indsats",
                        "More vulnerable citizens in company-based activation"),
             "value": 25, "unit": "percent", "direction": "at_least", "written": "25 %",
             "measure": "virksomhedsrettet_growth",
             "baseline": {"on": "2017-06-30", "sources": [S("000", 1392, "pr. 30.06.17")]},
             "source": S("000", 1370, "der får en virksomhedsrettet indsats øges med 25 %")},
            {"id": "progressing", "title": W("Deltagere med progression",
                                             "Participants progressing"),
             "value": 60, "unit": "percent", "direction": "at_least", "written": "60 %",
             "measure": "progressing_share",
             "source": S("000", 1372, "60 % af de borgere, som deltager i forsøget, opnår en "
                         "progression")},
        ],
        "notes": ["Ledighedsydelse counts only after 18 months of unemployment (seeds/000 "
                  "L1337); the events cannot tell the 18 months, so all on ledighedsydelse "
                  "count, as the design itself does (seeds/000 L1441-1443).",
                  "Integrationsydelse stands for aktivitetsparate udlændinge; the contract "
                  "does not split job- and aktivitetsparate on integrationsydelse."],
    },
    {
        "id": "fleksibel_uddannelse",
        "title": W("Fleksible rammer for uddannelse", "Flexible rules for education"),
        "round": 1,
        "legal_basis": {"text": "Hjemles i eksisterende forsøgsbestemmelser",
                        "sources": [S("003", 3473, "Hjemles i eksisterende forsøgsbestemmelser")]},
        "waives": {"text": "§ 34 og 37 i Lov om aktiv beskæftigelsesindsats: højst 6 ugers "
                           "vejledning og opkvalificering inden for de første 26 ugers ledighed",
                   "sources": [S("000", 1617, "§ 34 og 37 i Lov om aktiv beskæftigelsesindsats"),
                               S("000", 1618, "maksimalt kan gives 6 ugers vejledning- og "
                                 "opkvalificering inden for de første 26 ugers", last=1620)]},
        "scope": [{"lab_codes": ["2.1"], "municipalities": [FREDERIKSHAVN, LAESOE, JAMMERBUGT,
                                                           THISTED],
                   "source": S("000", 1642, "Dagpengemodtagere under 30 år med en "
                               "kompetencegivende uddannelse og dagpengemodtagere")}],
        "municipality_sources": [S("003", 1360, "Frederikshavn/Læsø og Jammerbugt"),
                                 S("003", 6948, "Thisted")],
        "start": {"on": "2017-07-01", "sources": [ROUND_1_IN_FORCE]},
        "end": {"on": "2020-07-31", "sources": [NETWORK_END]},
        "membership": {"by": "marking", "sources": [
            S("000", 1691, "skal markeres med en persongruppemarkering", last=1693)]},
        "followups": [{"kind": "status_after_tilbud", "months": [3, 6, 9],
                       "written": "3, 6 eller 9 måneder",
                       "tilbud_kinds": ["ordinaer_uddannelse", "vejledning_opkvalificering"],
                       "source": S("000", 1721, "3, 6 eller 9 måneder efter endt uddannelse")}],
        "notes": ["Thisted is not in the application (seeds/003 L1360) but reports citizens in "
                  "the experiment's data annex (seeds/003 L6948-6952)."],
    },
]
