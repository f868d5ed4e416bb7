"""The protocol registry: which protocols streamview reads, which one a stream speaks, and the one object per
protocol that the rest of streamview goes through (``base.Protocol``).

Each protocol is a package here exporting ``PROTOCOL``; ``NAMES`` is the registry (order: the tie-break between
equally sure protocols, and the first is what a stream with nothing readable in it is checked as). Packages are
imported when first asked for, so ``--help`` stays fast.

Sniffing works as mitmproxy's content views do: every protocol says how sure it is (``Protocol.sniff``, 0 to 1) that
an event is one of its own, and the surest wins. A ``Sniffer`` decides from the first events of a stream: the first
event some protocol claims decides; when the first ``SNIFF_LIMIT`` readable JSON events are claimed by none, the
stream is ``unknown``: its events still show, and the state says that streamview cannot assemble it. Events that
say nothing (comments, junk lines, unreadable data) are not counted. A stream that ends before any decision is
``unknown`` if it held readable JSON, else the first protocol's (its checks for unreadable input then apply).

Sniffing knows the framing the stream is read with, when it is known: only the protocols of that framing are asked
(an NDJSON line is never taken for an SSE protocol's event, nor the reverse), and the first protocol of that framing
is the default. A stream read without a known protocol has its framing found from its first line
(``framing.AutoFramer``), which asks ``sniff_framing``: does a protocol of a framing other than SSE claim it?
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, Iterable

from .base import UNKNOWN, Protocol

if TYPE_CHECKING:
    from ..events import StreamEvent

NAMES = ("responses", "chat", "anthropic", "gemini", "completions", "ollama", "cohere")  # the registry
SNIFF_LIMIT = 5  # readable JSON events that match no protocol before the stream is called unknown

_loaded: dict[str, Protocol] = {}
_unknown: Protocol | None = None


def get(name: str) -> Protocol:
    """The protocol called ``name`` (or the unknown pseudo-protocol); ValueError for a name not registered."""
    proto = _loaded.get(name)
    if proto is not None:
        return proto
    if name == UNKNOWN:
        return unknown_protocol()
    if name not in NAMES:
        raise ValueError(f"unknown protocol {name!r}: one of {', '.join(NAMES)}")
    proto = importlib.import_module(f"{__name__}.{name}").PROTOCOL
    _loaded[name] = proto
    return proto


def registered() -> list[Protocol]:
    return [get(n) for n in NAMES]


def default(framing: str | None = None) -> Protocol:
    """The first registered protocol (of ``framing``, when given and some protocol has it)."""
    if framing is not None:
        for proto in registered():
            if proto.framing == framing:
                return proto
    return get(NAMES[0])


def unknown_protocol() -> Protocol:
    global _unknown
    if _unknown is None:
        from .unknown import UnknownProtocol

        _unknown = UnknownProtocol(titles())
    return _unknown


def titles() -> str:
    """The registered protocols' titles in words: "A, B or C"."""
    names = [p.title for p in registered()]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def with_live() -> list[Protocol]:
    """The protocols that can make a live request (``live --api NAME``)."""
    return [p for p in registered() if p.live is not None]


def upstream_options() -> list[tuple[str, str]]:
    """``(option, default upstream)`` for each proxy upstream option the registered protocols name, in registry
    order (``proxy --OPTION``; here, not in the proxy, so that the command line's help does not import it)."""
    seen: dict[str, str] = {}
    for proto in registered():
        route = proto.serve
        if route is not None and route.upstream and route.upstream_option not in seen:
            seen[route.upstream_option] = route.upstream
    return list(seen.items())


def sequence_fields() -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.sequence_field for p in registered() if p.sequence_field))


def sentinels() -> frozenset[str]:
    return frozenset(s for p in registered() for s in p.sentinels)


def sniff(ev: "StreamEvent", framing: str | None = None) -> Protocol | None:
    """The protocol surest that ``ev`` is one of its own, or None when none claims it. ``framing``: the stream's
    (only its protocols are asked; None: every protocol)."""
    best, best_score = None, 0.0
    for proto in registered():
        if framing is not None and proto.framing != framing:
            continue
        score = proto.sniff(ev)
        if score > best_score:
            best, best_score = proto, score
    return best


class Sniffer:
    """Feed events until ``protocol`` is set (it then stays); ``finish`` decides at the end of input. ``framing``:
    what the events are read with, a name or a callable that says it when asked (None: not known)."""

    def __init__(self, limit: int = SNIFF_LIMIT, framing: "str | Callable[[], str | None] | None" = None) -> None:
        self.limit = limit
        self.looked = 0  # readable JSON events that said nothing
        self.protocol: Protocol | None = None
        self._framing = framing

    @property
    def framing(self) -> str | None:
        f = self._framing
        return f() if callable(f) else f

    def feed(self, ev: "StreamEvent") -> Protocol | None:
        if self.protocol is None:
            found = sniff(ev, self.framing)
            if found is None and ev._shape[0] == "event" and ev.error is None and ev.payload is not None:
                self.looked += 1
                if self.looked >= self.limit:
                    found = unknown_protocol()
            self.protocol = found
        return self.protocol

    def finish(self) -> Protocol:
        if self.protocol is None:
            self.protocol = unknown_protocol() if self.looked else default(self.framing)
        return self.protocol


def sniff_framing(line: str) -> str | None:
    """The framing other than SSE whose protocol claims ``line`` (a stream's first line, stripped) as one of its
    events, or None (``framing.AutoFramer`` then reads the stream as SSE)."""
    others = [p for p in registered() if p.framing != "sse"]
    if not others:
        return None
    from ..events import parse_record

    ev = parse_record(("message", line, "", None, None, 1, False, ""), 0)
    if ev.error is not None:
        return None
    best, best_score = None, 0.0
    for proto in others:
        score = proto.sniff(ev)
        if score > best_score:
            best, best_score = proto.framing, score
    return best


def sniff_events(events: Iterable["StreamEvent"], framing: str | None = None) -> Protocol:
    """The protocol of a whole list of events (read with ``framing``, when it is known)."""
    sn = Sniffer(framing=framing)
    for ev in events:
        if sn.feed(ev) is not None:
            return sn.protocol  # type: ignore[return-value]
    return sn.finish()
