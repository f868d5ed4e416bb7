"""Rendering to text, with no Textual: the message document, the event rows, the response pane's rows and the
timeline's bins. The panes only draw what these build, so headless commands and tests see exactly the text the
screen shows. Every piece of stream text passes through the sanitizer here; none of it is markup.

Styles are names (``STYLES``), which the widgets map to their own colours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from .checks import Anomaly
from .events import StreamEvent
from .held import HeldTexts
from .protocols.base import COMMENT, DELTA, ERROR, ITEM, JUNK, KEEPALIVE, LIFECYCLE, TERMINAL, Description, Row, section
from .protocols.base import value_text as _v
from .sanitize import visible, visible_line
from .secrets import is_secret_header, redact_url
from .state import Block, Item, StreamState

TAB = "    "  # a tab in stream text, as the message pane shows it

# -- the message document -----------------------------------------------------------------------------------------
BLOCK_LABELS = {
    "summary_text": "summary",
    "reasoning_text": "reasoning",
    "refusal": "refusal",
    "arguments": "arguments",
    "input": "input",
    "code": "code",
    "command": "command",
    "diff": "diff",
    "transcript": "transcript",
}


def item_header(item: Item, state: StreamState | None = None) -> str:
    bits = [item.type or "item"]
    if item.name:
        bits.append(item.name)
    if item.id:
        bits.append(item.id)
    status = item.status or ("done" if item.done_event is not None else "streaming")
    if item.phase and item.phase != status:
        status = f"{status} · {item.phase}" if status else item.phase
    if item.partial_images:
        status += f" · {item.partial_images} partial image(s)"
    if item.placeholder:
        status += f" · {state.placeholder_note if state is not None else StreamState.placeholder_note}"
    if status:
        bits.insert(1, f"[{status}]")
    return "── " + " ".join(bits)


def block_text(item: Item, block: Block) -> str:
    """A block's text as shown: a finished tool call's JSON arguments pretty-printed."""
    text = block.text
    if block.kind in ("arguments", "input") and item.done_event is not None and text:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def shown(text: str, remember: bool = False) -> str:
    """Stream text as the message pane holds it: controls made visible, tabs as spaces. ``remember``: ``text`` is
    held by the stream's state (a block's text): a long one with nothing to change is remembered, by identity, so
    that it is not looked through again each time the document is made."""
    if len(text) >= _SHOWN_AS_IS_MIN:
        memo = _SHOWN_AS_IS
        if memo:
            if memo.holds(text):
                return text
            memo.forget_unheld()
        result = visible(text).replace("\t", TAB)
        if remember and result is text:
            memo.add(text)
        return result
    return visible(text).replace("\t", TAB)


def shown_as_is(text: str) -> None:
    """Tell ``shown`` that ``text`` (held by the state) has nothing to change, without it looking through the text:
    the caller has seen every piece ``text`` is the concatenation of come back from ``shown`` as it was (each
    character is made visible on its own, so pieces with nothing to change join into a text with nothing to
    change). The message pane knows this of a growing block, whose new text it showed frame by frame."""
    if len(text) >= _SHOWN_AS_IS_MIN and not _SHOWN_AS_IS.holds(text):
        _SHOWN_AS_IS.forget_unheld()
        _SHOWN_AS_IS.add(text)


# Long texts that ``shown`` returned as they were: the message pane makes its document again whenever the stream's
# structure changes, and looking through a block's 10 million characters for controls took 20 ms each time, five
# times over at the end of a stream. Only texts the state holds are remembered (``remember``), and each is let go
# once nothing else holds it.
_SHOWN_AS_IS_MIN = 1 << 16
_SHOWN_AS_IS = HeldTexts(8)


def render_document(state: StreamState) -> tuple[list[str], list[tuple[Item, Block, int]]]:
    """The message document as shown pieces, and where each block's text starts (in characters)."""
    pieces: list[str] = []
    spans: list[tuple[Item, Block, int]] = []
    length = 0
    numbers: dict[str, int] = {}  # a cited source -> its number, in the order the document first cites them

    def add(s: str) -> None:
        nonlocal length
        pieces.append(s)
        length += len(s)

    if state.note:
        add(shown(state.note))
    elif not state.items:
        add("(no output yet)" if state.status not in ("failed", "incomplete", "completed") else "(no output items)")
    for n, item in enumerate(state.ordered_items()):
        if n:
            add("\n\n")
        add(shown(item_header(item, state)))
        blocks = item.ordered_blocks()
        if not blocks and item.type == "reasoning":
            add("\n(no summary streamed)")
        for block in blocks:
            label = BLOCK_LABELS.get(block.kind)
            if label:
                add(f"\n{label}:")
            add("\n")
            spans.append((item, block, length))
            text = block_text(item, block)
            cited = citations(state, block, numbers) if block.annotations else None
            if not cited:
                add(shown(text, remember=True))
                continue
            for piece in marked(text, cited[0]):
                add(shown(piece))
            add("\nsources:")
            for n, source in cited[1]:
                add(shown(f"\n[{n}] {source}"))
        for d in state.details(item):
            add(f"\n{d.label}:\n")
            add(shown(d.text))
    if state.error:
        err = state.error
        add(shown(f"\n\n── error  {err.get('code') or err.get('type') or ''}: {err.get('message') or ''}"))
    return pieces, spans


