"""`fsm_virksomhedsforloeb` in DuckDB SQL, written from the rules (domain.md §3-4), not
from our engine: the outside peer of the batch recompute (bench/duckdb_peer.py).

Input: a table `raw` of stored events (position, event_id, citizen_id, municipality,
type, occurred_at, data as JSON text). Output: numerator / denominator per
(municipality, period) for group 1. The rules, in the order the queries apply them:
- an event_id counts once (the first stored copy); `event_retracted` makes its target
  (an event of the same citizen) count as never having happened, and a retraction can be
  retracted in turn (solved by iterating to the fixed point, see `retracted`);
- a citizen's facts apply in (occurred_at, same-day rank, position) order, the rank
  putting spell ends after same-day starts and afklaret / relocated last;
- FSM membership: a visitation opens one (a re-sent marking with the same municipality,
  group and target group changes nothing; another one replaces it from its day);
  visitation_ended ends it on its day, afklaret the day before, relocated the day before
  unless the citizen moves to the membership's own municipality; a membership ending
  before it starts never held;
- exemptions pair a start with the next end (a start while exempt, or an end while not,
  changes nothing); tilbud spells are one per tilbud_id, the last start and the last end
  in fold order winning, and a spell ending before it starts is dropped; an hours report
  replaces earlier ones for the same month;
- everything open runs until today, and nothing after today counts yet;
- denominator of month M: members of group 1 in the municipality on M's reference day
  (its last day, or today in today's month), not exempt that day, from August 2017 on;
- numerator: of them, those with a virksomhedsrettet tilbud, ordinaer_uddannelse or
  fleksjob on some day, or ordinary hours > 0, in a month of M - 2 .. M.
"""

from __future__ import annotations

from datetime import date

import duckdb

FSM = "flere_skal_med"
FIRST_MONTH = date(2017, 8, 1)  # the rule set's validity
KINDS = ("virksomhedspraktik", "loentilskud_privat", "loentilskud_offentlig", "nytteindsats",
         "ordinaer_uddannelse", "fleksjob")

_FACTS = """
-- One row per event_id, the first stored copy: only ids stored twice need looking at.
CREATE OR REPLACE TEMP TABLE ev AS
WITH twice AS (SELECT event_id, min(position) AS first FROM raw GROUP BY event_id
               HAVING count(*) > 1)
SELECT raw.* FROM raw LEFT JOIN twice USING (event_id)
WHERE twice.first IS NULL OR raw.position = twice.first;

CREATE OR REPLACE TEMP TABLE links AS
SELECT r.event_id AS retraction, t.event_id AS target
FROM ev r JOIN ev t
  ON t.event_id = json_extract_string(r.data, '$.event_id') AND t.citizen_id = r.citizen_id
WHERE r.type = 'event_retracted';
"""

# One step of "an event is retracted if a standing (not retracted) retraction targets it".
_RETRACT_STEP = """
CREATE OR REPLACE TEMP TABLE retracted_next AS
SELECT DISTINCT target AS event_id FROM links
WHERE retraction NOT IN (SELECT event_id FROM retracted)"""

_FACTS_ORDERED = """
CREATE OR REPLACE TEMP TABLE facts AS
SELECT citizen_id, municipality, type, occurred_at AS day, position,
       json_extract_string(data, ['programme', 'target_group', 'to_municipality', 'tilbud_id',
                                  'kind', 'month']) AS f,
       CAST(json_extract(data, '$.group') AS INTEGER) AS grp,
       CAST(json_extract(data, '$.hours') AS DOUBLE) AS hours,
       CASE WHEN type IN ('visitation_ended', 'tilbud_ended', 'exemption_ended', 'cvr_ceased',
                          'raskmelding') THEN 1
            WHEN type IN ('afklaret', 'relocated') THEN 2 ELSE 0 END AS rnk
FROM ev
WHERE type <> 'event_retracted' AND event_id NOT IN (SELECT event_id FROM retracted);
"""

