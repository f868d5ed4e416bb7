"""Google Gemini (``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``): data-only SSE, one
``GenerateContentResponse`` JSON object an event (``candidates[].content.parts``, ``usageMetadata``,
``modelVersion``, ``responseId``), CRLF line endings, no end sentinel: the stream ends after the chunk that carries
the last candidate's ``finishReason``. A blocked prompt is one chunk with ``promptFeedback.blockReason``; an error
mid-stream is ``{"error": {"code", "message", "status"}}``.

``live``: the key is sent as ``x-goog-api-key``, from ``$GOOGLE_API_KEY``, else ``$GEMINI_API_KEY`` (the order
google-genai reads them in, so streamview sends the key the user's own code would); the base is ``--base-url``, else
``$GOOGLE_GEMINI_BASE_URL`` (the variable google-genai reads), else https://generativelanguage.googleapis.com,
without the API version, as the SDK takes it (``http_options={"base_url": ...}``)."""

from __future__ import annotations

import json
import re
from typing import Any, Hashable, Mapping

from ..base import (DELTA, LIFECYCLE, TERMINAL, UNKNOWN, Description, LiveApi, LiveOptions, Protocol, Row, ServeRoute,
                    quoted)
from ..unknown import describe_plain
from .events import BLOCKED, CHUNK, ERROR_EVENT, EVENTS, block_reason, error_of, type_of

KEY_ENV = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # google-genai's order: GOOGLE_API_KEY wins
BASE_ENV = "GOOGLE_GEMINI_BASE_URL"
DEFAULT_BASE = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
DEFAULT_MODEL = "gemini-2.5-flash"
KEY_HEADER = "x-goog-api-key"
# --reasoning-effort for Gemini 2.x models (thinkingBudget, as Google's own compatibility endpoint maps the effort
# names); later models take the level itself (thinkingLevel)
BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
LEVELS = ("minimal", "low", "medium", "high")
# HTTP status -> the canonical status name Google's errors carry
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_ROUTE = re.compile(r"/v1(?:alpha|beta)?/(?:models|tunedModels)/[^/:?]+:streamGenerateContent")
_LIMIT = 120


