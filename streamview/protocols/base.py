"""The one interface every streaming protocol implements, and the few types it speaks in.

A protocol is a package under ``streamview/protocols/`` that exports one object, ``PROTOCOL``, an instance of a
``Protocol`` subclass. It knows everything about its wire format: its events table (the one list of its event
types, what kind each is, the assembler's handler for it, the block it feeds, which end the stream), how confident
it is that an event is one of its own (``sniff``), how to fold its events into the neutral state
(``assembler()``), its named check rules (``checker()``), how the events pane shows one event (``describe``), its
rows in the response pane, and, optionally, how to make a live request (``live``) and how ``serve`` answers
(``serve``). The rest of streamview reads only this interface, through the registry in ``__init__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping, NamedTuple, Protocol as _Typed, Sequence

if TYPE_CHECKING:
    from ..checks import Anomaly
    from ..events import StreamEvent
    from ..live import LiveRequest
    from ..state import StreamState

# What an event is, as the events pane styles it and the filters select it. The core adds "comment" and "junk".
LIFECYCLE = "lifecycle"  # the stream (or response) starts, changes status, carries metadata
ITEM = "item"  # an item or block of the message starts or ends
DELTA = "delta"  # a piece of text, arguments, code...: what the "no deltas" filter hides
TERMINAL = "terminal"  # the stream's own end (completed, stopped, [DONE]...)
ERROR = "error"  # the server reports an error in the stream
KEEPALIVE = "keepalive"  # a ping: no content
OTHER = "other"  # a known event of none of the kinds above (a tool's progress)
UNKNOWN = "unknown"  # not an event the protocol defines
COMMENT = "comment"  # an SSE comment (the core's, not a protocol's)
JUNK = "junk"  # lines that are not SSE (the core's)
KINDS = (LIFECYCLE, ITEM, DELTA, TERMINAL, ERROR, KEEPALIVE, OTHER, UNKNOWN, COMMENT, JUNK)


class Description(NamedTuple):
    """One event as the events pane shows it: its label (the type, short), its kind (one of ``KINDS``), the key of
    the item or block it belongs to (events with equal keys are marked together; None: no item), and a one-line
    summary (its delta, the item it announces, the start of its data)."""

    label: str
    kind: str
    key: Hashable | None
    summary: str


class EventSpec(NamedTuple):
    """One row of a protocol's events table.

    ``kind``: one of ``KINDS``. ``handler``: the name of the assembler's method that folds it (None: folded by
    none, nothing to assemble) and ``args`` for a handler made per row. ``block``: for the checker, the block the
    event belongs to as the protocol words it (for example the part kind, the event's role in it, the field that
    holds its text). ``known``: False for an event the assembler tolerates but the protocol does not define (a
    gateway's keep-alive: the checker notes it)."""

    kind: str
    handler: str | None = None
    args: tuple = ()
    block: tuple | None = None
    known: bool = True


class Row(NamedTuple):
    """A row of the response pane: a label, a value (any JSON-able value; None shows as ``-``) and a style name
    (``good``, ``warn``, ``bad``, ``dim`` or ``""``). A row whose ``label`` is ``None`` is a section title."""

    label: str | None
    value: Any = ""
    style: str = ""


def section(title: str, style: str = "") -> Row:
    return Row(None, title, style)


class Assembler(_Typed):
    """A pure fold of events into a ``StreamState`` (``state``), O(1) per delta."""

    state: "StreamState"

    def feed(self, ev: "StreamEvent") -> None: ...

    def feed_all(self, events: Iterable["StreamEvent"]) -> "StreamState": ...


class Checker(_Typed):
    """A protocol's named rules, run as events arrive (after the assembler has folded each)."""

    anomalies: "list[Anomaly]"
    withdrawn: int  # bumped when an anomaly is withdrawn (the views redraw their marks)

    def feed(self, ev: "StreamEvent", state: Any) -> "list[Anomaly]": ...

    def finish(self, events: "Sequence[StreamEvent]") -> "list[Anomaly]": ...


class LiveOptions(NamedTuple):
    """What ``streamview live`` was asked for, for a protocol's request builder."""

    prompt: str
    model: str | None = None
    instructions: str | None = None
    reasoning_effort: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    body: dict | None = None  # --body, already read: merged last (it may override any field but the stream flag)
    base_url: str | None = None
    headers: Mapping[str, str] = {}  # --header, already split: they add to or replace the builder's own


class LiveApi(ABC):
    """The optional capability to make a live request (``streamview live --api NAME``)."""

    default_model: str = ""
    key_env: tuple[str, ...] = ()  # the environment variables the key is read from, first set wins
    base_env: str = ""  # the environment variable for the base URL
    default_base: str = ""
    help: str = ""  # one line for ``live --help``

    @abstractmethod
    def build(self, options: LiveOptions, env: Mapping[str, str]) -> "LiveRequest":
        """The request: URL, JSON body, headers (with the key) and the secrets to redact. Raises
        ``live.RequestError`` with one plain line when it cannot be made (no key, a parameter the API lacks)."""


class ServeRoute(ABC):
    """The optional capability to be served: ``streamview serve`` answers a transcript of this protocol here."""

    paths: tuple[str, ...] = ()  # the request paths it answers (POST); ``matches`` may take more
    request_id_header: str = "x-request-id"
    comments: bool = True  # its SDK reads SSE comment lines (keep-alives): serve writes them as recorded
    # the proxy (``streamview proxy``): the real server its requests go to (an origin, no path: the client's own
    # path is kept), the command-line option that points it elsewhere, and the variable its SDK reads the base from
    upstream: str = ""
    upstream_option: str = "upstream"
    base_env: str = ""

    def matches(self, path: str) -> bool:
        return path in self.paths

    def describe_paths(self) -> str:
        """The route in words, for the start line and the 404 message (the first path: the one its SDK calls)."""
        return f"POST {self.paths[0]}" if self.paths else "no route"

    @abstractmethod
    def error_body(self, message: str, status: int) -> dict:
        """An error in the shape this protocol's SDK reads (404: no such route; 405: wrong method)."""

    def base_url(self, root: str) -> str:
        """The base URL a client of this protocol is given, for a server at ``root`` (``http://host:port``)."""
        return root

    def model_of(self, path: str) -> str | None:
        """The model a request names in its path (None: the body says it, as ``model``)."""
        return None


class Protocol(ABC):
    """One streaming protocol. Subclasses set the class attributes and implement the abstract methods."""

    name: str = ""  # the registry's name, what --protocol and --api take
    title: str = ""  # in words: "Responses API"
    framing: str = "sse"  # how its stream is framed: "sse" or "ndjson" (``streamview.framing``)
    rules: tuple[str, ...] = ()  # the names of its check rules
    events: Mapping[str, EventSpec] = {}  # the events table: event type -> its row
    vocabulary: tuple[str, ...] = ()  # words only this protocol may use: a test keeps them out of the rest
    sequence_field: str | None = None  # the payload field that numbers events, if the protocol has one
    sentinels: tuple[str, ...] = ()  # data values that are not JSON but a signal of the protocol ("[DONE]")
    announce: bool = True  # summaries name the protocol (the first protocol, the long-standing default, needn't)
    terminal_hint: str = "a terminal event"  # what ends a stream of it, in words
    failed_what: str = "stream"  # what failed, in "streamview: <what> failed: ..."
    usage_hint: str = "comes with the terminal event"  # when its usage arrives, while it has not
    headers: tuple[str, ...] = ()  # response headers the pane shows, besides the common ones ("x-foo-*": a prefix)
    live: LiveApi | None = None
    serve: ServeRoute | None = None

    @abstractmethod
    def sniff(self, ev: "StreamEvent") -> float:
        """How sure it is that ``ev`` is one of its events: 0 (not at all, or the event says nothing) to 1."""

    @abstractmethod
    def assembler(self) -> Assembler:
        """A fresh assembler; its ``state`` is a ``StreamState`` (or a subclass with this protocol's extras)."""

    @abstractmethod
    def checker(self) -> Checker:
        """A fresh checker of this protocol's rules."""

    @abstractmethod
    def describe(self, ev: "StreamEvent") -> Description:
        """One event of this protocol as the events pane shows it."""

    def classify(self, ev: "StreamEvent") -> tuple[str, str, Hashable | None]:
        """``describe(ev)[:3]`` (label, kind, key) without the summary: what a session keeps for every event at
        fold time. Subclasses may make it cheaper; it must agree with ``describe``."""
        d = self.describe(ev)
        return d.label, d.kind, d.key

    def status_rows(self, state: "StreamState") -> list[Row]:
        """Rows of the response pane after the status (how the stream finished, in this protocol's words)."""
        return []

    def parameter_rows(self, state: "StreamState") -> list[Row]:
        """The request parameters the server echoed, as (label, value) rows."""
        return []

    def state_at(self, events: "Sequence[StreamEvent]", index: int, built: "StreamState") -> "StreamState":
        """The state right after ``events[index]`` (time travel): a fresh fold of the prefix unless the protocol
        can do better from ``built``, the state those very events folded into."""
        return self.assembler().feed_all(events[: index + 1])

    def __repr__(self) -> str:
        return f"<protocol {self.name}>"


def quoted(value: Any, limit: int) -> str:
    """A string value as a row shows it: JSON-quoted (so whitespace and quotes are visible), cut at ``limit``."""
    import json

    if isinstance(value, str):  # the quoted form of the first ``limit`` characters starts the same (a 10 MB text)
        value = value[:limit]
    return json.dumps(value, ensure_ascii=False)[:limit]


def first_text(d: dict, keys: Sequence[str], limit: int) -> str | None:
    """The first of ``keys`` whose value in ``d`` is a string, quoted; None when none is."""
    for key in keys:
        v = d.get(key)
        if isinstance(v, str):
            return quoted(v, limit)
    return None


def table_kinds(events: Mapping[str, EventSpec], *kinds: str) -> frozenset[str]:
    """The event types of a table whose kind is one of ``kinds``."""
    return frozenset(t for t, spec in events.items() if spec.kind in kinds)


def bind_handlers(assembler: Any, events: Mapping[str, EventSpec]) -> dict[str, Callable]:
    """The assembler's dispatch made from the events table: type -> bound handler (``args``: the handler is a
    factory called with them). Types whose row names no handler are left out (the assembler skips them)."""
    out: dict[str, Callable] = {}
    for etype, spec in events.items():
        if spec.handler is None:
            continue
        method = getattr(assembler, spec.handler)
        out[etype] = method(*spec.args) if spec.args else method
    return out


def value_text(value: Any) -> str:
    """A value as a row shows it: ``-`` for None, a string as it is, anything else as JSON."""
    import json

    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def echoed_parameters(resp: Mapping[str, Any], params: Mapping[str, str]) -> list[Row]:
    """The request parameters a server echoed in its metadata snapshot ``resp``: each field of ``params`` (field ->
    label) it holds, then ``reasoning``, ``text`` (its format first) and the names of its ``tools``."""
    rows = [Row(label, resp[name]) for name, label in params.items() if name in resp]
    reasoning = resp.get("reasoning")
    if isinstance(reasoning, dict):
        rows.append(Row("reasoning", ", ".join(f"{k}={value_text(v)}" for k, v in reasoning.items())))
    text_cfg = resp.get("text")
    if isinstance(text_cfg, dict):
        fmt = text_cfg.get("format")
        rows.append(Row("text", ", ".join(
            [f"format={fmt.get('type') if isinstance(fmt, dict) else value_text(fmt)}"]
            + [f"{k}={value_text(v)}" for k, v in text_cfg.items() if k != "format"]
        )))
    tools = resp.get("tools")
    if isinstance(tools, list):
        names = [str(t.get("name") or t.get("type")) for t in tools if isinstance(t, dict)]
        rows.append(Row("tools", ", ".join(names) if names else "none"))
    return rows


def created_row(created: Any) -> list[Row]:
    """A ``created`` row for a Unix timestamp, in UTC (none for a value that is not one)."""
    if not isinstance(created, (int, float)) or isinstance(created, bool):
        return []
    from datetime import datetime, timezone

    try:
        return [Row("created", datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))]
    except (OverflowError, OSError, ValueError):
        return [Row("created", created)]