_MEMBERSHIPS = """
CREATE OR REPLACE TEMP TABLE mev AS
SELECT citizen_id, type, day, municipality, grp, f[2] AS target_group, f[3] AS destination,
       row_number() OVER (PARTITION BY citizen_id ORDER BY day, rnk, position) AS idx
FROM facts
WHERE type IN ('visitation', 'visitation_ended') AND f[1] = $fsm
   OR type IN ('afklaret', 'relocated');

-- For each event, the visitation before it, and whether it ends an open membership.
CREATE OR REPLACE TEMP TABLE mev2 AS
WITH prior AS (
    SELECT *, max(CASE WHEN type = 'visitation' THEN idx END) OVER w AS pv
    FROM mev WINDOW w AS (PARTITION BY citizen_id ORDER BY idx
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT e.*, p.municipality AS pv_municipality, p.grp AS pv_grp,
       p.target_group AS pv_target_group,
       e.type IN ('visitation_ended', 'afklaret')
         OR e.type = 'relocated' AND e.destination IS DISTINCT FROM p.municipality AS closer
FROM prior e LEFT JOIN mev p ON p.citizen_id = e.citizen_id AND p.idx = e.pv;

CREATE OR REPLACE TEMP TABLE mev3 AS
SELECT *, coalesce(max(CASE WHEN closer THEN idx END) OVER (
              PARTITION BY citizen_id ORDER BY idx
              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS last_closer
FROM mev2;

-- Visitations that open a membership, and closers: each membership ends at the next one.
CREATE OR REPLACE TEMP TABLE memberships AS
WITH marks AS (
    SELECT citizen_id, idx, type, day, municipality, grp FROM mev3
    WHERE type = 'visitation'
      AND NOT (pv IS NOT NULL AND last_closer < pv
               AND municipality = pv_municipality
               AND grp IS NOT DISTINCT FROM pv_grp
               AND target_group IS NOT DISTINCT FROM pv_target_group)
       OR type <> 'visitation' AND closer
), spans AS (
    SELECT *, lead(type) OVER w AS next_type, lead(day) OVER w AS next_day
    FROM marks WINDOW w AS (PARTITION BY citizen_id ORDER BY idx)
)
SELECT citizen_id, municipality, grp, day AS start,
       CASE WHEN next_type IS NULL THEN NULL
            WHEN next_type = 'visitation_ended' THEN next_day
            ELSE next_day - 1 END AS last
FROM spans WHERE type = 'visitation';
"""

_EXEMPTIONS = """
CREATE OR REPLACE TEMP TABLE exemptions AS
WITH x AS (
    SELECT citizen_id, type, day,
           lag(type) OVER w AS before,
           first_value(CASE WHEN type = 'exemption_ended' THEN day END IGNORE NULLS) OVER (
               w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_end
    FROM facts WHERE type IN ('exemption_started', 'exemption_ended')
    WINDOW w AS (PARTITION BY citizen_id ORDER BY day, rnk, position)
)
SELECT citizen_id, day AS start, least(coalesce(next_end, $today), $today) AS last
FROM x WHERE type = 'exemption_started' AND before IS DISTINCT FROM 'exemption_started'
  AND day <= $today;
"""

_ACTIVE_MONTHS = """
CREATE OR REPLACE TEMP TABLE active_months AS
WITH starts AS (
    SELECT citizen_id, f[4] AS tilbud_id, arg_max(day, (day, position)) AS start,
           arg_max(f[5], (day, position)) AS kind
    FROM facts WHERE type = 'tilbud_started' GROUP BY ALL
), ends AS (
    SELECT citizen_id, f[4] AS tilbud_id, arg_max(day, (day, position)) AS last
    FROM facts WHERE type = 'tilbud_ended' GROUP BY ALL
), spells AS (
    SELECT s.citizen_id, s.start, least(coalesce(e.last, $today), $today) AS last
    FROM starts s LEFT JOIN ends e USING (citizen_id, tilbud_id)
    WHERE (e.last IS NULL OR e.last >= s.start) AND list_contains($kinds, s.kind)
), hours AS (
    SELECT citizen_id, f[6] AS month, arg_max(hours, (day, position)) AS hours
    FROM facts WHERE type = 'ordinary_hours' GROUP BY ALL
)
SELECT citizen_id, unnest(range(year(start) * 12 + month(start) - 1,
                                year(last) * 12 + month(last))) AS month
FROM spells WHERE start <= last
UNION
SELECT citizen_id, CAST(left(month, 4) AS INTEGER) * 12 + CAST(right(month, 2) AS INTEGER) - 1
FROM hours WHERE hours > 0 AND month <= strftime($today, '%Y-%m');
"""