class GeminiLive(LiveApi):
    """``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` with ``x-goog-api-key``. The body:
    ``contents`` (the prompt as one user turn), ``systemInstruction`` (``--instructions``), ``generationConfig``
    (``maxOutputTokens``, ``temperature``, ``thinkingConfig`` from ``--reasoning-effort``), then ``--body`` merged
    over it (its ``generationConfig`` merged into ours, field by field). No ``stream`` field: the URL streams (a
    ``"stream"`` in ``--body`` is dropped; Google rejects unknown fields)."""

    default_model = DEFAULT_MODEL
    key_env = KEY_ENV
    base_env = BASE_ENV
    default_base = DEFAULT_BASE
    help = "POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse with $GOOGLE_API_KEY or $GEMINI_API_KEY"

    def build(self, o: LiveOptions, env: Mapping[str, str]):
        from ...live import make_request

        model = o.model or self.default_model
        payload = self.payload(o, model)
        headers = dict(o.headers)
        given = {k.lower() for k in headers}
        key = ""
        if not given & {KEY_HEADER, "authorization"}:
            key = self.key(env)
            headers[KEY_HEADER] = key
        base = (o.base_url or env.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")
        path = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        return make_request(f"{base}/{API_VERSION}/{path}:streamGenerateContent?alt=sse", payload, headers, key)

    @staticmethod
    def key(env: Mapping[str, str]) -> str:
        from ...live import RequestError

        for name in KEY_ENV:
            value = env.get(name, "")
            if value:
                return value
        raise RequestError(f"neither {' nor '.join(KEY_ENV)} is set: export one (or pass --header '{KEY_HEADER}: ...')")

    def payload(self, o: LiveOptions, model: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": o.prompt}]}]}
        if o.instructions is not None:
            payload["systemInstruction"] = {"parts": [{"text": o.instructions}]}
        config: dict[str, Any] = {}
        if o.max_output_tokens is not None:
            config["maxOutputTokens"] = o.max_output_tokens
        if o.temperature is not None:
            config["temperature"] = o.temperature
        if o.reasoning_effort is not None:
            config["thinkingConfig"] = thinking_config(o.reasoning_effort, model)
        if config:
            payload["generationConfig"] = config
        body = dict(o.body or {})
        body.pop("stream", None)
        extra = body.get("generationConfig")
        if isinstance(extra, dict) and config:
            body["generationConfig"] = {**config, **extra}
        payload.update(body)
        return payload


def thinking_config(effort: str, model: str) -> dict[str, Any]:
    """``generationConfig.thinkingConfig`` for ``--reasoning-effort``, with the thoughts included (streamview shows
    them): a ``thinkingBudget`` for a Gemini 2.x model, a ``thinkingLevel`` for later ones (which cannot turn
    thinking off). RequestError for an effort neither takes."""
    from ...live import RequestError

    effort = effort.strip().lower()
    name = model.rsplit("/", 1)[-1]
    if name.startswith(("gemini-2", "gemini-1")):
        if effort not in BUDGETS:
            raise RequestError(f"--reasoning-effort {effort!r}: one of {', '.join(BUDGETS)} for {name}")
        budget = BUDGETS[effort]
        return {"thinkingBudget": budget, "includeThoughts": budget > 0}
    if effort not in LEVELS:
        raise RequestError(f"--reasoning-effort {effort!r}: one of {', '.join(LEVELS)} for {name} (thinkingLevel; pass --body for a thinkingBudget)")
    return {"thinkingLevel": effort, "includeThoughts": True}


class GeminiServe(ServeRoute):
    """``POST /v1beta/models/ANY:streamGenerateContent`` (with ``?alt=sse``, as the SDK asks; v1 and v1alpha too),
    errors in Google's shape; the base URL is the server's root, as google-genai's ``http_options`` takes it."""

    paths = (f"/{API_VERSION}/models/{{model}}:streamGenerateContent",)
    comments = False  # google-genai reads a line that is not ``data: `` as JSON and fails on a comment line
    upstream = DEFAULT_BASE
    upstream_option = "gemini-upstream"
    base_env = BASE_ENV

    def matches(self, path: str) -> bool:
        return _ROUTE.fullmatch(path.split("?", 1)[0]) is not None

    def describe_paths(self) -> str:
        return f"POST /{API_VERSION}/models/MODEL:streamGenerateContent[?alt=sse]"

    def error_body(self, message: str, status: int) -> dict:
        return {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "INVALID_ARGUMENT")}}

    def base_url(self, root: str) -> str:
        return root

    def model_of(self, path: str) -> str | None:
        return path.split("/models/", 1)[-1].split(":", 1)[0] if "/models/" in path else None