def citations(state: StreamState, block: Block, numbers: dict[str, int]) -> tuple[list[tuple[int, int | None]], list[tuple[int, str]]] | None:
    """A block's citations: the markers (number, offset in its text) and its sources (number, source), each source
    numbered once in the document (``numbers``: source -> number). None: nothing in it is a citation."""
    marks: list[tuple[int, int | None]] = []
    sources: list[tuple[int, str]] = []
    for a in block.annotations:
        c = state.citation(a)
        if c is None:
            continue
        n = numbers.get(c.source)
        if n is None:
            n = numbers[c.source] = len(numbers) + 1
        if (n, c.source) not in sources:
            sources.append((n, c.source))
        if (n, c.at) not in marks:
            marks.append((n, c.at))
    return (marks, sources) if sources else None


def marked(text: str, marks: list[tuple[int, int | None]]) -> list[str]:
    """``text`` in pieces with the numbered markers ``[n]`` between them, each at its offset (clipped to the text;
    a marker without one goes after the text)."""
    size = len(text)
    at = sorted(((size if m is None else max(0, min(size, m)), n) for n, m in marks))
    out: list[str] = []
    start = 0
    for offset, n in at:
        if offset > start:
            out.append(text[start:offset])
            start = offset
        out.append(f"[{n}]")
    out.append(text[start:])
    return out


def markdown_document(state: StreamState) -> str:
    out = []
    numbers: dict[str, int] = {}
    for item in state.ordered_items():
        out.append(f"#### {visible(item_header(item, state).lstrip('─ '))}")
        for block in item.ordered_blocks():
            text = block_text(item, block)
            cited = citations(state, block, numbers) if block.annotations else None
            if cited:
                text = "".join(marked(text, cited[0]))
            text = visible(text)
            if block.kind in ("arguments", "input", "code", "command", "diff"):
                out.append(f"```\n{text}\n```")
            elif block.kind in ("summary_text", "reasoning_text", "thinking", "refusal"):
                out.append("\n".join("> " + line for line in text.split("\n")))
            else:
                out.append(text)
            if cited:
                out.append("Sources:\n\n" + "\n".join(f"{n}. {visible(source)}" for n, source in cited[1]))
        for d in state.details(item):
            body = visible(d.text).replace("```", "` ` `")
            out.append(f"**{visible(d.label)}**\n\n```\n{body}\n```")
    return "\n\n".join(out) if out else "*(no output yet)*"


