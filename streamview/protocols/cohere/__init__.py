"""Cohere v2 chat (``POST /v2/chat`` with ``"stream": true``): ``message-start``, content blocks (``content-start``
/ ``-delta`` / ``-end``: text or thinking), the tool plan (``tool-plan-delta``), tool calls (``tool-call-start`` /
``-delta`` / ``-end``), citations (``citation-start`` / ``-end``), then ``message-end`` with the ``finish_reason``
and the usage. Each event has an ``event:`` line naming its data's ``type``; no end sentinel.

``live``: ``Authorization: Bearer`` with the key from ``$CO_API_KEY``, else ``$COHERE_API_KEY`` (the order the
``cohere`` SDK reads them in); the base is ``--base-url``, else ``$CO_API_URL`` (the SDK's variable), else
https://api.cohere.com, without the ``/v2`` the client adds (``cohere.ClientV2(base_url=...)`` takes it so)."""

from __future__ import annotations

import json
from typing import Any, Hashable, Mapping

from ..base import Description, LiveApi, LiveOptions, Protocol, Row, ServeRoute, quoted
from ..unknown import describe_plain
from .events import (CITATION, CONTENT, DEBUG, EVENTS, FAILED_REASONS, GOOD_REASONS,
                     MESSAGE_END, MESSAGE_START, TOOL_CALL, TOOL_PLAN, dig, end_error, kind_of)

KEY_ENV = ("CO_API_KEY", "COHERE_API_KEY")  # the cohere SDK's order: CO_API_KEY wins
BASE_ENV = "CO_API_URL"
DEFAULT_BASE = "https://api.cohere.com"
DEFAULT_MODEL = "command-a-03-2025"
PATH = "/v2/chat"
_LIMIT = 120


EFFORTS = ("minimal", "low", "medium", "high", "xhigh")  # the effort words --reasoning-effort takes besides none


def thinking(effort: str) -> dict[str, Any]:
    """The request's ``thinking`` for ``--reasoning-effort``: Cohere takes no effort level, only thinking on or off
    (and a ``token_budget``, which ``--body`` can give), so ``none`` turns it off and every other effort on, as
    OpenAI-compatible gateways map it. RequestError for a word that is no effort."""
    from ...live import RequestError

    word = effort.strip().lower()
    if word == "none":
        return {"type": "disabled"}
    if word in EFFORTS:
        return {"type": "enabled"}
    raise RequestError(f"--reasoning-effort {effort!r}: one of none, {', '.join(EFFORTS)} (Cohere's thinking is on or off; "
                       "pass --body '{\"thinking\": {\"type\": \"enabled\", \"token_budget\": 2048}}' for a budget)")


