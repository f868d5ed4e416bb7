"""Which protocol a stream speaks, and the assembler and checker for it.

Three protocols stream over SSE: the OpenAI Responses API (``event:`` names and ``type`` fields starting
``response.``), Chat Completions (``data:``-only ``chat.completion.chunk`` objects ending in ``data: [DONE]``) and
Anthropic Messages (``message_start``, ``content_block_*``, ``message_delta``, ``message_stop``, ``ping``).
``sniff`` decides from one event; a ``Sniffer`` decides from the first events of a stream: the first event that
says something decides, and when the first ``SNIFF_LIMIT`` readable JSON events say nothing the stream is
``unknown``: its events still show in the raw pane, and the state says that streamview cannot assemble it.
Events that say nothing (comments, junk lines, unreadable data) are not counted. A stream that ends before any
decision is ``unknown`` if it held readable JSON, else ``responses`` (the checks for unreadable input then apply).
"""

from __future__ import annotations

from typing import Any

from .assemble import ResponseState
from .checks import ERROR, NOTE, Anomaly, unreadable
from .events import StreamEvent

PROTOCOLS = ("responses", "chat", "anthropic")
UNKNOWN = "unknown"
SNIFF_LIMIT = 5  # readable JSON events that match no protocol before the stream is called unknown
DEFAULT = "responses"  # what a stream with nothing readable in it is checked as

ANTHROPIC_TYPES = frozenset({"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                             "message_delta", "message_stop", "ping"})
UNKNOWN_NOTE = ("streamview does not know how to assemble this stream: its events are not Responses API, Chat "
                "Completions or Anthropic Messages events (the raw events are all shown; --protocol forces one)")


def sniff(ev: StreamEvent) -> str | None:
    """The protocol one event belongs to, or None when it does not say (a comment, junk, unreadable data, an
    event every protocol could send)."""
    kind, _name, etype = ev._shape[:3]
    if kind != "event":
        return None
    if etype == "[DONE]":
        return "chat"
    p = ev.payload
    if p.__class__ is not dict:
        return None
    if etype.startswith("response."):
        return "responses"
    if etype in ANTHROPIC_TYPES:
        return "anthropic"
    if p.get("object") == "chat.completion.chunk":
        return "chat"
    choices = p.get("choices")
    if choices.__class__ is list:
        cid = p.get("id")
        if isinstance(cid, str) and cid.startswith("chatcmpl"):
            return "chat"
        # servers that leave out "object" (some local ones) still send choices[].delta
        if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("delta"), dict):
            return "chat"
    if etype in ("error", "keepalive") and "sequence_number" in p:
        return "responses"
    if ("error" in p and "type" not in p) or p.get("object") == "error":
        return "chat"  # an OpenAI-compatible server's error chunk ({"error": {...}}, vLLM's {"object": "error"})
    return None


class Sniffer:
    """Feed events until ``protocol`` is set (it then stays); ``finish`` decides at the end of input."""

    def __init__(self, limit: int = SNIFF_LIMIT) -> None:
        self.limit = limit
        self.looked = 0  # readable JSON events that said nothing
        self.protocol: str | None = None

    def feed(self, ev: StreamEvent) -> str | None:
        if self.protocol is None:
            found = sniff(ev)
            if found is None and ev._shape[0] == "event" and ev.error is None and ev.payload is not None:
                self.looked += 1
                if self.looked >= self.limit:
                    found = UNKNOWN
            self.protocol = found
        return self.protocol

    def finish(self) -> str:
        if self.protocol is None:
            self.protocol = UNKNOWN if self.looked else DEFAULT
        return self.protocol


def is_delta(ev: StreamEvent, protocol: str | None) -> bool:
    """Whether ``ev`` carries a piece of text: a Responses ``*.delta`` event, an Anthropic ``content_block_delta``,
    a Chat Completions chunk with content, refusal or tool-call arguments."""
    etype = ev._shape[2]
    if protocol == "chat":
        return chat_chunk_has_delta(ev.payload)
    if protocol == "anthropic":
        return etype == "content_block_delta"
    return etype.endswith(".delta")


def chat_chunk_has_delta(p: Any) -> bool:
    if p.__class__ is not dict:
        return False
    choices = p.get("choices")
    if choices.__class__ is not list:
        return False
    for c in choices:
        d = c.get("delta") if c.__class__ is dict else None
        if d.__class__ is not dict:
            continue
        if d.get("content") or d.get("refusal") or d.get("reasoning_content"):
            return True
        calls = d.get("tool_calls")
        if calls.__class__ is list:
            for call in calls:
                fn = call.get("function") if call.__class__ is dict else None
                if fn.__class__ is dict and fn.get("arguments"):
                    return True
    return False


# -- the states of a stream that is not (yet) assembled ------------------------------------------------------------
class PendingState(ResponseState):
    """The state before the protocol is known: empty (status "", no items)."""

    protocol = ""
    note = ""


class UnknownState(ResponseState):
    """A stream of no known protocol: nothing is assembled; ``note`` says why (the message pane shows it)."""

    protocol = UNKNOWN
    note = UNKNOWN_NOTE

    def final(self) -> dict[str, Any]:
        return super().final() | {"note": self.note}


class NullAssembler:
    """Folds nothing: counts the events. ``state`` is a ``PendingState`` or an ``UnknownState``."""

    def __init__(self, state: ResponseState | None = None) -> None:
        self.state = state if state is not None else PendingState()

    def feed(self, ev: StreamEvent) -> None:
        self.state.events += 1

    def feed_all(self, events) -> ResponseState:
        for ev in events:
            self.feed(ev)
        return self.state


class NullChecker:
    """No rules: the checker before the protocol is known."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = []
        self.withdrawn = 0

    def feed(self, ev: StreamEvent, state: Any) -> list[Anomaly]:
        return []

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        return []


class UnknownChecker(NullChecker):
    """For a stream of no known protocol: the generic rules for unreadable input (``bad-sse``, ``bad-json``, as
    the Responses checker words them) and one ``unknown-protocol`` note at the first event."""

    RULES = ("unknown-protocol", "bad-sse", "bad-json")

    def __init__(self) -> None:
        super().__init__()
        self._noted = False

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR) -> None:
        a = Anomaly(rule, ev.index, ev.seq, message, severity)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: Any) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        if not self._noted:
            self._noted = True
            self._add(out, ev, "unknown-protocol", UNKNOWN_NOTE, NOTE)
        bad = unreadable(ev)
        if bad is not None:
            self._add(out, ev, *bad)
        return out


def make(protocol: str) -> tuple[Any, Any]:
    """A fresh (assembler, checker) pair for ``protocol`` (one of PROTOCOLS, or "unknown")."""
    if protocol == "responses":
        from .assemble import ResponseAssembler
        from .checks import Checker

        return ResponseAssembler(), Checker()
    if protocol == "chat":
        from .chat import ChatAssembler, ChatChecker

        return ChatAssembler(), ChatChecker()
    if protocol == "anthropic":
        from .anthropic import AnthropicAssembler, AnthropicChecker

        return AnthropicAssembler(), AnthropicChecker()
    if protocol == UNKNOWN:
        return NullAssembler(UnknownState()), UnknownChecker()
    raise ValueError(f"unknown protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")


def sniff_events(events) -> str:
    """The protocol of a whole list of events (``serve`` uses it on a transcript)."""
    sn = Sniffer()
    for ev in events:
        if sn.feed(ev) is not None:
            return sn.protocol  # type: ignore[return-value]
    return sn.finish()
