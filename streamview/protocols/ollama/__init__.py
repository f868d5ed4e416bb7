"""Ollama's native API (``POST /api/chat``, ``POST /api/generate``): NDJSON, one ``ChatResponse`` (``{"model",
"created_at", "message": {"role", "content", "thinking"?, "tool_calls"?}, "done": false}``) or ``GenerateResponse``
(``response``, ``thinking``) object a line; the last line has ``"done": true`` with ``done_reason`` and the metrics
(durations in nanoseconds, token counts; generate's ``context`` token ids). An error is a line ``{"error": "..."}``,
mid-stream, or the whole body of an HTTP error.

``live``: ``POST {base}/api/chat``, the base from ``--base-url``, else ``$OLLAMA_HOST`` read as the ollama SDK reads
it (a scheme or a port may be missing: ``localhost``, ``:11435``, ``example.com:8080/prefix``), else
http://127.0.0.1:11434. No key is needed; ``$OLLAMA_API_KEY``, when set, is sent as a bearer token, as the SDK
sends it (ollama.com's hosted API takes one)."""

from __future__ import annotations

import json
from typing import Any, Hashable, Mapping

from ..base import (DELTA, LIFECYCLE, TERMINAL, UNKNOWN, Description, LiveApi, LiveOptions, Protocol, Row, ServeRoute,
                    quoted)
from ..unknown import describe_plain
from .events import CHAT, DONE_TYPES, ERROR_LINE, EVENTS, type_of

DEFAULT_MODEL = "llama3.2"
HOST_ENV = "OLLAMA_HOST"
KEY_ENV = "OLLAMA_API_KEY"
DEFAULT_PORT = 11434
DEFAULT_BASE = f"http://127.0.0.1:{DEFAULT_PORT}"
CHAT_PATH, GENERATE_PATH = "/api/chat", "/api/generate"
# --reasoning-effort -> "think": off, or the level (Ollama takes true/false, or "low", "medium", "high")
THINK = {"none": False, "low": "low", "medium": "medium", "high": "high"}
_LIMIT = 120


def parse_host(host: str | None) -> str:
    """The base URL for ``$OLLAMA_HOST`` (or ``--base-url``), by the ollama SDK's rules (its ``_parse_host``): no
    value is http://127.0.0.1:11434; a missing scheme is http; a missing port is 11434 (80 or 443 when the scheme is
    given); a missing host is 127.0.0.1; a path is kept without its slashes at the ends; an IPv6 address keeps its
    brackets."""
    import ipaddress
    from urllib.parse import urlsplit

    host, port = host or "", DEFAULT_PORT
    scheme, _, hostport = host.partition("://")
    if not hostport:
        scheme, hostport = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urlsplit(f"{scheme}://{hostport}")
    name = split.hostname or "127.0.0.1"
    try:
        port = split.port or port
    except ValueError:
        from ...live import RequestError

        raise RequestError(f"${HOST_ENV} or --base-url {host!r}: the port is not a number from 0 to 65535") from None
    try:
        if ipaddress.ip_address(name).version == 6:
            name = f"[{name}]"
    except ValueError:
        pass
    path = split.path.strip("/")
    return f"{scheme}://{name}:{port}/{path}" if path else f"{scheme}://{name}:{port}"


