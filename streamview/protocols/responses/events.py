"""The Responses API events table: every event type the protocol defines, in one place.

Each row says what kind of event it is (the events pane's style, the "no deltas" filter, which events end the
stream), which assembler method folds it (``ResponseAssembler`` builds its dispatch from this table), and, for the
checker, the part it belongs to: ``(part kind, role, field)`` where the part kind is ``content``, ``summary`` or a
single block (``arguments``, ``input``, ``code``), the role is ``added``, ``delta``, ``text_done`` or ``done``, and
the field is the payload field holding the text a ``text_done`` event repeats. The checker's known types are the
table's types (``known`` rows); a test holds the assembler and the checker to the same table.
"""

from __future__ import annotations

from ..base import DELTA, ERROR, ITEM, KEEPALIVE, LIFECYCLE, OTHER, TERMINAL, EventSpec

PREFIX = "response."


def _ev(kind: str, handler: str | None = None, *args, block: tuple | None = None, known: bool = True) -> EventSpec:
    return EventSpec(kind, handler, tuple(args), block, known)


EVENTS: dict[str, EventSpec] = {
    "response.created": _ev(LIFECYCLE, "_lifecycle"),
    "response.in_progress": _ev(LIFECYCLE, "_lifecycle"),
    "response.queued": _ev(LIFECYCLE, "_lifecycle"),
    "response.completed": _ev(TERMINAL, "_lifecycle"),
    "response.failed": _ev(TERMINAL, "_lifecycle"),
    "response.incomplete": _ev(TERMINAL, "_lifecycle"),
    "error": _ev(ERROR, "_error"),
    "response.output_item.added": _ev(ITEM, "_item_added"),
    "response.output_item.done": _ev(ITEM, "_item_done"),
    "response.content_part.added": _ev(ITEM, "_part_added", block=("content", "added", "")),
    "response.content_part.done": _ev(ITEM, "_part_done", block=("content", "done", "")),
    "response.output_text.delta": _ev(DELTA, "_delta_content", "output_text", block=("content", "delta", "")),
    "response.output_text.done": _ev(OTHER, "_done_content", "output_text", "text", block=("content", "text_done", "text")),
    "response.output_text.annotation.added": _ev(OTHER, "_annotation", block=("content", "delta", "")),
    "response.refusal.delta": _ev(DELTA, "_delta_content", "refusal", block=("content", "delta", "")),
    "response.refusal.done": _ev(OTHER, "_done_content", "refusal", "refusal", block=("content", "text_done", "refusal")),
    "response.reasoning_text.delta": _ev(DELTA, "_delta_content", "reasoning_text", block=("content", "delta", "")),
    "response.reasoning_text.done": _ev(OTHER, "_done_content", "reasoning_text", "text", block=("content", "text_done", "text")),
    "response.reasoning_summary_part.added": _ev(OTHER, "_summary_part", block=("summary", "added", "")),
    "response.reasoning_summary_part.done": _ev(OTHER, "_summary_part", block=("summary", "done", "")),
    "response.reasoning_summary_text.delta": _ev(DELTA, "_summary_delta", block=("summary", "delta", "")),
    "response.reasoning_summary_text.done": _ev(OTHER, "_summary_done", block=("summary", "text_done", "text")),
    "response.function_call_arguments.delta": _ev(DELTA, "_delta_single", "arguments", block=("arguments", "delta", "")),
    "response.function_call_arguments.done": _ev(OTHER, "_done_single", "arguments", "arguments", block=("arguments", "text_done", "arguments")),
    "response.mcp_call_arguments.delta": _ev(DELTA, "_delta_single", "arguments", block=("arguments", "delta", "")),
    "response.mcp_call_arguments.done": _ev(OTHER, "_done_single", "arguments", "arguments", block=("arguments", "text_done", "arguments")),
    "response.custom_tool_call_input.delta": _ev(DELTA, "_delta_single", "input", block=("input", "delta", "")),
    "response.custom_tool_call_input.done": _ev(OTHER, "_done_single", "input", "input", block=("input", "text_done", "input")),
    "response.code_interpreter_call_code.delta": _ev(DELTA, "_delta_single", "code", block=("code", "delta", "")),
    "response.code_interpreter_call_code.done": _ev(OTHER, "_done_single", "code", "code", block=("code", "text_done", "code")),
    "response.image_generation_call.partial_image": _ev(OTHER, "_partial_image"),
    "response.shell_call_command.added": _ev(OTHER, "_shell_command"),
    "response.shell_call_command.delta": _ev(DELTA, "_shell_command"),
    "response.shell_call_command.done": _ev(OTHER, "_shell_command"),
    "response.audio.delta": _ev(DELTA, "_audio"),
    "response.audio.transcript.delta": _ev(DELTA, "_transcript"),
    "response.audio.transcript.done": _ev(OTHER, "_transcript"),
    # an apply_patch call's diff as it streams (OpenAI sends these; the SDK's event union does not have them yet)
    "response.apply_patch_call_operation_diff.delta": _ev(DELTA, "_delta_single", "diff", block=("diff", "delta", "")),
    "response.apply_patch_call_operation_diff.done": _ev(OTHER, "_done_single", "diff", "diff", block=("diff", "text_done", "diff")),
    # known, with nothing to assemble
    "response.audio.done": _ev(OTHER),
    "response.shell_call_output_content.delta": _ev(DELTA),
    "response.shell_call_output_content.done": _ev(OTHER),
    # a gateway's keep-alive: outside the SDK's event union (the checker notes it), skipped by the assembler
    "keepalive": _ev(KEEPALIVE, known=False),
}

# a tool's progress: each phase event sets the item's phase
for _tool, _phases in {
    "web_search_call": ("in_progress", "searching", "completed"),
    "file_search_call": ("in_progress", "searching", "completed"),
    "code_interpreter_call": ("in_progress", "interpreting", "completed"),
    "image_generation_call": ("in_progress", "generating", "completed"),
    "mcp_list_tools": ("in_progress", "completed", "failed"),
    "mcp_call": ("in_progress", "completed", "failed"),
    "compaction": ("compacting",),
}.items():
    for _phase in _phases:
        EVENTS[f"response.{_tool}.{_phase}"] = _ev(OTHER, "_phase")

KNOWN_TYPES = frozenset(t for t, spec in EVENTS.items() if spec.known)
TERMINAL_TYPES = frozenset(t for t, spec in EVENTS.items() if spec.kind == TERMINAL)  # the response's own end
ENDS = TERMINAL_TYPES | {t for t, spec in EVENTS.items() if spec.kind == ERROR}  # what ends a stream
PART_EVENTS: dict[str, tuple] = {t: spec.block for t, spec in EVENTS.items() if spec.block is not None}
# the deltas whose handler, once their item and block exist, only appends the payload's delta (time travel replays them)
REPLAYABLE = frozenset(t for t, spec in EVENTS.items() if spec.handler in ("_delta_content", "_summary_delta", "_delta_single"))
