"""The Cohere v2 chat events table: the one list of its event types (the ``type`` of each event's data, which the
``event:`` line repeats), what kind each is, the assembler's handler for it and the family it belongs to. The
checker's rules are its methods of the same name (``_message_start``...), made from this table too, so the
assembler, the checker and the panes agree on what the protocol defines.

The families: ``content`` (a content block, by its ``index``: text or thinking), ``tool_call`` (by its own
``index``), ``citation`` (by its own ``index``) and ``tool_plan`` (one per message, no index). A family's events
are its ``start``, ``delta`` and ``end`` (``block`` = (family, role))."""

from __future__ import annotations

from typing import Any

from ..base import DELTA, ERROR, ITEM, LIFECYCLE, OTHER, TERMINAL, EventSpec

CONTENT, TOOL_CALL, CITATION, TOOL_PLAN = "content", "tool_call", "citation", "tool_plan"
START, PIECE, END = "start", "delta", "end"
MESSAGE_START, MESSAGE_END, DEBUG = "message-start", "message-end", "debug"

EVENTS: dict[str, EventSpec] = {
    MESSAGE_START: EventSpec(LIFECYCLE, "_message_start"),
    "content-start": EventSpec(ITEM, "_content_start", block=(CONTENT, START)),
    "content-delta": EventSpec(DELTA, "_content_delta", block=(CONTENT, PIECE)),
    "content-end": EventSpec(ITEM, "_content_end", block=(CONTENT, END)),
    "tool-plan-delta": EventSpec(DELTA, "_tool_plan_delta", block=(TOOL_PLAN, PIECE)),
    "tool-call-start": EventSpec(ITEM, "_tool_call_start", block=(TOOL_CALL, START)),
    "tool-call-delta": EventSpec(DELTA, "_tool_call_delta", block=(TOOL_CALL, PIECE)),
    "tool-call-end": EventSpec(ITEM, "_tool_call_end", block=(TOOL_CALL, END)),
    "citation-start": EventSpec(ITEM, "_citation_start", block=(CITATION, START)),
    "citation-end": EventSpec(ITEM, "_citation_end", block=(CITATION, END)),
    # terminal; described as an error when it says the generation failed (finish_reason ERROR or TIMEOUT, or an
    # error message in its delta)
    MESSAGE_END: EventSpec(TERMINAL, "_message_end"),
    DEBUG: EventSpec(OTHER, "_debug"),  # the prompt as the model saw it (a debug option of the request)
}
KNOWN_TYPES = frozenset(EVENTS)
INDEXED = frozenset(t for t, spec in EVENTS.items() if spec.block is not None and spec.block[0] != TOOL_PLAN)
FAILED_REASONS = frozenset({"ERROR", "TIMEOUT"})
INCOMPLETE_REASONS = frozenset({"MAX_TOKENS"})
GOOD_REASONS = frozenset({"COMPLETE", "STOP_SEQUENCE", "TOOL_CALL"})
KNOWN_REASONS = FAILED_REASONS | INCOMPLETE_REASONS | GOOD_REASONS
CONTENT_TYPES = ("text", "thinking")  # the content block types; a delta carries the field of the same name


def dig(p: Any, *path: str) -> Any:
    """``p[a][b]...`` through objects only; None where a step is not an object or lacks the key."""
    for key in path:
        if p.__class__ is not dict:
            return None
        p = p.get(key)
    return p


def end_error(p: dict) -> tuple[str, str] | None:
    """(code, message) when a ``message-end`` says the generation failed: ``delta.error`` (a message), or a
    ``finish_reason`` of ERROR or TIMEOUT; None when it did not."""
    delta = p.get("delta")
    if delta.__class__ is not dict:
        return None
    reason = delta.get("finish_reason")
    message = delta.get("error")
    if isinstance(message, str) and message:
        return (reason if isinstance(reason, str) and reason in FAILED_REASONS else "ERROR"), message
    if isinstance(reason, str) and reason in FAILED_REASONS:
        return reason, f"the generation ended with finish_reason {reason}"
    return None


def kind_of(etype: str, p: Any) -> str:
    """The kind an event of ``etype`` is shown as (``EVENTS``' own, but a failed ``message-end`` is an error)."""
    spec = EVENTS[etype]
    if etype == MESSAGE_END and p.__class__ is dict and end_error(p) is not None:
        return ERROR
    return spec.kind