def _common_start(x: str, y: str) -> int:
    if y.startswith(x):
        return len(x)
    lo, hi = 0, min(len(x), len(y))  # the longest common start, by halving (the comparisons run in C)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[:mid] == y[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_end(x: str, y: str) -> int:
    lo, hi = 0, min(len(x), len(y))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[len(x) - mid :] == y[len(y) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_prefix(a: list[str], b: list[str]) -> int:
    """How many characters the joined pieces ``a`` and ``b`` have in common at their start."""
    n = 0
    for x, y in zip(a, b):
        if x == y:
            n += len(x)
            continue
        return n + _common_start(x, y)
    return n


def common_suffix(a: list[str], b: list[str]) -> int:
    """How many characters the joined pieces ``a`` and ``b`` have in common at their end."""
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x == y:
            n += len(x)
            continue
        return n + _common_end(x, y)
    return n


# -- the event rows -------------------------------------------------------------------------------------------------
TYPE_WIDTH = 24  # the type column at most; narrower when the protocol's labels are shorter or the pane is narrow
MIN_TYPE = 10
MIN_SUMMARY = 24  # what the type column leaves the delta's text (or the anomaly's message) at least, if it can


@dataclass(frozen=True)
class RowLayout:
    """The event rows' columns: the ``seq`` column only for a protocol that numbers its events, and the type
    column as wide as the labels need, narrowed (cropped at the front, so ``…arguments.delta`` keeps its end) so
    the text after it keeps ``MIN_SUMMARY`` columns."""

    seq: bool = True
    type_width: int = TYPE_WIDTH

    @property
    def prefix(self) -> int:  # mark, index, [seq,] t, gap, the space after them
        return 1 + 6 + (6 if self.seq else 0) + 8 + 6 + 1


@lru_cache(maxsize=256)
def row_layout(width: int, seq: bool, longest_label: int) -> RowLayout:
    tw = max(MIN_TYPE, min(TYPE_WIDTH, longest_label))
    room = width - RowLayout(seq, 0).prefix - 1
    if room - tw < MIN_SUMMARY:
        tw = max(MIN_TYPE, min(tw, room - MIN_SUMMARY))
    return RowLayout(seq, tw)


def event_header(layout: RowLayout = RowLayout()) -> str:
    seq = "seq".rjust(5) + " " if layout.seq else ""
    return " " + "#".rjust(5) + " " + seq + "t".rjust(7) + " " + "gap".rjust(6) + " type"


def crop_label(label: str, width: int) -> str:
    """A label that fits ``width``: cut at the front, where labels share their words, so the end shows."""
    return label if len(label) <= width else "\u2026" + label[len(label) - width + 1 :]


EVENT_HEADER = event_header()
STALL = 1.0  # seconds: a gap longer than this is marked as a stall
# style names of the rows' spans: the widgets map each to a colour
STYLES = ("mark", "note", "item", "problem", "lifecycle", "delta", "comment", "stall", "related", "")
_KIND_STYLE = {LIFECYCLE: "lifecycle", TERMINAL: "lifecycle", ERROR: "lifecycle", KEEPALIVE: "lifecycle",
               ITEM: "item", DELTA: "delta", COMMENT: "comment", JUNK: "problem"}


def events_text(n: int) -> str:
    """``1 event``, ``20 events``, ``1,070,019 events``."""
    return "1 event" if n == 1 else f"{n:,} events"


def fmt_gap(dt: float | None) -> str:
    if dt is None:
        return ""
    if dt < 1.0:
        return f"+{dt * 1000:.0f}ms"
    return f"+{dt:.2f}s"


def event_row(desc: Description, ev: StreamEvent, prev: StreamEvent | None, anomalies: Sequence[Anomaly] = (),
              related: bool = False, layout: RowLayout = RowLayout()) -> list[tuple[str, str]]:
    """One event as a row: (text, style name) spans, the stream's text sanitized. The whole row takes the style
    ``related`` on top when it belongs to the selected event's item."""
    seq = ("" if ev.seq is None else str(ev.seq)).rjust(5) + " " if layout.seq else ""
    t = "" if ev.t is None else f"{ev.t:.3f}"
    dt = None if prev is None or prev.t is None or ev.t is None else ev.t - prev.t
    errors = [a for a in anomalies if a.severity == "error"]
    spans: list[tuple[str, str]] = []
    if errors or (ev.error and not anomalies):
        spans.append(("!", "mark"))
    elif anomalies:
        spans.append(("?", "note"))
    else:
        spans.append(("\u2502" if related else " ", "item" if related else ""))
    spans.append((f"{ev.index:>5} {seq}{t:>7} ", ""))
    stall = dt is not None and ev.t_synthetic is False and dt > STALL
    spans.append((f"{fmt_gap(dt):>6}", "stall" if stall else ""))
    spans.append((" ", ""))
    if errors or ev.error:
        style = "problem"
    elif anomalies:
        style = "note"
    else:
        style = _KIND_STYLE.get(desc.kind, "")
    tw = layout.type_width
    spans.append((crop_label(visible_line(desc.label), tw).ljust(tw), style))
    spans.append((" ", ""))
    if anomalies:
        detail = "; ".join(f"{a.rule}: {a.message}" for a in anomalies)
        spans.append((visible_line(detail), "problem" if errors else "note"))
    elif ev.error:
        spans.append((visible_line(ev.error), "problem"))
    else:
        spans.append((visible_line(desc.summary), ""))
    return spans


# -- the response pane ----------------------------------------------------------------------------------------------
COMMON_HEADERS = ("x-request-id", "request-id", "x-ratelimit-*")
STATUS_STYLE = {"completed": "good", "failed": "bad", "incomplete": "warn"}


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}s"