class OllamaLive(LiveApi):
    """``POST {base}/api/chat`` with ``{"model", "messages": [system?, user], "stream": true, "options":
    {"num_predict", "temperature"}, "think"}``, then ``--body`` merged over it (its ``options`` merged into ours,
    field by field; ``stream`` stays true)."""

    default_model = DEFAULT_MODEL
    key_env = ()  # no key needed (``$OLLAMA_API_KEY`` is sent when it is set)
    base_env = HOST_ENV
    default_base = DEFAULT_BASE
    help = f"POST {{base}}/api/chat (NDJSON), no key needed (${KEY_ENV} sent when set)"

    def build(self, o: LiveOptions, env: Mapping[str, str]):
        from ...live import make_request

        payload = self.payload(o)
        headers = dict(o.headers)
        key = ""
        if "authorization" not in {k.lower() for k in headers}:
            key = env.get(KEY_ENV, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
        base = parse_host(o.base_url or env.get(HOST_ENV))
        return make_request(f"{base}{CHAT_PATH}", payload, headers, key, framing=PROTOCOL.framing)

    def payload(self, o: LiveOptions) -> dict[str, Any]:
        system = [{"role": "system", "content": o.instructions}] if o.instructions is not None else []
        payload: dict[str, Any] = {"model": o.model or self.default_model,
                                   "messages": system + [{"role": "user", "content": o.prompt}]}
        options: dict[str, Any] = {}
        if o.max_output_tokens is not None:
            options["num_predict"] = o.max_output_tokens
        if o.temperature is not None:
            options["temperature"] = o.temperature
        if options:
            payload["options"] = options
        if o.reasoning_effort is not None:
            payload["think"] = think(o.reasoning_effort)
        body = dict(o.body or {})
        extra = body.get("options")
        if isinstance(extra, dict) and options:
            body["options"] = {**options, **extra}
        payload.update(body)
        payload["stream"] = True
        return payload


def think(effort: str) -> bool | str:
    """``think`` for ``--reasoning-effort``: false for ``none``, else the level. RequestError for one Ollama lacks."""
    from ...live import RequestError

    effort = effort.strip().lower()
    if effort not in THINK:
        raise RequestError(f"--reasoning-effort {effort!r}: one of {', '.join(THINK)} for Ollama's think "
                           "(or --body '{\"think\": true}')")
    return THINK[effort]


class OllamaServe(ServeRoute):
    """``POST /api/chat`` and ``POST /api/generate``, answered with ``application/x-ndjson`` lines; errors in
    Ollama's shape, ``{"error": "..."}``; the base URL is the server's root, as ``ollama.Client(host=...)`` takes it."""

    paths = (CHAT_PATH, GENERATE_PATH)
    upstream = "http://127.0.0.1:11434"
    upstream_option = "ollama-upstream"
    base_env = "OLLAMA_HOST"
    comments = False  # the SDK reads every line as JSON: a comment line would fail it

    def describe_paths(self) -> str:
        return f"POST {CHAT_PATH} or {GENERATE_PATH}"

    def error_body(self, message: str, status: int) -> dict:
        return {"error": message}

    def base_url(self, root: str) -> str:
        return root


class Ollama(Protocol):
    name = "ollama"
    title = "Ollama"
    framing = "ndjson"
    rules = ("no-done", "error-line", "after-done", "after-error", "malformed-field", "bad-json", "bad-line",
             "unknown-shape", "model-changed", "mixed-shapes", "done-not-stop")
    events = EVENTS
    vocabulary = ("ollama", "done_reason", "eval_count", "prompt_eval_count", "eval_duration", "load_duration",
                  "/api/chat", "/api/generate", "num_predict", "OLLAMA_HOST", "ChatResponse", "GenerateResponse")
    terminal_hint = 'a line with "done": true'
    failed_what = "stream"
    usage_hint = "comes with the done line (prompt_eval_count, eval_count)"
    live = OllamaLive()
    serve = OllamaServe()

    def sniff(self, ev) -> float:
        if ev._shape[0] != "event":
            return 0.0
        p = ev.payload
        if p.__class__ is not dict:
            return 0.0
        body = p.get("message").__class__ is dict or isinstance(p.get("response"), str)
        if body and isinstance(p.get("done"), bool) and isinstance(p.get("model"), str):
            return 1.0 if isinstance(p.get("created_at"), str) else 0.9
        if len(p) == 1 and isinstance(p.get("error"), str):
            # Ollama's error line: below an OpenAI-compatible server's error chunk when every protocol is asked (an
            # SSE stream's); when the stream is known to be NDJSON, only NDJSON protocols are asked
            return 0.4
        return 0.0

    def assembler(self):
        from .assemble import OllamaAssembler

        return OllamaAssembler()

    def checker(self):
        from .check import OllamaChecker

        return OllamaChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        if ev._shape[0] != "event":
            return describe_plain(ev)[:3]
        p = ev.payload
        etype = type_of(p)
        if etype is None:
            return ev._shape[2], UNKNOWN, None
        if etype == ERROR_LINE:
            return etype, EVENTS[etype].kind, None
        adds = _adds(p)
        key = adds[0] if adds else None
        if etype in DONE_TYPES:
            reason = p.get("done_reason")
            label = f"{etype} ({reason})" if isinstance(reason, str) and reason else etype
            return label, TERMINAL, key
        return etype, (DELTA if adds else LIFECYCLE), key

    def describe(self, ev) -> Description:
        if ev._shape[0] != "event":
            return describe_plain(ev)
        label, kind, key = self.classify(ev)
        p = ev.payload
        etype = type_of(p)
        if etype == ERROR_LINE:
            err = p.get("error")
            summary = err if isinstance(err, str) else json.dumps(err, ensure_ascii=False)
        elif etype is None:
            summary = describe_plain(ev).summary
        else:
            summary = line_summary(p, _LIMIT)
        return Description(label, kind, key, summary[:_LIMIT])

    def status_rows(self, state) -> list[Row]:
        rows: list[Row] = []
        endpoint = getattr(state, "endpoint", None)
        if endpoint is not None:
            rows.append(Row("endpoint", CHAT_PATH if endpoint == CHAT else GENERATE_PATH))
        created = state.response.get("created_at")
        if created:
            rows.append(Row("created", created))
        reason = getattr(state, "done_reason", None)
        if getattr(state, "done_event", None) is None:
            rows.append(Row("done", "- (comes with the last line)", "dim"))
        else:
            rows.append(Row("done", f"true, done_reason {reason}" if reason else "true", "good" if reason in (None, "stop") else "warn"))
        m = getattr(state, "metrics", {}) or {}
        for key, label in (("total_duration", "total time"), ("load_duration", "load time")):
            if isinstance(m.get(key), int):
                rows.append(Row(label, duration_text(m[key])))
        for count, dur, label in (("prompt_eval_count", "prompt_eval_duration", "prompt eval"),
                                  ("eval_count", "eval_duration", "eval")):
            if isinstance(m.get(count), int) or isinstance(m.get(dur), int):
                rows.append(Row(label, eval_text(m.get(count), m.get(dur))))
        context = getattr(state, "context_tokens", None)
        if context is not None:
            rows.append(Row("context", f"{context:,} token ids (not shown)"))
        logprobs = getattr(state, "logprobs", 0)
        if logprobs:
            rows.append(Row("logprobs", f"{logprobs:,} tokens"))
        images = getattr(state, "images", 0)
        if images:
            rows.append(Row("images", images))
        progress = getattr(state, "progress", None)
        if progress is not None:
            rows.append(Row("steps", f"{progress[0]}/{progress[1]}"))
        for key, value in (getattr(state, "remote", {}) or {}).items():
            rows.append(Row(key.replace("_", " "), value))
        return rows

    def parameter_rows(self, state) -> list[Row]:
        """None: an Ollama stream echoes no request parameter (the model is the model row)."""
        return []


def duration_text(ns: int) -> str:
    """Nanoseconds as a time: ``1.23 s``, ``130 ms``, ``4.2 ms``, ``850 µs``."""
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f} s"
    if ns >= 100_000_000:
        return f"{ns / 1e6:.0f} ms"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.0f} µs"


