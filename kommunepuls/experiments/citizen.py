"""One citizen as the experiment rules read them: the folded CitizenState plus the facts the
indicator fold does not keep (samtaler, microloans).

The same effective-events rules apply (duplicates once, retractions honoured, occurred_at
order), so a retracted samtale never meets a deadline and a resent one counts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from kommunepuls.domain.citizen import CitizenState, fold
from kommunepuls.domain.effective import effective_events
from kommunepuls.domain.records import StoredEvent
from kommunepuls.experiments.dates import add_months

# The microloan period lasts 6 months (seeds/000 L198): a loan with no microloan_ended yet
# is taken to end then, so its self-support follow-up is not postponed forever.
MICROLOAN_PERIOD_MONTHS = 6


@dataclass(frozen=True, slots=True)
class Samtale:
    day: date
    municipality: str
    form: str
    kind: str
    held: bool


@dataclass(frozen=True, slots=True)
class Microloan:
    loan_id: str
    municipality: str
    start: date  # first day of the microloan period
    end: date | None  # last day, inclusive, as reported; None = not reported yet
    amount_dkk: int | None

    @property
    def expected_end(self) -> date:
        """The reported last day, else the end of the 6-month period."""
        if self.end is not None:
            return self.end
        return add_months(self.start, MICROLOAN_PERIOD_MONTHS) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ExperimentCitizen:
    state: CitizenState
    samtaler: tuple[Samtale, ...]  # by day
    microloans: tuple[Microloan, ...]  # by start

    @property
    def citizen_id(self) -> str:
        return self.state.citizen_id


def read_citizen(events: Iterable[StoredEvent]) -> ExperimentCitizen:
    """Fold one citizen's events (any order) for the experiment rules."""
    events = list(events)
    samtaler: list[Samtale] = []
    starts: dict[str, tuple[date, str, int | None]] = {}
    ends: dict[str, date] = {}
    for event in effective_events(events):
        data = event.data
        if event.type == "samtale":
            samtaler.append(Samtale(event.occurred_at, event.municipality, str(data["form"]),
                                    str(data["kind"]), bool(data["held"])))
        elif event.type == "microloan_granted":
            amount = data.get("amount_dkk")
            starts[str(data["loan_id"])] = (event.occurred_at, event.municipality,
                                            amount if isinstance(amount, int) else None)
        elif event.type == "microloan_ended":
            ends[str(data["loan_id"])] = event.occurred_at
    loans = []
    for loan_id, (start, municipality, amount) in starts.items():
        end = ends.get(loan_id)
        # As with tilbud, an end before the start is meaningless and is not kept.
        loans.append(Microloan(loan_id, municipality, start,
                               end if end is not None and end >= start else None, amount))
    loans.sort(key=lambda loan: (loan.start, loan.loan_id))
    return ExperimentCitizen(fold(events), tuple(samtaler), tuple(loans))


def read_citizens(events: Iterable[StoredEvent]) -> list[ExperimentCitizen]:
    """Every citizen in an event list, each folded once."""
    by_citizen: dict[str, list[StoredEvent]] = {}
    for event in events:
        by_citizen.setdefault(event.citizen_id, []).append(event)
    return [read_citizen(found) for _, found in sorted(by_citizen.items())]