def _header_shown(name: str, wanted: Sequence[str]) -> bool:
    name = name.lower()
    return any(name.startswith(w[:-1]) if w.endswith("*") else name == w for w in wanted)


def usage_rows(u: Any, hint: str) -> list[Row]:
    """The usage under the neutral names (``state.usage``), the same rows for every protocol."""
    if not isinstance(u, dict):
        return [Row("tokens", f"- ({hint})", "dim")]
    in_details = u.get("input_tokens_details")
    out_details = u.get("output_tokens_details")
    cached = in_details.get("cached_tokens") if isinstance(in_details, dict) else None
    reasoning = out_details.get("reasoning_tokens") if isinstance(out_details, dict) else None
    extra = [f"+{u[k]} {label}" for k, label in (("cache_read_input_tokens", "cache read"),
                                                  ("cache_creation_input_tokens", "cache write"),
                                                  ("tool_use_input_tokens", "tool use"))
             if isinstance(u.get(k), int)]
    if cached is not None:
        extra.insert(0, f"{cached} cached")
    return [
        Row("input", _v(u.get("input_tokens")) + (f" ({', '.join(extra)})" if extra else "")),
        Row("output", _v(u.get("output_tokens")) + (f" ({reasoning} reasoning)" if reasoning is not None else "")),
        Row("total", u.get("total_tokens")),
    ]


