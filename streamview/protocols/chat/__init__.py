"""Chat Completions (``POST /v1/chat/completions`` with ``"stream": true``): data-only SSE, one
``chat.completion.chunk`` object an event, ending with ``data: [DONE]``; OpenAI and the OpenAI-compatible servers
(vLLM, llama.cpp, Ollama's /v1, LM Studio, gateways)."""

from __future__ import annotations

import json
from typing import Any, Hashable

from .. import _openai
from ..base import DELTA, ERROR, LIFECYCLE, TERMINAL, Description, LiveOptions, Protocol, Row, echoed_parameters, first_text, quoted
from ...state import generic_citation
from ..unknown import describe_plain
from .events import CHUNK, CHUNK_OBJECT, DONE, ERROR_EVENT, EVENTS, event_type

_TEXT_KEYS = ("content", "refusal", "reasoning_content", "reasoning", "text")


class ChatLive(_openai.OpenAILive):
    help = "POST {base}/chat/completions with $OPENAI_API_KEY"
    path = "/chat/completions"

    def payload(self, o: LiveOptions) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": o.model or self.default_model}
        system = [{"role": "system", "content": o.instructions}] if o.instructions is not None else []
        payload["messages"] = system + [{"role": "user", "content": o.prompt}]
        if o.reasoning_effort is not None:
            payload["reasoning_effort"] = o.reasoning_effort
        if o.max_output_tokens is not None:
            payload["max_completion_tokens"] = o.max_output_tokens
        return payload

    def finish_payload(self, payload: dict[str, Any]) -> None:
        options = payload.get("stream_options")
        payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}


class Chat(Protocol):
    name = "chat"
    title = "Chat Completions"
    rules = ("after-done", "no-done", "tool-call-no-id", "mixed-ids", "no-finish-reason", "bad-sse", "bad-json",
             "unknown-event")
    events = EVENTS
    # ("choices" as a field name, quoted: argparse's choices= is not this protocol's)
    vocabulary = ("chat", '"choices"', "'choices'", "chat.completion", "chatcmpl", "[DONE]", "finish_reason",
                  "tool_calls", "include_usage", "reasoning_content")
    sentinels = (DONE,)
    terminal_hint = "data: [DONE] or an error"
    failed_what = "stream"
    usage_hint = "only with stream_options.include_usage, in the last chunk"
    headers = _openai.HEADERS
    live = ChatLive()
    serve = _openai.OpenAIServe("/v1/chat/completions", "/chat/completions")

    def sniff(self, ev) -> float:
        shape = ev._shape
        if shape[0] != "event":
            return 0.0
        if shape[2] == DONE:
            return 1.0
        p = ev.payload
        if p.__class__ is not dict:
            return 0.0
        if p.get("object") == CHUNK_OBJECT:
            return 1.0
        choices = p.get("choices")
        if choices.__class__ is list:
            cid = p.get("id")
            if isinstance(cid, str) and cid.startswith("chatcmpl"):
                # below 1: a protocol whose object names it wins (llama.cpp gives its legacy completions
                # chatcmpl ids too)
                return 0.95
            # servers that leave out "object" (some local ones) still send choices[].delta
            if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("delta"), dict):
                return 0.9
        if ("error" in p and "type" not in p) or p.get("object") == "error":
            return 0.5  # an OpenAI-compatible server's error chunk ({"error": {...}}, vLLM's {"object": "error"})
        return 0.0

    def assembler(self):
        from .assemble import ChatAssembler

        return ChatAssembler()

    def checker(self):
        from .check import ChatChecker

        return ChatChecker()

    def classify(self, ev) -> tuple[str, str, Hashable | None]:
        etype = event_type(ev)
        if etype is None:
            if ev._shape[0] != "event":
                return describe_plain(ev)[:3]
            p = ev.payload
            obj = p.get("object") if p.__class__ is dict else None
            return (obj if isinstance(obj, str) and obj else ev._shape[2]), "unknown", None
        if etype == DONE:
            return DONE, TERMINAL, None
        p = ev.payload
        if etype == ERROR_EVENT:
            return ERROR_EVENT, ERROR, None
        choices = p.get("choices")
        label = "chunk" if choices else "chunk (usage)" if p.get("usage") else "chunk"
        key = None
        if choices.__class__ is list and len(choices) == 1 and choices[0].__class__ is dict:
            idx = choices[0].get("index")
            key = ("choice", idx) if idx.__class__ is int else None
        return label, (DELTA if has_delta(p) else LIFECYCLE), key

    def describe(self, ev) -> Description:
        label, kind, key = self.classify(ev)
        p = ev.payload
        if kind in (DELTA, LIFECYCLE) and p.__class__ is dict and label.startswith("chunk"):
            summary = _chunk_summary(p, 120)
        elif p.__class__ is dict:
            err = p.get("error")
            summary = str(err.get("message", "")) if isinstance(err, dict) else str(p.get("message", "")) if "message" in p else ev.data
            summary = summary[:120]
        else:
            summary = describe_plain(ev).summary
        return Description(label, kind, key, summary)

    def status_rows(self, state) -> list[Row]:
        rows: list[Row] = []
        choices = state.choices
        for k in sorted(choices):
            reason = choices[k].finish_reason
            label = "finish" if len(choices) == 1 else f"choice {k}"
            rows.append(Row(label, reason or "- (not yet)", "good" if reason == "stop" else "warn" if reason else "dim"))
            lp = choices[k].logprobs
            if lp is not None:
                summary = lp.summary()
                low = summary.get("lowest") or {}
                mean = summary.get("mean_logprob")
                bits = [f"{summary.get('content_tokens', 0) + summary.get('refusal_tokens', 0)} tokens"]
                if mean is not None:
                    bits.append(f"mean {mean:.3f}")
                if low:
                    bits.append(f"lowest {json.dumps(low.get('token'), ensure_ascii=False)} {low.get('logprob')}")
                rows.append(Row("logprobs" if len(choices) == 1 else f"  logprobs {k}", ", ".join(bits)))
        return rows

    def parameter_rows(self, state) -> list[Row]:
        return echoed_parameters(state.response, _openai.PARAMS)