_COUNTS = """
WITH months AS (
    SELECT m AS month, least(last_day(make_date(m // 12, m % 12 + 1, 1)), $today) AS ref
    FROM range(year($first) * 12 + month($first) - 1, year($today) * 12 + month($today)) r(m)
), members AS (
    SELECT DISTINCT ms.citizen_id, ms.municipality, months.month
    FROM memberships ms JOIN months
      ON ms.start <= months.ref AND months.ref <= least(coalesce(ms.last, $today), $today)
    WHERE ms.grp = 1 AND ms.start <= $today
), not_exempt AS (
    SELECT m.* FROM members m JOIN months USING (month)
    ANTI JOIN exemptions x ON x.citizen_id = m.citizen_id
                          AND x.start <= months.ref AND months.ref <= x.last
), window_ends AS (  -- the months whose 3-month window holds an active month
    SELECT DISTINCT citizen_id, month + k AS month FROM active_months, range(3) r(k)
)
SELECT municipality, month, count(w.citizen_id) AS numerator, count(*) AS denominator
FROM not_exempt m LEFT JOIN window_ends w USING (citizen_id, month)
GROUP BY municipality, month
"""

Cells = dict[tuple[str, str], tuple[int, int]]


def period_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def retracted(db: duckdb.DuckDBPyConnection, max_rounds: int = 20) -> int:
    """Fill table `retracted`: iterate "retracted = targets of standing retractions" from
    "none retracted" until nothing changes (for chains of retractions of retractions, the
    answer alternates until the chain is resolved). Returns the rounds taken."""
    db.execute("CREATE OR REPLACE TEMP TABLE retracted AS SELECT NULL::VARCHAR AS event_id "
               "WHERE false")
    for rounds in range(1, max_rounds + 1):
        db.execute(_RETRACT_STEP)
        changed = db.execute(
            "SELECT count(*) FROM ((SELECT * FROM retracted_next EXCEPT SELECT * FROM retracted)"
            " UNION ALL (SELECT * FROM retracted EXCEPT SELECT * FROM retracted_next))"
        ).fetchone()
        db.execute("CREATE OR REPLACE TEMP TABLE retracted AS SELECT * FROM retracted_next")
        if changed is not None and changed[0] == 0:
            return rounds
    raise RuntimeError("retractions did not settle (a cycle of retractions?)")


def run(db: duckdb.DuckDBPyConnection, script: str, **params: object) -> list[tuple]:
    """Each statement of a script, given the parameters it names; the last one's rows."""
    rows: list[tuple] = []
    for statement in filter(str.strip, script.split(";")):
        used = {k: v for k, v in params.items() if f"${k}" in statement}
        rows = db.execute(statement, used).fetchall() if used else db.execute(
            statement).fetchall()
    return rows


def virksomhedsforloeb(db: duckdb.DuckDBPyConnection, today: date) -> Cells:
    """(municipality, period) -> (numerator, denominator) of group 1, from table `raw`."""
    run(db, _FACTS)
    retracted(db)
    run(db, _FACTS_ORDERED)
    run(db, _MEMBERSHIPS, fsm=FSM)
    run(db, _EXEMPTIONS, today=today)
    run(db, _ACTIVE_MONTHS, today=today, kinds=list(KINDS))
    rows = run(db, _COUNTS, today=today, first=FIRST_MONTH)
    return {(str(m), period_label(month)): (int(n), int(d)) for m, month, n, d in rows}
