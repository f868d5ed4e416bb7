"""The legacy Completions events table. A Completions stream is data-only SSE: every event is a ``message``, and what
it is comes from its data: a ``text_completion`` object (a chunk), the ``[DONE]`` sentinel, or an error object.
``event_type`` names each event by the table's keys; the assembler's dispatch, the checker's known types and the
panes read the same table."""

from __future__ import annotations

from typing import Any

from .._openai import error_of
from ..base import DELTA, ERROR, TERMINAL, EventSpec

CHUNK_OBJECT = "text_completion"
CHUNK, DONE, ERROR_EVENT = "chunk", "[DONE]", "error"

EVENTS: dict[str, EventSpec] = {
    CHUNK: EventSpec(DELTA, "_chunk"),  # a chunk without text is described as lifecycle
    DONE: EventSpec(TERMINAL, "_done"),
    ERROR_EVENT: EventSpec(ERROR, "_error"),
}
KNOWN_TYPES = frozenset(EVENTS)


def has_delta_field(choices: Any) -> bool:
    """Whether a ``choices`` list holds a ``delta`` object: a Chat Completions chunk, not a Completions one."""
    if choices.__class__ is not list:
        return False
    return any(c.__class__ is dict and c.get("delta").__class__ is dict for c in choices)


def is_chunk(p: dict) -> bool:
    """A ``text_completion`` chunk, or a server's chunk that leaves ``object`` out (or sends ``""``, as Azure's
    prompt-filter chunk does) and has a ``choices`` list without any Chat Completions ``delta``."""
    obj = p.get("object")
    if obj == CHUNK_OBJECT:
        return True
    choices = p.get("choices")
    return (obj is None or obj == "") and choices.__class__ is list and not has_delta_field(choices)


def event_type(ev: Any) -> str | None:
    """The table key of an event: ``chunk``, ``[DONE]`` or ``error``; None for anything else (a comment, junk,
    unreadable data, JSON of another shape)."""
    shape = ev._shape
    if shape[0] != "event":
        return None
    if shape[2] == DONE:
        return DONE
    p = ev.payload
    if p.__class__ is not dict and not isinstance(p, dict):
        return None
    if error_of(p) is not None:
        return ERROR_EVENT
    if is_chunk(p):
        return CHUNK
    return None


__all__ = ["CHUNK", "CHUNK_OBJECT", "DONE", "ERROR_EVENT", "EVENTS", "KNOWN_TYPES", "error_of", "event_type", "is_chunk"]
