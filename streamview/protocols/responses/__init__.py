"""The OpenAI Responses API (``POST /v1/responses`` with ``"stream": true``): ``event:`` names and ``type`` fields
starting ``response.``, numbered by ``sequence_number``, ending with ``response.completed``, ``response.failed``,
``response.incomplete`` or ``error``."""

from __future__ import annotations

from typing import Any, Hashable

from .. import _openai
from ..base import DELTA, UNKNOWN, Description, LiveOptions, Protocol, Row, created_row, echoed_parameters, first_text
from ..unknown import describe_plain
from .events import EVENTS, PREFIX

_TEXT_KEYS = ("delta", "text", "arguments", "refusal", "code", "input", "content")
_LABEL_KIND: dict[str, tuple[str, str]] = {}  # event type -> (label, kind): the same for every event of a type


class ResponsesLive(_openai.OpenAILive):
    help = "POST {base}/responses with $OPENAI_API_KEY"
    path = "/responses"

    def payload(self, o: LiveOptions) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": o.model or self.default_model, "input": o.prompt}
        if o.instructions is not None:
            payload["instructions"] = o.instructions
        if o.reasoning_effort is not None:
            payload["reasoning"] = {"effort": o.reasoning_effort}
        if o.max_output_tokens is not None:
            payload["max_output_tokens"] = o.max_output_tokens
        return payload


class Responses(Protocol):
    name = "responses"
    title = "Responses API"
    rules = ("seq-gap", "seq-duplicate", "seq-out-of-order", "before-added", "after-done", "done-mismatch",
             "index-mismatch", "no-terminal", "multiple-terminal", "after-terminal", "final-mismatch", "bad-json",
             "bad-sse", "unknown-event", "item-id-rotated", "item-not-done", "response-id-changed")
    events = EVENTS
    # ("response." is the prefix of its event types: as a string literal, so that code may still name a response)
    vocabulary = ("responses", '"response.', "'response.", "output_item", "content_part", "output_index",
                  "content_index", "summary_index", "response.completed", "response.created")
    sequence_field = "sequence_number"
    announce = False  # the first protocol streamview read: its summaries have always gone without its name
    terminal_hint = "completed, failed or incomplete"
    failed_what = "response"
    headers = _openai.HEADERS
    live = ResponsesLive()
    serve = _openai.OpenAIServe("/v1/responses", "/responses")

    def sniff(self, ev) -> float:
        shape = ev._shape
        if shape[0] != "event":
            return 0.0
        etype = shape[2]
        if etype.startswith(PREFIX):
            return 1.0 if ev.payload.__class__ is dict else 0.0
        if etype in ("error", "keepalive"):
            p = ev.payload
            if p.__class__ is dict and self.sequence_field in p:
                return 0.9
        return 0.0

    def assembler(self):
        from .assemble import ResponseAssembler

        return ResponseAssembler()

    def checker(self):
        from .check import Checker

        return Checker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        shape = ev._shape
        if shape[0] != "event":
            return describe_plain(ev)[:3]
        etype = shape[2]
        label_kind = _LABEL_KIND.get(etype)
        if label_kind is None:
            spec = EVENTS.get(etype)
            kind = spec.kind if spec is not None else (DELTA if etype.endswith(".delta") else UNKNOWN)
            label_kind = (etype.removeprefix(PREFIX), kind)
            if len(_LABEL_KIND) < 4096:
                _LABEL_KIND[etype] = label_kind
        p = ev.payload
        if p.__class__ is dict:
            idx = p.get("output_index")
            if idx.__class__ is int:
                return label_kind[0], label_kind[1], idx
        return label_kind[0], label_kind[1], None

    def describe(self, ev) -> Description:
        if ev._shape[0] != "event":
            return describe_plain(ev)
        label, kind, key = self.classify(ev)
        return Description(label, kind, key, _summary(ev, 120))

    def parameter_rows(self, state) -> list[Row]:
        return echoed_parameters(state.response, _openai.PARAMS)

    def status_rows(self, state) -> list[Row]:
        return created_row(state.response.get("created_at"))

    def state_at(self, events, index: int, built):
        from .assemble import assemble_prefix

        return assemble_prefix(events[: index + 1], built)


def _summary(ev, limit: int) -> str:
    p = ev.payload
    if not isinstance(p, dict):
        return ev.data[:limit]
    shown = first_text(p, _TEXT_KEYS, limit)
    if shown is not None:
        return shown
    item = p.get("item")
    if isinstance(item, dict):
        return f"{item.get('type', '?')} {item.get('id', '')}".strip()[:limit]
    part = p.get("part")
    if isinstance(part, dict):
        return str(part.get("type", ""))[:limit]
    resp = p.get("response")
    if isinstance(resp, dict):
        return f"{resp.get('status', '')} {resp.get('model', '')}".strip()[:limit]
    err = p.get("error")
    if isinstance(err, dict):
        return str(err.get("message", ""))[:limit]
    if "message" in p:
        return str(p.get("message"))[:limit]
    if p.get("type"):
        return ""
    return ev.data[:limit]


PROTOCOL = Responses()
