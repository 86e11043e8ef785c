"""Windows move with the platform's clock: with no new event, a new day re-evaluates every
citizen (the cohorts worker's sweep), and the live read models follow the batch recompute
of the new day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import asyncpg
from fastapi.testclient import TestClient

from kommunepuls.clock import set_platform_today
from kommunepuls.config import Settings
from kommunepuls.kafka import ensure_topics
from services.ingest.app import create_app
from tests.integration.pipeline import stream_workers, worker_settings
from tests.integration.test_pipeline import envelope, post, wait_for_agreement

DAY1 = date(2019, 7, 15)
DAY2 = date(2019, 9, 15)
VISIT = {"programme": "flere_skal_med", "target_group": "kontanthjaelp_aktivitetsparat",
         "group": 1}


async def count(db: asyncpg.Pool, indicator: str, period: str) -> tuple[int, int] | None:
    row = await db.fetchrow(
        """SELECT sum(numerator) AS n, sum(denominator) AS d FROM indicator_counts
           WHERE indicator = $1 AND municipality = '461' AND period = $2""", indicator, period)
    return None if row["n"] is None else (row["n"], row["d"])


async def test_a_new_day_moves_the_windows_without_any_new_event(
        settings: Settings, db: asyncpg.Pool, tmp_path: Path, jwt_secret: bytes) -> None:
    # The platform clock, not a fixed date; sweeps as soon as the day moves.
    settings = worker_settings(settings.model_copy(update={"today": None,
                                                           "sweep_interval_s": 0.2}))
    await set_platform_today(db, DAY1)
    await ensure_topics(settings)
    # A: visited to FSM group 1 in 461 on 1 Nov 2018, a virksomhedspraktik since 1 March
    # 2019 that is still open. B: visited the same day, nothing since. S: only a samtale.
    events = [envelope("0101851001", "visitation", "2018-11-01", VISIT),
              envelope("0101851001", "tilbud_started", "2019-03-01",
                       {"tilbud_id": "T-A", "kind": "virksomhedspraktik"}),
              envelope("0201851002", "visitation", "2018-11-01", VISIT)]
    samtale = envelope("0301851003", "samtale", "2019-05-02",
                       {"form": "in_person", "held": True, "kind": "ordinary"})
    samtale["schema_version"] = 2
    with stream_workers(settings, tmp_path / "logs"), TestClient(create_app(settings)) as ingest:
        assert post(ingest, jwt_secret, [*events, samtale])["accepted"] == 4
        await wait_for_agreement(db, budget_s=20, today=DAY1)
        # 15 July: the newest period is July (provisional); August has no cell yet, and the
        # curve counts months ended by then: m1 = Nov 2018 ... m8 = June 2019.
        assert await count(db, "fsm_virksomhedsforloeb", "2019-07") == (1, 2)
        assert await count(db, "fsm_virksomhedsforloeb", "2019-08") is None
        assert await count(db, "fsm_virksomhedsforloeb_curve", "m08") == (1, 2)
        assert await count(db, "fsm_virksomhedsforloeb_curve", "m10") is None

        await set_platform_today(db, DAY2)  # no event is sent from here on
        await wait_for_agreement(db, budget_s=20, today=DAY2)
        # 15 September: period 2019-08 (window June-August) exists now. A's praktik is still
        # open, so A is in its numerator; A and B, still group 1 on 31 August, in its
        # denominator: 1 / 2. So for September (provisional). The curve's m9 (July) and m10
        # (August) have ended: A in virksomhedsforløb, B not: 1 / 2 each.
        assert await count(db, "fsm_virksomhedsforloeb", "2019-08") == (1, 2)
        assert await count(db, "fsm_virksomhedsforloeb", "2019-09") == (1, 2)
        assert await count(db, "fsm_virksomhedsforloeb_curve", "m10") == (1, 2)
        assert await count(db, "fsm_virksomhedsforloeb_curve", "m11") is None
        swept = await db.fetchval("SELECT count(*) FROM citizen_contributions WHERE day = $1",
                                  DAY2)
        assert swept >= 2  # A's and B's facts of the new day were counted