def has_delta(p: Any) -> bool:
    """Whether a chunk carries a piece of text: content, refusal, reasoning or tool-call arguments."""
    if p.__class__ is not dict:
        return False
    choices = p.get("choices")
    if choices.__class__ is not list:
        return False
    for c in choices:
        d = c.get("delta") if c.__class__ is dict else None
        if d.__class__ is not dict:
            continue
        if d.get("content") or d.get("refusal") or d.get("reasoning_content") or d.get("reasoning"):
            return True  # (a list content, Mistral's typed parts, is truthy too)
        audio = d.get("audio")
        if audio.__class__ is dict and (audio.get("transcript") or audio.get("data")):
            return True
        calls = d.get("tool_calls")
        if calls.__class__ is list:
            for call in calls:
                fn = call.get("function") if call.__class__ is dict else None
                if fn.__class__ is dict and fn.get("arguments"):
                    return True
    return False


def _call_summary(call: dict) -> str:
    """A tool-call fragment: its name (first fragment) and its piece of arguments."""
    fn = call.get("function")
    if not isinstance(fn, dict):
        return ""
    name = fn.get("name")
    args = json.dumps(str(fn.get("arguments") or ""), ensure_ascii=False)
    return f"{name} {args}" if isinstance(name, str) and name else args


def _parts_summary(parts: list, limit: int) -> str:
    """Typed content parts (Mistral): each part's text, quoted, after its type unless it is plain text."""
    bits = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        inner = part.get("thinking") if ptype == "thinking" else None
        if isinstance(inner, list):
            text = "".join(x.get("text") or "" for x in inner if isinstance(x, dict) and isinstance(x.get("text"), str))
        elif isinstance(inner, str):
            text = inner
        else:
            text = part.get("text")
        shown = quoted(text, limit) if isinstance(text, str) else json.dumps({k: v for k, v in part.items() if k != "type"}, ensure_ascii=False)[:limit]
        bits.append(shown if ptype == "text" else f"{ptype} {shown}")
    return " ".join(bits)


def _audio_summary(audio: dict, limit: int) -> str | None:
    """An audio delta: its transcript fragment, else the size of its base64 fragment, else its expiry."""
    if isinstance(audio.get("transcript"), str) and audio["transcript"]:
        return "audio " + quoted(audio["transcript"], limit)
    if isinstance(audio.get("data"), str) and audio["data"]:
        return f"audio data ({len(audio['data']):,} base64 characters)"
    if audio.get("expires_at") is not None:
        return f"audio expires_at={audio['expires_at']}"
    if isinstance(audio.get("id"), str):
        return f"audio {audio['id']}"
    return None


def _chunk_summary(p: dict, limit: int) -> str:
    """Each choice's content, refusal or tool-call arguments, or its finish_reason; or the usage."""
    bits = []
    choices = p.get("choices") or ()
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        shown = None
        if isinstance(delta, dict):
            content = delta.get("content")
            shown = _parts_summary(content, limit) if isinstance(content, list) and content else None
            if shown is None:
                shown = first_text(delta, _TEXT_KEYS, limit)
            calls = delta.get("tool_calls")
            if shown is None and isinstance(calls, list):
                shown = " ".join(_call_summary(c) for c in calls if isinstance(c, dict))
            audio = delta.get("audio")
            if shown is None and isinstance(audio, dict):
                shown = _audio_summary(audio, limit)
            annotations = delta.get("annotations")
            if isinstance(annotations, list) and annotations:
                cited = [c.source for c in map(generic_citation, annotations) if c is not None]
                note = f"{len(annotations)} annotation{'' if len(annotations) == 1 else 's'}" + (": " + ", ".join(cited) if cited else "")
                shown = note if shown in (None, '""') else f"{shown} {note}"
        if shown is None and choice.get("finish_reason"):
            shown = f"finish_reason={choice.get('finish_reason')}"
        if shown is not None:
            index = choice.get("index")
            bits.append(shown if len(choices) == 1 and not index else f"[{index}] {shown}")
    if not bits and isinstance(p.get("usage"), dict):
        u = p["usage"]
        bits.append(f"usage {u.get('prompt_tokens')}/{u.get('completion_tokens')}/{u.get('total_tokens')}")
    return " ".join(bits)[:limit]


PROTOCOL = Chat()
__all__ = ["PROTOCOL", "CHUNK", "quoted"]