class Gemini(Protocol):
    name = "gemini"
    title = "Google Gemini"
    framing = "sse"
    rules = ("no-finish-reason", "after-finish", "after-error", "prompt-blocked", "response-id-changed",
             "model-changed", "malformed-field", "finish-not-stop", "safety-blocked", "bad-sse", "bad-json",
             "unknown-event")
    events = EVENTS
    vocabulary = ("gemini", "candidates", "usageMetadata", "finishReason", "modelVersion", "promptFeedback",
                  "streamGenerateContent", "GenerateContentResponse", "thoughtSignature", "responseId", "blockReason")
    terminal_hint = "a chunk with a finishReason"
    failed_what = "generation"
    usage_hint = "comes with every chunk (usageMetadata, cumulative)"
    headers = ("server-timing", "x-gemini-service-tier")
    live = GeminiLive()
    serve = GeminiServe()

    def sniff(self, ev) -> float:
        if ev._shape[0] != "event":
            return 0.0
        p = ev.payload
        if p.__class__ is not dict:
            return 0.0
        if p.get("candidates").__class__ is list or p.get("promptFeedback").__class__ is dict:
            return 1.0
        if p.get("usageMetadata").__class__ is dict and isinstance(p.get("modelVersion"), str):
            return 0.9
        err = p.get("error")
        if err.__class__ is dict and isinstance(err.get("status"), str) and "type" not in p:
            return 0.6  # Google's error shape ({"error": {"code", "message", "status"}}): surer than a bare error
        return 0.0

    def assembler(self):
        from .assemble import GeminiAssembler

        return GeminiAssembler()

    def checker(self):
        from .check import GeminiChecker

        return GeminiChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        if ev._shape[0] != "event":
            return describe_plain(ev)[:3]
        p = ev.payload
        etype = type_of(p)
        if etype is None:
            return ev._shape[2], UNKNOWN, None
        if etype != CHUNK:
            return etype, EVENTS[etype].kind, None
        candidates = p.get("candidates")
        cands = [c for c in candidates if c.__class__ is dict] if candidates.__class__ is list else []
        key = None
        if len(cands) == 1 and len(candidates) == 1:
            idx = cands[0].get("index")
            key = ("candidate", idx if idx.__class__ is int else 0)
        reasons = [c.get("finishReason") for c in cands]
        if cands and all(isinstance(r, str) and r for r in reasons):
            return f"chunk (finish {','.join(dict.fromkeys(reasons))})", TERMINAL, key
        if not cands and p.get("usageMetadata").__class__ is dict:
            return "chunk (usage)", LIFECYCLE, key
        return "chunk", (DELTA if any(_has_delta(c) for c in cands) else LIFECYCLE), key

    def describe(self, ev) -> Description:
        if ev._shape[0] != "event":
            return describe_plain(ev)
        label, kind, key = self.classify(ev)
        p = ev.payload
        etype = type_of(p)
        if etype == CHUNK:
            summary = chunk_summary(p, _LIMIT)
        elif etype == BLOCKED:
            fb = p.get("promptFeedback") or {}
            msg = fb.get("blockReasonMessage")
            summary = f"blockReason={block_reason(p)}" + (f": {msg}" if isinstance(msg, str) and msg else "")
        elif etype == ERROR_EVENT:
            err = error_of(p) or {}
            head = " ".join(str(err[k]) for k in ("code", "status") if err.get(k) is not None)
            summary = f"{head}: {err.get('message', '')}" if head else str(err.get("message", ""))
        else:
            summary = describe_plain(ev).summary
        return Description(label, kind, key, summary[:_LIMIT])

    def status_rows(self, state) -> list[Row]:
        rows: list[Row] = []
        cands = getattr(state, "candidates", {})
        reason = getattr(state, "block_reason", None)
        if reason is not None:
            msg = (getattr(state, "prompt_feedback", None) or {}).get("blockReasonMessage")
            rows.append(Row("prompt", f"blocked: {reason}" + (f" ({msg})" if isinstance(msg, str) and msg else ""), "bad"))
        if not cands and reason is None:
            rows.append(Row("finish", "- (comes with the last chunk)", "dim"))
        for k in sorted(cands):
            c = cands[k]
            label = "finish" if len(cands) == 1 else f"candidate {k}"
            if c.finish is None:
                rows.append(Row(label, "- (not yet)", "dim"))
            else:
                text = c.finish + (f": {c.finish_message}" if c.finish_message else "")
                rows.append(Row(label, text, "good" if c.finish == "STOP" else "warn"))
        for where, ratings in _ratings(state):
            for r in ratings:
                blocked = r.get("blocked") is True
                text = f"{r.get('category')} {r.get('probability')}" + (" (blocked)" if blocked else "")
                rows.append(Row(f"safety{where}", text, "bad" if blocked else "warn"))
        return rows

    def parameter_rows(self, state) -> list[Row]:
        """None: a Gemini stream echoes no request parameter (``modelVersion`` is the model row)."""
        return []


