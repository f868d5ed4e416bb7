"""Legacy Completions (``POST /v1/completions`` with ``"stream": true``, as OpenAI still serves it for
``gpt-3.5-turbo-instruct`` and vLLM, llama.cpp and other OpenAI-compatible servers serve it for every model):
data-only SSE, one ``text_completion`` object an event (``choices[].text``, ``logprobs`` in the legacy shape,
``finish_reason``), ending with ``data: [DONE]``; with ``stream_options.include_usage`` a last chunk with
``choices: []`` and the usage.

``live``: ``POST {base}/completions`` with ``{"model", "prompt", "max_tokens", "stream": true, "stream_options":
{"include_usage": true}}`` (``--temperature`` and ``--body`` merged as for the other OpenAI APIs), the key and base
as the openai SDK reads them (``$OPENAI_API_KEY``, ``$OPENAI_BASE_URL`` or https://api.openai.com/v1). ``max_tokens``
is ``--max-output-tokens``, else 1024 (the API's own default, 16, cuts nearly every answer). A Completions request
is one prompt: it has no system message, so ``--instructions`` is refused with a one-line error (put them in the
prompt, or use ``--api chat``) rather than silently glued to the prompt; ``--reasoning-effort`` is refused too."""

from __future__ import annotations

import json
from typing import Any, Hashable

from .. import _openai
from ..base import DELTA, ERROR, LIFECYCLE, TERMINAL, UNKNOWN, Description, LiveOptions, Protocol, Row, echoed_parameters, quoted
from ..unknown import describe_plain
from .events import CHUNK_OBJECT, DONE, ERROR_EVENT, EVENTS, error_of, event_type, has_delta_field

DEFAULT_MODEL = "gpt-3.5-turbo-instruct"
MAX_TOKENS = 1024  # max_tokens unless --max-output-tokens (the API's default is 16)
_LIMIT = 120


class CompletionsLive(_openai.OpenAILive):
    default_model = DEFAULT_MODEL
    help = "POST {base}/completions with $OPENAI_API_KEY"
    path = "/completions"

    def payload(self, o: LiveOptions) -> dict[str, Any]:
        from ...live import RequestError

        if o.instructions is not None:
            raise RequestError("--instructions has no place in a Completions request (one prompt, no system message): "
                               "put them in the prompt, or use --api chat")
        if o.reasoning_effort is not None:
            raise RequestError("--reasoning-effort is not a Completions parameter: use --api chat or --api responses")
        return {"model": o.model or self.default_model, "prompt": o.prompt,
                "max_tokens": o.max_output_tokens if o.max_output_tokens is not None else MAX_TOKENS}

    def finish_payload(self, payload: dict[str, Any]) -> None:
        options = payload.get("stream_options")
        payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}