class CohereLive(LiveApi):
    """``POST {base}/v2/chat`` with ``Authorization: Bearer $CO_API_KEY``. The body: ``model``, ``messages`` (a system
    message from ``--instructions``, then the prompt as the user's), ``max_tokens`` (``--max-output-tokens``),
    ``thinking`` (``--reasoning-effort``), ``temperature``, then ``--body`` merged over it and ``"stream": true``."""

    default_model = DEFAULT_MODEL
    key_env = KEY_ENV
    base_env = BASE_ENV
    default_base = DEFAULT_BASE
    help = "POST {base}/v2/chat with $CO_API_KEY (or $COHERE_API_KEY)"

    def build(self, o: LiveOptions, env: Mapping[str, str]):
        from ...live import RequestError, make_request, merge_body

        messages: list[dict[str, Any]] = []
        if o.instructions is not None:
            messages.append({"role": "system", "content": o.instructions})
        messages.append({"role": "user", "content": o.prompt})
        payload: dict[str, Any] = {"model": o.model or self.default_model, "messages": messages}
        if o.max_output_tokens is not None:
            payload["max_tokens"] = o.max_output_tokens
        if o.reasoning_effort is not None:
            payload["thinking"] = thinking(o.reasoning_effort)
        merge_body(payload, o)
        headers = dict(o.headers)
        key = ""
        if "authorization" not in {k.lower() for k in headers}:
            key = next((env[name] for name in KEY_ENV if env.get(name)), "")
            if not key:
                raise RequestError(f"neither {' nor '.join(KEY_ENV)} is set: export one (or pass --header 'Authorization: Bearer ...')")
            headers["Authorization"] = f"Bearer {key}"
        base = (o.base_url or env.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")
        return make_request(f"{base}{PATH}", payload, headers, key)


class CohereServe(ServeRoute):
    """``POST /v2/chat``; errors as Cohere sends them (``{"message": ...}``, which the SDK's ``ApiError`` carries as
    its body); the base URL is the server's root, as ``cohere.ClientV2(base_url=...)`` takes it."""

    paths = (PATH,)
    upstream = "https://api.cohere.com"
    upstream_option = "cohere-upstream"
    base_env = "CO_API_URL"

    def error_body(self, message: str, status: int) -> dict:
        return {"message": message}


class Cohere(Protocol):
    name = "cohere"
    title = "Cohere Chat v2"
    rules = (
        "no-message-start", "message-start-repeated", "response-id-changed", "delta-before-start", "delta-after-end",
        "start-repeated", "delta-type-mismatch", "item-not-done", "tool-arguments-invalid", "no-message-end",
        "after-message-end", "finish-incomplete", "missing-field", "name-mismatch", "bad-sse", "bad-json",
        "unknown-event",
    )
    events = EVENTS
    vocabulary = ("cohere", "message-start", "content-delta", "tool-plan-delta", "tool-call-start", "citation-start",
                  "message-end", "tool_plan", "billed_units", "CO_API_KEY", "CO_API_URL")
    terminal_hint = "message-end"
    failed_what = "generation"
    usage_hint = "comes with message-end"
    headers = ("x-debug-trace-id", "x-endpoint-monthly-call-limit", "x-trial-endpoint-call-*")
    live = CohereLive()
    serve = CohereServe()

    def sniff(self, ev) -> float:
        if ev._shape[0] != "event":
            return 0.0
        p = ev.payload
        if p.__class__ is not dict:
            return 0.0
        ptype = p.get("type")
        if isinstance(ptype, str) and ptype in EVENTS:
            return 0.5 if ptype == DEBUG else 1.0  # "debug" alone is a word any stream might use
        if ptype is None and ev._shape[1] in EVENTS and ev._shape[1] != DEBUG:
            return 0.6  # named as a Cohere event, the data without its type
        return 0.0

    def assembler(self):
        from .assemble import CohereAssembler

        return CohereAssembler()

    def checker(self):
        from .check import CohereChecker

        return CohereChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        shape = ev._shape
        if shape[0] != "event":
            return describe_plain(ev)[:3]
        etype = shape[2]
        spec = EVENTS.get(etype)
        if spec is None:
            return etype, "unknown", None
        p = ev.payload
        key = None
        if spec.block is not None:
            family = spec.block[0]
            if family == TOOL_PLAN:
                key = (TOOL_PLAN,)
            else:
                idx = p.get("index") if p.__class__ is dict else None
                key = (family, idx) if idx.__class__ is int else None
        return etype, kind_of(etype, p), key

    def describe(self, ev) -> Description:
        if ev._shape[0] != "event":
            return describe_plain(ev)
        label, kind, key = self.classify(ev)
        p = ev.payload
        summary = _summary(label, p, _LIMIT) if p.__class__ is dict and label in EVENTS else describe_plain(ev).summary
        return Description(label, kind, key, summary[:_LIMIT])

    def status_rows(self, state) -> list[Row]:
        reason = state.response.get("finish_reason")
        rows: list[Row] = []
        if reason is None:
            rows.append(Row("finish", "- (comes with message-end)", "dim"))
        else:
            word = reason if isinstance(reason, str) else json.dumps(reason)
            style = "good" if word in GOOD_REASONS else "bad" if word in FAILED_REASONS else "warn"
            rows.append(Row("finish", word, style))
        role = state.response.get("role")
        if isinstance(role, str):
            rows.append(Row("role", role))
        billed = (state.usage or {}).get("billed_units")
        if isinstance(billed, dict):
            names = {"input_tokens": "in", "output_tokens": "out", "search_units": "search units", "classifications": "classifications"}
            bits = [f"{v} {names.get(k, k)}" for k, v in billed.items() if v is not None]
            rows.append(Row("billed", " / ".join(bits) if bits else "-"))
        citations = getattr(state, "citations", None)
        if citations:
            rows.append(Row("citations", len(citations)))
        logprobs = getattr(state, "logprobs", 0)
        if logprobs:
            rows.append(Row("logprobs", f"on {logprobs} deltas"))
        prompts = getattr(state, "debug_prompts", None)
        if prompts:
            rows.append(Row("debug", f"prompt of {prompts[-1]:,} characters" + (f" ({len(prompts)} debug events)" if len(prompts) > 1 else "")))
        return rows

    def parameter_rows(self, state) -> list[Row]:
        """None: a Cohere stream echoes no request parameter (not even the model)."""
        return []


def _summary(etype: str, p: dict, limit: int) -> str:
    """One event in a few words: the text or arguments it adds, the block or call it starts, how it ended."""
    if etype == MESSAGE_START:
        return " ".join(str(v) for v in (p.get("id"), dig(p, "delta", "message", "role")) if isinstance(v, str))[:limit]
    if etype == MESSAGE_END:
        delta = p.get("delta") if p.get("delta").__class__ is dict else {}
        bits = []
        if delta.get("finish_reason") is not None:
            bits.append(f"finish_reason={delta.get('finish_reason')}")
        failed = end_error(p)
        if failed is not None and isinstance(delta.get("error"), str):
            bits.append(f"error: {failed[1]}")
        tokens = dig(delta, "usage", "tokens")
        if tokens.__class__ is dict:
            bits.append(f"tokens in={tokens.get('input_tokens')} out={tokens.get('output_tokens')}")
        return " ".join(bits)[:limit]
    if etype == DEBUG:
        prompt = p.get("prompt")
        return f"prompt {len(prompt):,} characters" if isinstance(prompt, str) else ""
    family = EVENTS[etype].block[0]
    idx = p.get("index")
    at = f"[{idx}] " if idx.__class__ is int else ""
    message = dig(p, "delta", "message")
    if family == CONTENT:
        content = dig(message, "content")
        if content.__class__ is dict:
            if etype == "content-start":
                return f"{at}{content.get('type') or '?'}"[:limit]
            if isinstance(content.get("thinking"), str):
                return "[thinking] " + quoted(content["thinking"], limit)
            if isinstance(content.get("text"), str):
                return quoted(content["text"], limit)
        return at.strip()
    if family == TOOL_PLAN:
        plan = dig(message, "tool_plan")
        return quoted(plan, limit) if isinstance(plan, str) else ""
    if family == TOOL_CALL:
        call = dig(message, "tool_calls")
        fn = dig(call, "function")
        if etype == "tool-call-start" and call.__class__ is dict:
            name = fn.get("name") if fn.__class__ is dict else None
            return f"{at}{name or '?'} {call.get('id') or ''}".strip()[:limit]
        args = dig(fn, "arguments")
        return quoted(args, limit) if isinstance(args, str) else at.strip()
    if family == CITATION:
        c = dig(message, "citations")
        if c.__class__ is dict:
            from .assemble import source_label

            sources = c.get("sources")
            names = ", ".join(source_label(s) for s in sources[:3]) if sources.__class__ is list else ""
            text = quoted(c["text"], limit) if isinstance(c.get("text"), str) else ""
            return f"{at}{text} {c.get('start')}-{c.get('end')}" + (f" ← {names}" if names else "")
        return at.strip()
    return ""


PROTOCOL = Cohere()
__all__ = ["PROTOCOL", "Cohere", "CohereLive", "CohereServe", "thinking"]
