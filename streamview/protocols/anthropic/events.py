"""The Anthropic Messages events table: the one list of its event types, what kind each is, and the assembler's
handler for it. The checker's rules are its methods of the same name (``_message_start``...), made from this table
too, so the assembler, the checker and the panes agree on what the protocol defines."""

from __future__ import annotations

from ..base import DELTA, ERROR, ITEM, KEEPALIVE, LIFECYCLE, TERMINAL, EventSpec

EVENTS: dict[str, EventSpec] = {
    "message_start": EventSpec(LIFECYCLE, "_message_start"),
    "content_block_start": EventSpec(ITEM, "_block_start", block=("start",)),
    "content_block_delta": EventSpec(DELTA, "_block_delta", block=("delta",)),
    "content_block_stop": EventSpec(ITEM, "_block_stop", block=("stop",)),
    "message_delta": EventSpec(LIFECYCLE, "_message_delta"),
    "message_stop": EventSpec(TERMINAL, "_message_stop"),
    "ping": EventSpec(KEEPALIVE, "_ping"),
    "error": EventSpec(ERROR, "_error"),
}

KNOWN_TYPES = frozenset(EVENTS)
BLOCK_TYPES = frozenset(t for t, spec in EVENTS.items() if spec.block is not None)  # events that name a block
ENDS = frozenset(t for t, spec in EVENTS.items() if spec.kind in (TERMINAL, ERROR))
START = "message_start"
# the events that belong inside a message, after its start
CONTENT_TYPES = frozenset(t for t, spec in EVENTS.items() if spec.kind not in (KEEPALIVE, ERROR) and t != START)