def eval_text(count: Any, ns: Any) -> str:
    """``259 tokens in 4.23 s (61.2 tokens/s)``: a count, its duration and the rate, as far as they are known."""
    bits = []
    if isinstance(count, int):
        bits.append(f"{count:,} token{'s' if count != 1 else ''}")
    if isinstance(ns, int):
        bits.append(("in " if bits else "") + duration_text(ns))
        if isinstance(count, int) and ns > 0:
            bits.append(f"({count / (ns / 1e9):,.1f} tokens/s)")
    return " ".join(bits)


def _adds(p: dict) -> list[str]:
    """What a chat or generate line adds: its non-empty ``thinking``, ``content`` and tool calls, as item keys."""
    m = p.get("message")
    src = m if m.__class__ is dict else p
    out = []
    if isinstance(src.get("thinking"), str) and src["thinking"]:
        out.append("thinking")
    text = src.get("content") if m.__class__ is dict else p.get("response")
    if isinstance(text, str) and text:
        out.append("content")
    if m.__class__ is dict and m.get("tool_calls").__class__ is list and m["tool_calls"]:
        out.append("tool_calls")
    if m.__class__ is not dict and isinstance(p.get("image"), str) and p["image"]:
        out.append("image")
    return out


def line_summary(p: dict, limit: int) -> str:
    """A chat or generate line in a few words: its thinking, its text (quoted), its tool calls (name and
    arguments); a done line's reason and counts."""
    bits = []
    m = p.get("message")
    src = m if m.__class__ is dict else p
    thinking = src.get("thinking")
    if isinstance(thinking, str) and thinking:
        bits.append(f"[thinking] {quoted(thinking, limit)}")
    text = src.get("content") if m.__class__ is dict else p.get("response")
    if isinstance(text, str) and text:
        bits.append(quoted(text, limit))
    if m.__class__ is dict:
        calls = m.get("tool_calls")
        for call in calls if calls.__class__ is list else []:
            fn = call.get("function") if call.__class__ is dict else None
            if fn.__class__ is dict:
                bits.append(f"{fn.get('name')} {json.dumps(fn.get('arguments'), ensure_ascii=False)}")
        images = m.get("images")
        if images.__class__ is list and images:
            bits.append(f"{len(images)} image(s)")
    else:
        image = p.get("image")
        if isinstance(image, str) and image:
            bits.append(f"image ({len(image):,} base64 characters)")
        if isinstance(p.get("completed"), int) and isinstance(p.get("total"), int):
            bits.append(f"step {p['completed']}/{p['total']}")
        context = p.get("context")
        if context.__class__ is list:
            bits.append(f"context {len(context):,} token ids")
    if not bits and isinstance(text, str):
        bits.append(quoted(text, limit))  # an empty piece: shown as such
    if p.get("done") is True:
        reason = p.get("done_reason")
        if isinstance(reason, str):
            bits.append(f"done_reason={reason}")
        counts = [p.get("prompt_eval_count"), p.get("eval_count")]
        if any(isinstance(c, int) for c in counts):
            bits.append(f"{counts[0] if isinstance(counts[0], int) else 0} in / {counts[1] if isinstance(counts[1], int) else 0} out")
        if isinstance(p.get("total_duration"), int):
            bits.append(duration_text(p["total_duration"]))
    return " ".join(bits)[:limit]


PROTOCOL = Ollama()
__all__ = ["PROTOCOL", "Ollama", "OllamaLive", "OllamaServe", "duration_text", "eval_text", "line_summary",
           "parse_host", "think"]
