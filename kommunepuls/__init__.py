"""Kommunepuls: event-sourced, near-real-time monitoring of municipal employment efforts."""

__version__ = "0.1.0"
