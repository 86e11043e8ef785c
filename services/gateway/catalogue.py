"""GET /v1/indicators: the catalogue, every definition in words — the same data the
evaluator runs on, so what the API says an indicator means is what was computed."""

from __future__ import annotations

from fastapi import APIRouter

from kommunepuls.domain import indicators as engine
from kommunepuls.web.problems import PROBLEM_RESPONSES
from services.gateway.models import Catalogue, IndicatorOut, WordsOut
from services.gateway.params import INDICATOR_PROBLEMS, STRICT_QUERY, Indicator, Reader, is_curve

router = APIRouter(prefix="/v1/indicators", tags=["indicators"], dependencies=STRICT_QUERY)


def _words(words: engine.Words) -> WordsOut:
    return WordsOut(en=words.en, da=words.da)


def indicator_out(definition: engine.IndicatorDefinition) -> IndicatorOut:
    periods = (f"m01..m{definition.window_months:02d}: months since visitation"
               if is_curve(definition) else "YYYY-MM: calendar months")
    return IndicatorOut(
        id=definition.id, title=_words(definition.title),
        numerator=_words(definition.numerator), denominator=_words(definition.denominator),
        window=_words(definition.window), programme=definition.programme,
        groups=list(definition.groups), population=definition.population.value,
        condition=definition.condition.value, window_months=definition.window_months,
        unit=definition.unit, counting_unit=definition.counting_unit,
        target=None if definition.target is None else float(definition.target),
        rule_set_version=definition.rule_set_version, valid_from=definition.valid_from,
        valid_to=definition.valid_to, source=definition.source, periods=periods,
    )


@router.get("", response_model=Catalogue, responses=PROBLEM_RESPONSES,
            summary="The indicator catalogue: definitions, targets, sources")
async def list_indicators(_: Reader) -> Catalogue:
    return Catalogue(rule_set_version=engine.RULE_SET_VERSION,
                     indicators=[indicator_out(d) for d in engine.CATALOGUE])


@router.get("/{indicator_id}", response_model=IndicatorOut,
            responses=INDICATOR_PROBLEMS, summary="One indicator's definition")
async def get_indicator(_: Reader, definition: Indicator) -> IndicatorOut:
    return indicator_out(definition)
