"""The Chat Completions events table. A Chat Completions stream is data-only SSE: every event is a ``message``, and
what it is comes from its data: a ``chat.completion.chunk`` object, the ``[DONE]`` sentinel, or an error object.
``event_type`` names each event by the table's keys; the assembler's dispatch, the checker's known types and the
panes read the same table."""

from __future__ import annotations

from typing import Any

from .._openai import error_of
from ..base import DELTA, ERROR, TERMINAL, EventSpec

CHUNK_OBJECT = "chat.completion.chunk"
CHUNK, DONE, ERROR_EVENT = "chunk", "[DONE]", "error"

EVENTS: dict[str, EventSpec] = {
    CHUNK: EventSpec(DELTA, "_chunk"),  # a chunk without text is described as lifecycle
    DONE: EventSpec(TERMINAL, "_done"),
    ERROR_EVENT: EventSpec(ERROR, "_error"),
}
KNOWN_TYPES = frozenset(EVENTS)


def is_chunk(p: dict) -> bool:
    """A ``chat.completion.chunk`` (or a server's chunk that leaves ``object`` out; or Azure's ``object: ""``
    content-filter chunks, which the SDK's stream skips)."""
    obj = p.get("object")
    return obj == CHUNK_OBJECT or ((obj is None or obj == "") and p.get("choices").__class__ is list)


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