def _flagged(ratings: Any) -> list[dict]:
    """The safety ratings worth a row: blocked, or a MEDIUM or HIGH probability."""
    if ratings.__class__ is not list:
        return []
    return [r for r in ratings if r.__class__ is dict and (r.get("blocked") is True or r.get("probability") in ("MEDIUM", "HIGH"))]


def _ratings(state) -> list[tuple[str, list[dict]]]:
    out = []
    fb = getattr(state, "prompt_feedback", None)
    if isinstance(fb, dict) and _flagged(fb.get("safetyRatings")):
        out.append((" (prompt)", _flagged(fb["safetyRatings"])))
    cands = getattr(state, "candidates", {})
    for k in sorted(cands):
        flagged = _flagged(cands[k].safety_ratings)
        if flagged:
            out.append(("" if len(cands) == 1 else f" {k}", flagged))
    return out


def _parts(c: dict) -> list[dict]:
    content = c.get("content")
    parts = content.get("parts") if content.__class__ is dict else None
    return [pt for pt in parts if pt.__class__ is dict] if parts.__class__ is list else []


def _has_delta(c: dict) -> bool:
    """Whether a candidate of a chunk adds content: a non-empty text or thought, or any part that is not text."""
    for part in _parts(c):
        text = part.get("text")
        if text.__class__ is str:
            if text:
                return True
        elif any(k != "thoughtSignature" for k in part):
            return True
    return False


def part_summary(part: dict, limit: int) -> str:
    """One part in a few words: its text quoted, ``[thought] "..."``, a call's name and args, code, a result."""
    text = part.get("text")
    if text.__class__ is str:
        shown = quoted(text, limit)
        return f"[thought] {shown}" if part.get("thought") is True else shown
    call = part.get("functionCall")
    if call.__class__ is dict:
        return f"{call.get('name')} {json.dumps(call.get('args'), ensure_ascii=False)}"[:limit]
    code = part.get("executableCode")
    if code.__class__ is dict:
        return f"code {code.get('language') or ''} {quoted(code.get('code') or '', limit)}"
    result = part.get("codeExecutionResult")
    if result.__class__ is dict:
        return f"result {result.get('outcome') or ''} {quoted(result.get('output') or '', limit)}"
    data = part.get("inlineData")
    if data.__class__ is dict:
        from .assemble import base64_size

        raw = data.get("data")
        size = f"{base64_size(raw):,} bytes" if isinstance(raw, str) else "no data"
        return f"inlineData {data.get('mimeType') or '?'} {size}"
    if isinstance(part.get("thoughtSignature"), str) and len(part) == 1:
        return "thoughtSignature"
    return "part " + ",".join(sorted(k for k in part if k != "thoughtSignature"))


def chunk_summary(p: dict, limit: int) -> str:
    """Each candidate's parts (``[N]`` before each when there are several or the index is not 0), its
    finishReason; or, when there is none of that, the usage counts."""
    bits = []
    candidates = p.get("candidates")
    cands = [c for c in candidates if c.__class__ is dict] if candidates.__class__ is list else []
    for c in cands:
        shown = [part_summary(pt, limit) for pt in _parts(c)]
        if isinstance(c.get("finishReason"), str):
            shown.append(f"finishReason={c['finishReason']}")
        if not shown:
            continue
        idx = c.get("index")
        text = " ".join(shown)
        bits.append(text if len(cands) == 1 and not idx else f"[{idx if idx.__class__ is int else '?'}] {text}")
    u = p.get("usageMetadata")
    if not bits and u.__class__ is dict:
        counts = [f"{name}={u[key]}" for key, name in (("promptTokenCount", "prompt"), ("candidatesTokenCount", "candidates"),
                                                       ("thoughtsTokenCount", "thoughts"), ("totalTokenCount", "total")) if key in u]
        bits.append("usage " + " ".join(counts))
    if not bits and p.get("modelVersion"):
        bits.append(str(p.get("modelVersion")))
    return " ".join(bits)[:limit]


PROTOCOL = Gemini()
__all__ = ["PROTOCOL", "Gemini", "GeminiLive", "GeminiServe", "chunk_summary", "thinking_config"]
