"""Anthropic Messages (``POST /v1/messages`` with ``"stream": true``): ``message_start``, then per content block
``content_block_start`` / ``content_block_delta`` / ``content_block_stop``, then ``message_delta`` and
``message_stop``; ``ping`` keep-alives anywhere; an ``error`` event ends it early."""

from __future__ import annotations

import json
from typing import Any, Hashable, Mapping

from ..base import (Description, LiveApi, LiveOptions, Protocol, Row, ServeRoute, echoed_parameters, first_text)
from ..unknown import describe_plain
from .events import EVENTS

_TEXT_KEYS = ("text", "partial_json", "thinking", "content")  # content: a compaction_delta's summary
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_BASE = "https://api.anthropic.com"
VERSION = "2023-06-01"
MAX_TOKENS = 1024  # the API requires max_tokens
GOOD_STOPS = ("end_turn", "stop_sequence", "tool_use")


class AnthropicLive(LiveApi):
    """``POST {base}/v1/messages`` with ``x-api-key: $ANTHROPIC_API_KEY`` and ``anthropic-version``; the base is
    ``--base-url``, ``$ANTHROPIC_BASE_URL`` or https://api.anthropic.com (without ``/v1``, as the SDK takes it)."""

    default_model = "claude-sonnet-4-5"
    key_env = (KEY_ENV,)
    base_env = BASE_ENV
    default_base = DEFAULT_BASE
    help = "POST {base}/v1/messages with $ANTHROPIC_API_KEY"

    def build(self, o: LiveOptions, env: Mapping[str, str]):
        from ...live import RequestError, make_request, merge_body

        if o.reasoning_effort is not None:
            raise RequestError("--reasoning-effort is not an Anthropic parameter: pass --body '{\"thinking\": {\"type\": \"enabled\", \"budget_tokens\": 2048}}'")
        payload: dict[str, Any] = {"model": o.model or self.default_model}
        payload["max_tokens"] = o.max_output_tokens if o.max_output_tokens is not None else MAX_TOKENS
        if o.instructions is not None:
            payload["system"] = o.instructions
        payload["messages"] = [{"role": "user", "content": o.prompt}]
        merge_body(payload, o)
        headers = dict(o.headers)
        given = {k.lower() for k in headers}
        base = (o.base_url or env.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")
        key = env.get(KEY_ENV, "")
        if not given & {"x-api-key", "authorization"}:
            if not key:
                raise RequestError(f"{KEY_ENV} is not set: export it (or pass --header 'x-api-key: ...')")
            headers["x-api-key"] = key
        if "anthropic-version" not in given:
            headers["anthropic-version"] = VERSION
        return make_request(f"{base}/v1/messages", payload, headers, key)


class AnthropicServe(ServeRoute):
    paths = ("/v1/messages",)
    request_id_header = "request-id"
    upstream = "https://api.anthropic.com"
    upstream_option = "anthropic-upstream"
    base_env = "ANTHROPIC_BASE_URL"  # the SDK adds /v1 itself

    def matches(self, path: str) -> bool:
        return path == "/v1/messages" or path.startswith("/v1/messages/")  # and count_tokens, batches

    def error_body(self, message: str, status: int) -> dict:
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        return {"type": "error", "error": {"type": kind, "message": message}}


class Anthropic(Protocol):
    name = "anthropic"
    title = "Anthropic Messages"
    rules = (
        "no-message-start", "message-start-repeated", "delta-before-start", "delta-after-stop", "block-not-stopped",
        "no-message-stop", "after-message-stop", "delta-type-mismatch", "index-out-of-order", "tool-input-invalid",
        "name-mismatch", "missing-field", "bad-sse", "bad-json", "unknown-event",
    )
    events = EVENTS
    vocabulary = ("anthropic", "message_start", "content_block", "message_delta", "message_stop", "input_json_delta",
                  "citations_delta", "signature_delta", "thinking_delta")
    terminal_hint = "message_stop or an error event"
    failed_what = "message"
    usage_hint = "comes with message_start"
    headers = ("anthropic-ratelimit-*",)
    live = AnthropicLive()
    serve = AnthropicServe()

    def sniff(self, ev) -> float:
        shape = ev._shape
        if shape[0] != "event" or shape[2] == "error":  # an error event of this shape is not this protocol's alone
            return 0.0
        return 1.0 if shape[2] in EVENTS and ev.payload.__class__ is dict else 0.0

    def assembler(self):
        from .assemble import AnthropicAssembler

        return AnthropicAssembler()

    def checker(self):
        from .check import AnthropicChecker

        return AnthropicChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        shape = ev._shape
        if shape[0] != "event":
            return describe_plain(ev)[:3]
        etype = shape[2]
        spec = EVENTS.get(etype)
        key = None
        if spec is not None and spec.block is not None:
            p = ev.payload
            idx = p.get("index") if p.__class__ is dict else None
            key = ("block", idx) if idx.__class__ is int else None
        return etype, (spec.kind if spec is not None else "unknown"), key

    def describe(self, ev) -> Description:
        if ev._shape[0] != "event":
            return describe_plain(ev)
        label, kind, key = self.classify(ev)
        return Description(label, kind, key, _summary(ev, 120))

    def status_rows(self, state) -> list[Row]:
        reason = state.response.get("stop_reason")
        if reason is None:
            rows = [Row("stop", "- (comes with message_delta)", "dim")]
        else:
            stop_sequence = state.response.get("stop_sequence")
            text = reason if isinstance(reason, str) else json.dumps(reason)
            if stop_sequence is not None:
                text = f"{text} {json.dumps(stop_sequence, ensure_ascii=False)}"
            rows = [Row("stop", text, "good" if reason in GOOD_STOPS else "warn")]
        return rows + container_rows(state.response.get("container"))

    def parameter_rows(self, state) -> list[Row]:
        return echoed_parameters(state.response, {})


def container_rows(container: Any) -> list[Row]:
    """The code execution container the message ran in (message_delta's ``container``): its id and expiry."""
    if not isinstance(container, dict):
        return []
    cid = container.get("id")
    text = cid if isinstance(cid, str) and cid else "?"
    if container.get("expires_at"):
        text += f" (expires {container['expires_at']})"
    skills = container.get("skills")
    if isinstance(skills, list) and skills:
        names = [str(k.get("skill_id") or k.get("type")) if isinstance(k, dict) else str(k) for k in skills]
        text += f", skills: {', '.join(names)}"
    return [Row("container", text)]


def _summary(ev, limit: int) -> str:
    p = ev.payload
    if not isinstance(p, dict):
        return ev.data[:limit]
    delta = p.get("delta")
    if isinstance(delta, dict):
        shown = first_text(delta, _TEXT_KEYS, limit)
        if shown is not None:
            return shown
        if delta.get("stop_reason"):
            return f"stop_reason={delta.get('stop_reason')}"[:limit]
        if delta.get("type") == "signature_delta":
            return "signature"
        if delta.get("type") == "citations_delta":
            from .blocks import citation

            found = citation(delta.get("citation"))
            return f"citation: {found.source}"[:limit] if found is not None else "citation"
    block = p.get("content_block")
    if isinstance(block, dict):
        return f"{block.get('type', '?')} {block.get('name') or block.get('id') or ''}".strip()[:limit]
    message = p.get("message")
    if isinstance(message, dict):
        return f"{message.get('model', '')} {message.get('id', '')}".strip()[:limit]
    err = p.get("error")
    if isinstance(err, dict):
        return str(err.get("message", ""))[:limit]
    if "message" in p:
        return str(p.get("message"))[:limit]
    return ""


PROTOCOL = Anthropic()