def response_rows(session: Any, extra: dict[str, str] | None = None) -> list[Row]:
    """The response pane, row by row: identity and status, the protocol's own rows, errors, anomalies,
    parameters, usage, timings and HTTP. ``extra``: rows the app adds (``speed``; ``error``: the source's fault)."""
    extra = extra or {}
    state = session.state
    proto = session.proto
    resp = state.response
    rows: list[Row] = []
    row = lambda key, value, style="": rows.append(Row(key, value, style))  # noqa: E731
    if proto is not None and proto.announce:
        row("protocol", proto.title if proto.name != "unknown" else "unknown: not assembled", "warn" if proto.name == "unknown" else "")
    row("id", state.id or None)
    row("model", state.model or None)
    row("status", state.status or "- (no lifecycle event yet)", STATUS_STYLE.get(state.status, ""))
    if proto is not None:
        rows.extend(proto.status_rows(state))
    if extra.get("error"):
        row("error", extra["error"], "bad")
    if state.error:
        err = state.error
        row("error", f"{err.get('code') or err.get('type') or ''}: {err.get('message') or ''}", "bad")
    details = resp.get("incomplete_details")
    if details:
        row("incomplete", details.get("reason") if isinstance(details, dict) else details, "warn")

    anomalies = session.anomalies
    if anomalies:
        errors = sum(1 for a in anomalies if a.severity == "error")
        rows.append(section("anomalies", "bad" if errors else "warn"))
        row("found", f"{errors} error(s), {len(anomalies) - errors} note(s)", "bad" if errors else "warn")
        by_rule: dict[str, int] = {}
        for a in anomalies:
            by_rule[a.rule] = by_rule.get(a.rule, 0) + 1
        row("by rule", ", ".join(f"{rule} ×{n}" for rule, n in sorted(by_rule.items(), key=lambda kv: -kv[1])), "bad" if errors else "warn")
        if len(anomalies) > 20:
            row("", f"(the last 20 of {len(anomalies)}; a/A walk them)", "dim")
        for a in anomalies[-20:]:
            seq = "" if a.seq is None else f" seq {a.seq}"
            row(f"#{a.index}{seq}", f"{a.rule}: {a.message}", "bad" if a.severity == "error" else "warn")
    else:
        row("anomalies", "none seen", "dim")

    params = proto.parameter_rows(state) if proto is not None else []
    if params:
        rows.append(section("parameters"))
        rows.extend(params)

    rows.append(section("usage"))
    rows.extend(usage_rows(state.usage, proto.usage_hint if proto is not None else "comes with the terminal event"))

    rows.append(section("timings"))
    row("events", f"{session.count:,} ({session.delta_count:,} deltas)")
    timed = not (session.first is not None and session.first.t_synthetic)
    if timed:  # a transcript without t= times has only the replay's schedule: no figure is made of it
        row("first event", _secs(session.time_to_first_event))
        row("first token", _secs(session.time_to_first_delta))
        row("duration", _secs(session.duration))
        rate = session.rate
        row("rate", "-" if rate is None else f"{rate:,.1f} ev/s")
    pings = getattr(state, "pings", None)
    if isinstance(pings, int):
        row("pings", f"{pings:,} (keep-alives)")
    if session.first is not None and session.first.t_synthetic:
        row("clock", "no t= times in the transcript: played at a steady pace, so no timing is shown", "dim")
    for k, v in extra.items():
        if k != "error":
            row(k, v)

    meta = session.meta
    if meta.status is not None or meta.headers or meta.request:
        rows.append(section("http"))
        if meta.request:
            row("request", redact_url(meta.request))
        if meta.status is not None:
            row("status", meta.status, "good" if meta.status == 200 else "bad")
        wanted = COMMON_HEADERS + (proto.headers if proto is not None else ())
        for k, v in meta.headers:
            if not is_secret_header(k) and _header_shown(k, wanted):
                row(k.lower(), v)
    return rows


def row_text(r: Row) -> tuple[str, str]:
    """A row's label and value as plain, sanitized text."""
    return visible_line(r.label or ""), visible_line(_v(r.value))


# -- the timeline -----------------------------------------------------------------------------------------------
def timeline_bins(times: Sequence[float], width: int, total: int, ordered: bool = False) -> list[int]:
    """Events per time slice over the whole stream (``times``: arrival times in order; ``total``: the events).
    Fewer than two distinct times draw nothing (an empty list: a flat line, never a full bar). The slices cover
    the stream plus one mean gap after its last event, so the last slice is as wide as the others and a steady
    stream draws level to its end (the last event does not pile onto the last slice). ``ordered``: the times never
    go back, so the slices are found by bisection (a million events: a few thousand steps, not a million)."""
    n = len(times)
    if n < 2 or times[-1] <= times[0]:
        return []
    bins = max(2, min(width or 40, n // 2))
    first = times[0]
    span = (times[-1] - first) * n / (n - 1)
    scale = bins / span
    last = bins - 1
    if ordered:  # in time order: each slice's count is where the next one starts, found by bisection
        from bisect import bisect_left

        def slot(t: float) -> int:
            return min(last, int((t - first) * scale))

        starts = [bisect_left(times, k, key=slot) for k in range(bins)] + [n]
        return [starts[k + 1] - starts[k] for k in range(bins)]
    counts = [0] * bins
    for t in times:
        counts[min(last, int((t - first) * scale))] += 1
    return counts
