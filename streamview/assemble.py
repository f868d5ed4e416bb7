"""The Responses API assembler: a pure fold of events into a ``ResponseState``, O(1) per delta.

Deltas are appended to per-block chunk sequences (``Chunks``) and joined only when read. Every event is looked up by
``output_index`` (as the official SDK does); an event for an item or part that was never announced still gets a
(placeholder) item or block, so nothing the stream sent is lost. Text that a ``.done`` event, an
``output_item.done`` or the terminal ``response`` carries is kept beside the deltas; it fills a block only when no
delta ever arrived for it (a server that streams no deltas), so the pane shows what the deltas built.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Callable, Iterable, Iterator

from .events import StreamEvent

TERMINAL_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete"})
LIFECYCLE_TYPES = TERMINAL_TYPES | {"response.created", "response.in_progress", "response.queued"}


_FREEZE = 512  # deltas kept as they came before they are joined into a segment


class Chunks(Sequence):
    """A block's deltas in arrival order. It reads like the list of strings it stands for (``len``, ``[i]``,
    ``[-1]``, ``[a:b]`` as a list, iteration, ``==`` a list, ``append``), but holds the deltas joined, in segments
    of 512, with one end offset per delta: a list of small strings costs about 60 bytes more per delta, and the
    joined text (which the panes and the checks need anyway) would be a second copy. The latest deltas are kept as
    they came until there are 512 of them; ``text()`` joins everything into one string and keeps only that."""

    __slots__ = ("_segs", "_firsts", "_starts", "_tail", "_ends", "_total")

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._segs: list[str] = []  # joined deltas
        self._firsts: list[int] = []  # the index of each segment's first delta
        self._starts: list[int] = []  # the offset of each segment's first character in the whole text
        self._tail: list[str] = []  # the latest deltas, not joined yet
        self._ends = array("I")  # the end offset of every delta in the whole text ("q" past 4G characters)
        self._total = 0
        for item in items:
            self.append(item)

    def append(self, text: str) -> None:
        self._total += len(text)
        try:
            self._ends.append(self._total)
        except OverflowError:
            self._widen()
        tail = self._tail
        tail.append(text)
        if len(tail) >= _FREEZE:
            self._freeze()

    def _widen(self) -> None:
        """Offsets past 4G characters: 8 bytes each from now on."""
        self._ends = array("q", self._ends)
        self._ends.append(self._total)

    def _freeze(self) -> None:
        tail = self._tail
        first = len(self._ends) - len(tail)
        self._firsts.append(first)
        self._starts.append(self._ends[first - 1] if first else 0)
        self._segs.append("".join(tail))
        tail.clear()

    def text(self) -> str:
        """Every delta joined, in one string (kept: it becomes the only segment, so the text is not held twice)."""
        if self._tail:
            self._freeze()
        segs = self._segs
        if len(segs) > 1:
            joined = "".join(segs)
            segs[:] = [joined]
            self._firsts[:] = [0]
            self._starts[:] = [0]
        return segs[0] if segs else ""

    def __len__(self) -> int:
        return len(self._ends)

    def _get(self, i: int) -> str:
        ends = self._ends
        tail_first = len(ends) - len(self._tail)
        if i >= tail_first:
            return self._tail[i - tail_first]
        s = bisect_right(self._firsts, i) - 1
        base = self._starts[s]
        return self._segs[s][(ends[i - 1] if i else 0) - base : ends[i] - base]

    def __getitem__(self, i: Any) -> Any:
        n = len(self._ends)
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(n))]
        i = operator.index(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("chunk index out of range")
        return self._get(i)

    def __iter__(self) -> Iterator[str]:
        ends, segs, firsts, starts, tail = self._ends, list(self._segs), list(self._firsts), list(self._starts), list(self._tail)
        tail_first = len(ends) - len(tail)
        for s, seg in enumerate(segs):
            base = starts[s]
            stop = firsts[s + 1] if s + 1 < len(firsts) else tail_first
            start = base
            for i in range(firsts[s], stop):
                end = ends[i]
                yield seg[start - base : end - base]
                start = end
        yield from tail

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chunks):
            return len(self) == len(other) and list(self) == list(other)
        if isinstance(other, list):
            return len(self) == len(other) and list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Chunks({list(self)!r})"


class Block:
    """A growing piece of text inside an output item: a content part, a summary part, arguments, code..."""

    __slots__ = ("key", "kind", "chunks", "_joined", "_joined_n", "done", "last_event", "first_event", "annotations", "from_final", "_runs")

    def __init__(self, key: tuple, kind: str) -> None:
        self.key = key
        self.kind = kind  # output_text | refusal | summary_text | reasoning_text | arguments | input | code | command
        self.chunks = Chunks()  # the deltas, in order (a sequence of str)
        self._joined = ""
        self._joined_n = 0
        self.done: str | None = None  # the text the stream's own done event(s) carried
        self.first_event: int | None = None
        self.last_event: int | None = None
        self.annotations: list[Any] = []
        self.from_final = False  # filled from a done/terminal payload, not from deltas
        # which event added each chunk, as runs of consecutive events: [event index, chunk index] where each run
        # starts (one run while a block's deltas follow each other); time travel replays deltas from them
        self._runs: list[list] = []

    def append(self, text: str, index: int) -> None:
        k = len(self.chunks)
        self.chunks.append(text)
        if self.first_event is None:
            self.first_event = index
        self.last_event = index
        runs = self._runs
        if not runs or index != runs[-1][0] + (k - runs[-1][1]):
            runs.append([index, k])

    @property
    def deltas_text(self) -> str:
        n = len(self.chunks)
        if self._joined_n != n:
            self._joined = self.chunks.text()
            self._joined_n = n
        return self._joined

    @property
    def text(self) -> str:
        if self.chunks:
            return self.deltas_text
        return self.done or ""


class Item:
    """One entry of ``response.output``."""

    __slots__ = ("output_index", "id", "type", "status", "data", "blocks", "phase", "added_event", "done_event", "placeholder", "partial_images", "structure")

    def __init__(self, output_index: int, item_id: str = "", item_type: str = "", placeholder: bool = False) -> None:
        self.output_index = output_index
        self.id = item_id
        self.type = item_type
        self.status = ""
        self.data: dict[str, Any] = {}
        self.blocks: dict[tuple, Block] = {}
        self.phase = ""  # last tool status event: searching, interpreting, generating, completed...
        self.added_event: int | None = None
        self.done_event: int | None = None
        self.placeholder = placeholder
        self.partial_images = 0

    def block(self, key: tuple, kind: str) -> tuple[Block, bool]:
        b = self.blocks.get(key)
        if b is None:
            b = self.blocks[key] = Block(key, kind)
            return b, True
        return b, False

    def ordered_blocks(self) -> list[Block]:
        return sorted(self.blocks.values(), key=_block_order)

    def text_of(self, *kinds: str) -> str:
        return "".join(b.text for b in self.ordered_blocks() if b.kind in kinds)

    @property
    def name(self) -> str:
        v = self.data.get("name")
        return v if isinstance(v, str) else ""

    def summary(self) -> dict[str, Any]:
        """The item as `print --json` reports it."""
        out: dict[str, Any] = {"output_index": self.output_index, "id": self.id, "type": self.type, "status": self.status or None}
        blocks = self.ordered_blocks()
        if self.type == "message":
            out["text"] = self.text_of("output_text")
            refusal = self.text_of("refusal")
            if refusal or any(b.kind == "refusal" for b in blocks):
                out["refusal"] = refusal
            annotations = [a for b in blocks for a in b.annotations]
            if annotations:
                out["annotations"] = annotations
        elif self.type == "reasoning":
            out["summary"] = [b.text for b in blocks if b.kind == "summary_text"]
            reasoning = [b.text for b in blocks if b.kind == "reasoning_text"]
            if reasoning:
                out["reasoning_text"] = reasoning
        for kind in ("arguments", "input", "code"):
            if any(b.kind == kind for b in blocks):
                out[kind] = self.text_of(kind)
        for key in ("name", "call_id", "server_label"):
            if isinstance(self.data.get(key), str):
                out[key] = self.data[key]
        if self.partial_images:
            out["partial_images"] = self.partial_images
        return out


_KIND_RANK = {"summary_text": 0, "reasoning_text": 1}


def _block_order(b: Block) -> tuple:
    return (_KIND_RANK.get(b.kind, 2), b.key)


class ResponseState:
    """What the events add up to so far."""

    protocol = "responses"

    def __init__(self) -> None:
        self.response: dict[str, Any] = {}  # the latest lifecycle snapshot's response object
        self.items: dict[int, Item] = {}
        self.status = ""
        self.error: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self.terminal_event: int | None = None
        self.terminal_type = ""
        self.events = 0
        self.structure = 0  # bumped when an item or block appears or an item changes state
        self.unknown_types: dict[str, int] = {}
        self.first_delta_event: int | None = None
        self.last_delta: tuple[Item, Block] | None = None  # where the latest delta went

    # -- reading -----------------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        v = self.response.get("id")
        return v if isinstance(v, str) else ""

    @property
    def model(self) -> str:
        v = self.response.get("model")
        return v if isinstance(v, str) else ""

    def ordered_items(self) -> list[Item]:
        return [self.items[k] for k in sorted(self.items)]

    def final(self) -> dict[str, Any]:
        """The final state as `print --json` reports it."""
        return {
            "protocol": self.protocol,
            "id": self.id or None,
            "model": self.model or None,
            "status": self.status or None,
            "usage": self.usage,
            "error": self.error,
            "incomplete_details": self.response.get("incomplete_details"),
            "output": [item.summary() for item in self.ordered_items()],
        }

    def text(self) -> str:
        """The assembled text of every output item, for `print` (and what `--plain` streams)."""
        out: list[str] = []
        prev: tuple[Item, Block] | None = None
        for item, block in self.printable_blocks():
            text = block.text
            if not text:
                continue
            out.append(separator(prev, item, block) + text)
            prev = (item, block)
        return "".join(out)

    def printable_blocks(self) -> list[tuple[Item, Block]]:
        return [(item, b) for item in self.ordered_items() for b in item.ordered_blocks() if b.kind in PRINTED_KINDS]


PRINTED_KINDS = frozenset({"output_text", "refusal", "summary_text", "reasoning_text", "thinking", "arguments", "input", "code", "command"})


def block_label(item: Item, block: Block) -> str:
    if item.type == "message":
        return "" if block.kind == "output_text" else "[refusal] "
    if item.type == "reasoning":
        return "[reasoning summary] " if block.kind == "summary_text" else "[reasoning] "
    return f"[{(item.type + ' ' + item.name).strip()}] "


def separator(prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
    """What goes before ``block``'s text when it follows ``prev``: the output_text parts of one message run on
    (as the SDK's ``output_text`` joins them); anything else starts a paragraph with its label."""
    if prev is None:
        return block_label(item, block)
    if prev[0] is item and prev[1].kind == block.kind == "output_text":
        return ""
    return "\n\n" + block_label(item, block)


class ResponseAssembler:
    """Folds Responses API events into a ``ResponseState``. ``feed`` is O(1) per delta."""

    def __init__(self) -> None:
        self.state = ResponseState()
        self._handlers: dict[str, Callable[[StreamEvent, dict], None]] = {
            "response.created": self._lifecycle,
            "response.in_progress": self._lifecycle,
            "response.queued": self._lifecycle,
            "response.completed": self._lifecycle,
            "response.failed": self._lifecycle,
            "response.incomplete": self._lifecycle,
            "error": self._error,
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.content_part.added": self._part_added,
            "response.content_part.done": self._part_done,
            "response.output_text.delta": self._delta_content("output_text"),
            "response.output_text.done": self._done_content("output_text", "text"),
            "response.output_text.annotation.added": self._annotation,
            "response.refusal.delta": self._delta_content("refusal"),
            "response.refusal.done": self._done_content("refusal", "refusal"),
            "response.reasoning_text.delta": self._delta_content("reasoning_text"),
            "response.reasoning_text.done": self._done_content("reasoning_text", "text"),
            "response.reasoning_summary_part.added": self._summary_part,
            "response.reasoning_summary_part.done": self._summary_part,
            "response.reasoning_summary_text.delta": self._summary_delta,
            "response.reasoning_summary_text.done": self._summary_done,
            "response.function_call_arguments.delta": self._delta_single("arguments"),
            "response.function_call_arguments.done": self._done_single("arguments", "arguments"),
            "response.mcp_call_arguments.delta": self._delta_single("arguments"),
            "response.mcp_call_arguments.done": self._done_single("arguments", "arguments"),
            "response.custom_tool_call_input.delta": self._delta_single("input"),
            "response.custom_tool_call_input.done": self._done_single("input", "input"),
            "response.code_interpreter_call_code.delta": self._delta_single("code"),
            "response.code_interpreter_call_code.done": self._done_single("code", "code"),
            "response.image_generation_call.partial_image": self._partial_image,
            "response.shell_call_command.added": self._shell_command,
            "response.shell_call_command.delta": self._shell_command,
            "response.shell_call_command.done": self._shell_command,
        }
        for tool, phases in {
            "web_search_call": ("in_progress", "searching", "completed"),
            "file_search_call": ("in_progress", "searching", "completed"),
            "code_interpreter_call": ("in_progress", "interpreting", "completed"),
            "image_generation_call": ("in_progress", "generating", "completed"),
            "mcp_list_tools": ("in_progress", "completed", "failed"),
            "mcp_call": ("in_progress", "completed", "failed"),
            "compaction": ("compacting",),
        }.items():
            for phase in phases:
                self._handlers[f"response.{tool}.{phase}"] = self._phase
        self._ignored = {"keepalive", "response.audio.delta", "response.audio.done", "response.audio.transcript.delta", "response.audio.transcript.done", "response.shell_call_output_content.delta", "response.shell_call_output_content.done"}

    def feed(self, ev: StreamEvent) -> None:
        st = self.state
        st.events += 1
        shape = ev._shape  # (kind, name, type, ...): ev.kind and ev.type without two property calls per event
        if shape[0] != "event":
            return
        p = ev.payload
        if p.__class__ is not dict and not isinstance(p, dict):
            return
        etype = shape[2]
        handler = self._handlers.get(etype)
        if handler is not None:
            handler(ev, p)
        elif etype not in self._ignored:
            st.unknown_types[etype] = st.unknown_types.get(etype, 0) + 1

    def feed_all(self, events: Iterable[StreamEvent]) -> ResponseState:
        for ev in events:
            self.feed(ev)
        return self.state

    # -- helpers -----------------------------------------------------------------------------------------------
    def _item_for(self, ev: StreamEvent, p: dict, guess_type: str = "") -> Item:
        st = self.state
        idx = p.get("output_index")
        if not isinstance(idx, int) or isinstance(idx, bool):
            # no usable output_index: find the item by id, or park it after the known items
            item_id = p.get("item_id")
            for item in st.items.values():
                if item_id and item.id == item_id:
                    return item
            idx = (max(st.items) + 1) if st.items else 0
        item = st.items.get(idx)
        if item is None:
            item_id = p.get("item_id")
            item = st.items[idx] = Item(idx, item_id if isinstance(item_id, str) else "", guess_type, placeholder=True)
            st.structure += 1
        return item

    def _block(self, item: Item, key: tuple, kind: str) -> Block:
        b, created = item.block(key, kind)
        if created:
            self.state.structure += 1
        return b

    def _append(self, item: Item, key: tuple, kind: str, delta: str, ev: StreamEvent) -> None:
        block = item.blocks.get(key)
        if block is None:
            block = self._block(item, key, kind)
        index = ev.index
        # Block.append and Chunks.append, inline: this runs once per delta
        chunks = block.chunks
        ends = chunks._ends
        k = len(ends)
        chunks._total += len(delta)
        try:
            ends.append(chunks._total)
        except OverflowError:
            chunks._widen()
        tail = chunks._tail
        tail.append(delta)
        if len(tail) >= _FREEZE:
            chunks._freeze()
        if block.first_event is None:
            block.first_event = index
        block.last_event = index
        runs = block._runs
        if not runs:
            runs.append([index, k])
        else:
            run = runs[-1]
            if index != run[0] + (k - run[1]):
                runs.append([index, k])
        st = self.state
        last = st.last_delta
        if last is None or last[1] is not block:  # a block belongs to one item: the same block, the same pair
            st.last_delta = (item, block)
        if st.first_delta_event is None:
            st.first_delta_event = index

    def _item_at(self, ev: StreamEvent, p: dict, guess_type: str = "") -> Item:
        """``_item_for`` with the common case first: an int ``output_index`` of a known item."""
        idx = p.get("output_index")
        if idx.__class__ is int:
            item = self.state.items.get(idx)
            if item is not None:
                return item
        return self._item_for(ev, p, guess_type)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _lifecycle(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        resp = p.get("response")
        if isinstance(resp, dict):
            st.response = resp
            status = resp.get("status")
            if isinstance(status, str):
                st.status = status
            usage = resp.get("usage")
            if isinstance(usage, dict):
                st.usage = usage
            err = resp.get("error")
            if isinstance(err, dict):
                st.error = err
        if ev.type in TERMINAL_TYPES:
            st.terminal_event = ev.index
            st.terminal_type = ev.type
            if not st.status or st.status in ("in_progress", "queued"):
                st.status = ev.type.removeprefix("response.")
            output = resp.get("output") if isinstance(resp, dict) else None
            if isinstance(output, list):
                for i, data in enumerate(output):
                    if isinstance(data, dict):
                        self._fill_from(st.items.get(i), i, data)
        elif not st.status:
            st.status = "in_progress"

    def _error(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        nested = p.get("error")
        if isinstance(nested, dict):
            st.error = nested
        else:
            st.error = {k: p.get(k) for k in ("code", "message", "param") if k in p}
        st.status = "failed"
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "error"
        st.structure += 1

    # -- items and parts ---------------------------------------------------------------------------------------
    def _item_added(self, ev: StreamEvent, p: dict) -> None:
        data = p.get("item")
        if not isinstance(data, dict):
            return  # the SDK skips an added event with no item too
        item = self._item_for(ev, p, str(data.get("type", "")))
        item.placeholder = False
        item.data = data
        item.id = str(data.get("id", item.id) or item.id)
        item.type = str(data.get("type", item.type) or item.type)
        status = data.get("status")
        if isinstance(status, str):
            item.status = status
        if item.added_event is None:
            item.added_event = ev.index
        for key in ("arguments", "input", "code"):
            v = data.get(key)
            if isinstance(v, str) and v:
                self._block(item, (key,), key).append(v, ev.index)
        self.state.structure += 1

    def _item_done(self, ev: StreamEvent, p: dict) -> None:
        data = p.get("item")
        if not isinstance(data, dict):
            return
        item = self._item_for(ev, p, str(data.get("type", "")))
        item.done_event = ev.index
        self._fill_from(item, item.output_index, data)
        self.state.structure += 1

    def _fill_from(self, item: Item | None, idx: int, data: dict) -> None:
        """Take an item's final payload: its status, and any text no delta carried."""
        st = self.state
        if item is None:
            item = st.items[idx] = Item(idx, str(data.get("id", "")), str(data.get("type", "")))
            st.structure += 1
        if item.placeholder or not item.type:
            item.type = str(data.get("type", item.type))
            item.id = str(data.get("id", item.id))
            item.placeholder = False
        # the texts first: each one that equals what a block holds is swapped for that string in the payload,
        # so a long text is kept once, not once per done event, item and final response that repeats it
        content = data.get("content")
        if isinstance(content, list):
            for ci, part in enumerate(content):
                if isinstance(part, dict):
                    kind = str(part.get("type", "output_text"))
                    field = "refusal" if kind == "refusal" else "text"
                    text = part.get(field)
                    shared = self._final_text(item, ("content", ci), kind, text)
                    if shared is not text:
                        part[field] = shared
        summary = data.get("summary")
        if isinstance(summary, list):
            for si, part in enumerate(summary):
                if isinstance(part, dict):
                    text = part.get("text")
                    shared = self._final_text(item, ("summary", si), "summary_text", text)
                    if shared is not text:
                        part["text"] = shared
        for key in ("arguments", "input", "code"):
            if key in data and isinstance(data[key], str):
                text = data[key]
                shared = self._final_text(item, (key,), key, text)
                if shared is not text:
                    data[key] = shared
        merged = dict(item.data)
        merged.update(data)
        item.data = merged
        status = data.get("status")
        if isinstance(status, str):
            item.status = status

    def _final_text(self, item: Item, key: tuple, kind: str, text: Any) -> Any:
        """Keep a final payload's text beside the block's deltas; returns ``text`` or an equal string already held."""
        if not isinstance(text, str):
            return text
        b = item.blocks.get(key)
        if b is None:
            if not text and kind in ("arguments", "input", "code"):
                return text
            b = self._block(item, key, kind)
            b.from_final = True
        text = _one_copy(b, text)
        if b.done is None or b.from_final:
            b.done = text
        return text

    def _part_added(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "message")
        part = p.get("part")
        kind = str(part.get("type", "output_text")) if isinstance(part, dict) else "output_text"
        b = self._block(item, ("content", _int(p.get("content_index"))), kind)
        b.kind = kind
        if isinstance(part, dict):
            initial = part.get("refusal") if kind == "refusal" else part.get("text")
            if isinstance(initial, str) and initial and not b.chunks:
                b.append(initial, ev.index)

    def _part_done(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "message")
        part = p.get("part")
        if isinstance(part, dict):
            kind = str(part.get("type", "output_text"))
            text = part.get("refusal") if kind == "refusal" else part.get("text")
            b = self._block(item, ("content", _int(p.get("content_index"))), kind)
            if isinstance(text, str):
                b.done = _one_copy(b, text)

    def _delta_content(self, kind: str) -> Callable[[StreamEvent, dict], None]:
        guess = "reasoning" if kind == "reasoning_text" else "message"

        def handle(ev: StreamEvent, p: dict) -> None:
            delta = p.get("delta")
            if delta.__class__ is not str and not isinstance(delta, str):
                return
            item = self._item_at(ev, p, guess)
            ci = p.get("content_index")
            self._append(item, ("content", ci if ci.__class__ is int else _int(ci)), kind, delta, ev)

        return handle

    def _done_content(self, kind: str, field: str) -> Callable[[StreamEvent, dict], None]:
        guess = "reasoning" if kind == "reasoning_text" else "message"

        def handle(ev: StreamEvent, p: dict) -> None:
            item = self._item_for(ev, p, guess)
            b = self._block(item, ("content", _int(p.get("content_index"))), kind)
            text = p.get(field)
            if isinstance(text, str):
                b.done = _one_copy(b, text)

        return handle

    def _annotation(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "message")
        b = self._block(item, ("content", _int(p.get("content_index"))), "output_text")
        b.annotations.append(p.get("annotation"))
        self.state.structure += 1

    def _summary_part(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "reasoning")
        b = self._block(item, ("summary", _int(p.get("summary_index"))), "summary_text")
        part = p.get("part")
        if ev.type.endswith(".done") and isinstance(part, dict) and isinstance(part.get("text"), str):
            b.done = _one_copy(b, part["text"])

    def _summary_delta(self, ev: StreamEvent, p: dict) -> None:
        delta = p.get("delta")
        if delta.__class__ is not str and not isinstance(delta, str):
            return
        item = self._item_at(ev, p, "reasoning")
        si = p.get("summary_index")
        self._append(item, ("summary", si if si.__class__ is int else _int(si)), "summary_text", delta, ev)

    def _summary_done(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "reasoning")
        b = self._block(item, ("summary", _int(p.get("summary_index"))), "summary_text")
        if isinstance(p.get("text"), str):
            b.done = _one_copy(b, p["text"])

    def _delta_single(self, kind: str) -> Callable[[StreamEvent, dict], None]:
        key = (kind,)

        def handle(ev: StreamEvent, p: dict) -> None:
            delta = p.get("delta")
            if delta.__class__ is not str and not isinstance(delta, str):
                return
            idx = p.get("output_index")
            item = self.state.items.get(idx) if idx.__class__ is int else None
            if item is None:
                item = self._item_for(ev, p, ev.type.split(".")[1].removesuffix("_arguments").removesuffix("_input").removesuffix("_code"))
            self._append(item, key, kind, delta, ev)

        return handle

    def _done_single(self, kind: str, field: str) -> Callable[[StreamEvent, dict], None]:
        def handle(ev: StreamEvent, p: dict) -> None:
            item = self._item_for(ev, p)
            b = self._block(item, (kind,), kind)
            if isinstance(p.get(field), str):
                b.done = _one_copy(b, p[field])

        return handle

    def _phase(self, ev: StreamEvent, p: dict) -> None:
        parts = ev.type.split(".")
        item = self._item_for(ev, p, parts[1])
        item.phase = parts[-1]
        self.state.structure += 1

    def _partial_image(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "image_generation_call")
        item.partial_images += 1
        item.phase = "partial image"
        self.state.structure += 1

    def _shell_command(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "shell_call")
        key = ("command", _int(p.get("command_index")))
        b = self._block(item, key, "command")
        if ev.type.endswith(".delta") and isinstance(p.get("delta"), str):
            self._append(item, key, "command", p["delta"], ev)
        elif isinstance(p.get("command"), str):
            if ev.type.endswith(".added") and p["command"] and not b.chunks:
                b.append(p["command"], ev.index)
            else:
                b.done = p["command"]


def _one_copy(b: Block, text: str) -> str:
    """``text``, or an equal string the block already holds (its joined deltas, or its done text): the long text of
    a message comes again in ``output_text.done``, ``content_part.done``, ``output_item.done`` and the final
    response; each would otherwise be a copy of its own."""
    if len(text) < 64:
        return text
    if b.chunks:
        joined = b.deltas_text
        if joined == text:
            return joined
    done = b.done
    if done is not None and done == text:
        return done
    return text


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def assemble(events: Iterable[StreamEvent]) -> ResponseState:
    """Fold events from the start: the state as of the last of them (time travel folds a prefix)."""
    return ResponseAssembler().feed_all(events)


# the delta events whose handler, once their item and block exist, only appends the payload's delta to that block
_REPLAYABLE = frozenset({
    "response.output_text.delta", "response.refusal.delta", "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta", "response.function_call_arguments.delta",
    "response.mcp_call_arguments.delta", "response.custom_tool_call_input.delta",
    "response.code_interpreter_call_code.delta",
})


class _Cursor:
    """Where ``assemble_prefix`` is in one block of the state it replays from."""

    __slots__ = ("output_index", "block", "chunks", "k", "n", "r", "runs")


def assemble_prefix(events: list[StreamEvent], built: ResponseState) -> ResponseState:
    """``assemble(events)`` for a prefix of the very events that folded into ``built``, without parsing the delta
    events' payloads again (a model lets them go once folded): a delta event whose item and block already exist in
    the state being rebuilt appends the chunk it added to ``built`` (the blocks record which event added each
    chunk). Every other event is folded as ``assemble`` does. The result is the same state."""
    asm = ResponseAssembler()
    st = asm.state
    pending: dict[Any, Any] = {}  # event index -> the cursor (or list of cursors) whose next chunk it added

    def put(cur: _Cursor) -> None:
        k = cur.k
        if k >= cur.n:
            return
        runs, r = cur.runs, cur.r
        if r + 1 < len(runs) and k >= runs[r + 1][1]:
            r += 1
            cur.r = r
        key = runs[r][0] + (k - runs[r][1])
        other = pending.get(key)
        if other is None:
            pending[key] = cur
        elif other.__class__ is list:
            other.append(cur)
        else:
            pending[key] = [other, cur]

    for item in built.items.values():
        for b in item.blocks.values():
            if b._runs and len(b.chunks):
                cur = _Cursor()
                cur.output_index, cur.block, cur.chunks = item.output_index, b, iter(b.chunks)
                cur.k, cur.n, cur.r, cur.runs = 0, len(b.chunks), 0, b._runs
                put(cur)

    previous = None
    append = asm._append
    items = st.items
    for ev in events:
        i = ev.index
        if previous is not None and not (i.__class__ is int and i > previous):
            return assemble(events)  # indexes not strictly increasing: not events a model numbered, fold them all
        previous = i if i.__class__ is int else None
        waiting = pending.pop(i, None)
        if waiting is not None and waiting.__class__ is _Cursor and ev.type in _REPLAYABLE and ev.kind == "event":
            item = items.get(waiting.output_index)
            b = waiting.block
            if item is not None and b.key in item.blocks:
                st.events += 1
                append(item, b.key, b.kind, next(waiting.chunks), ev)
                waiting.k += 1
                put(waiting)
                continue
        asm.feed(ev)
        if waiting is not None:
            for cur in waiting if waiting.__class__ is list else (waiting,):
                next(cur.chunks)
                cur.k += 1
                put(cur)
    return st