class Completions(Protocol):
    name = "completions"
    title = "Legacy Completions"
    rules = ("after-done", "no-done", "after-error", "after-finish", "mixed-ids", "no-finish-reason",
             "malformed-field", "bad-sse", "bad-json", "unknown-event")
    events = EVENTS
    vocabulary = ("completions", "text_completion", "token_logprobs", "text_offset", "cmpl-", "best_of",
                  "completions_usage")
    sentinels = (DONE,)
    terminal_hint = "data: [DONE] or an error"
    failed_what = "stream"
    usage_hint = "only with stream_options.include_usage, in the last chunk"
    headers = _openai.HEADERS
    live = CompletionsLive()
    serve = _openai.OpenAIServe("/v1/completions", "/completions")

    def sniff(self, ev) -> float:
        """1 for a ``text_completion`` object (Chat Completions rates a llama.cpp ``chatcmpl`` id below that); for a
        chunk without ``object``: ``choices[0].text`` and no ``delta`` anywhere, 1 with a ``cmpl-`` id, else 0.9.
        An error object, ``[DONE]`` and a chunk with no choice say nothing of their own: Chat Completions takes
        those (``live --api completions`` skips the sniffing)."""
        if ev._shape[0] != "event":
            return 0.0
        p = ev.payload
        if p.__class__ is not dict:
            return 0.0
        obj = p.get("object")
        if obj == CHUNK_OBJECT:
            return 1.0
        choices = p.get("choices")
        if (obj is None or obj == "") and choices.__class__ is list and choices and not has_delta_field(choices):
            first = choices[0]
            if first.__class__ is dict and isinstance(first.get("text"), str):
                cid = p.get("id")
                return 1.0 if isinstance(cid, str) and cid.startswith("cmpl-") else 0.9
        return 0.0

    def assembler(self):
        from .assemble import CompletionsAssembler

        return CompletionsAssembler()

    def checker(self):
        from .check import CompletionsChecker

        return CompletionsChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        etype = event_type(ev)
        if etype is None:
            if ev._shape[0] != "event":
                return describe_plain(ev)[:3]
            p = ev.payload
            obj = p.get("object") if p.__class__ is dict else None
            return (obj if isinstance(obj, str) and obj else ev._shape[2]), UNKNOWN, None
        if etype == DONE:
            return DONE, TERMINAL, None
        if etype == ERROR_EVENT:
            return ERROR_EVENT, ERROR, None
        p = ev.payload
        choices = p.get("choices")
        label = "chunk (usage)" if not choices and p.get("usage").__class__ is dict else "chunk"
        key = None
        if choices.__class__ is list and len(choices) == 1 and choices[0].__class__ is dict:
            idx = choices[0].get("index")
            key = ("choice", idx if idx.__class__ is int else 0)
        return label, (DELTA if has_text(choices) else LIFECYCLE), key

    def describe(self, ev) -> Description:
        label, kind, key = self.classify(ev)
        p = ev.payload
        if kind in (DELTA, LIFECYCLE) and p.__class__ is dict:
            summary = chunk_summary(p, _LIMIT)
        elif kind == ERROR and p.__class__ is dict:
            err = error_of(p) or {}
            head = str(err.get("code") or err.get("type") or "")
            message = str(err.get("message", ""))
            summary = f"{head}: {message}" if head else message
        else:
            summary = describe_plain(ev).summary
        return Description(label, kind, key, summary[:_LIMIT])

    def status_rows(self, state) -> list[Row]:
        rows: list[Row] = []
        choices = getattr(state, "choices", {})
        for k in sorted(choices):
            choice = choices[k]
            reason = choice.finish_reason
            label = "finish" if len(choices) == 1 else f"choice {k}"
            stop = choice.item.data.get("stop_reason")
            text = (reason or "- (not yet)") + (f" (stop_reason {json.dumps(stop, ensure_ascii=False)})" if stop is not None else "")
            rows.append(Row(label, text, "good" if reason == "stop" else "warn" if reason else "dim"))
            if choice.logprobs is not None:
                rows.append(Row("logprobs" if len(choices) == 1 else f"  logprobs {k}", logprobs_text(choice.logprobs.summary())))
        return rows

    def parameter_rows(self, state) -> list[Row]:
        return echoed_parameters(state.response, _openai.PARAMS)


def logprobs_text(summary: dict) -> str:
    """A choice's logprobs in a row, as Chat Completions words its own: ``7 tokens, mean -0.162, lowest " Paris"
    -0.9``."""
    bits = [f"{summary.get('tokens', 0)} tokens"]
    mean = summary.get("mean_logprob")
    if mean is not None:
        bits.append(f"mean {mean:.3f}")
    low = summary.get("lowest")
    if low:
        bits.append(f"lowest {json.dumps(low.get('token'), ensure_ascii=False)} {low.get('logprob')}")
    return ", ".join(bits)


def has_text(choices: Any) -> bool:
    """Whether a chunk's choices carry a piece of text."""
    if choices.__class__ is not list:
        return False
    for c in choices:
        if c.__class__ is dict:
            text = c.get("text")
            if text.__class__ is str and text:
                return True
    return False


def chunk_summary(p: dict, limit: int) -> str:
    """Each choice's text (quoted) and its finish_reason, ``[N]`` before each when there are several or the index is
    not 0; or, when there is none of that, the usage."""
    bits = []
    choices = p.get("choices")
    choices = [c for c in choices if c.__class__ is dict] if choices.__class__ is list else []
    for c in choices:
        shown = []
        text = c.get("text")
        if isinstance(text, str):
            shown.append(quoted(text, limit))
        reason = c.get("finish_reason")
        if isinstance(reason, str) and reason:
            shown.append(f"finish_reason={reason}")
        if not shown:
            continue
        idx = c.get("index")
        joined = " ".join(shown)
        bits.append(joined if len(choices) == 1 and not idx else f"[{idx if idx.__class__ is int else '?'}] {joined}")
    u = p.get("usage")
    if not bits and u.__class__ is dict:
        bits.append(f"usage {u.get('prompt_tokens')}/{u.get('completion_tokens')}/{u.get('total_tokens')}")
    return " ".join(bits)[:limit]


PROTOCOL = Completions()
__all__ = ["PROTOCOL", "Completions", "CompletionsLive", "chunk_summary", "has_text", "logprobs_text"]
