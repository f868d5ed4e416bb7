"""The neutral state of a stream: what every protocol's assembler fills and every pane, ``print --json`` and
``--plain`` read.

A ``StreamState`` holds the stream's ``items`` (by position: messages, reasoning, tool calls, tool results...), each
with its ``blocks`` of growing text (a ``Block`` keeps its deltas in ``Chunks``), the status, the usage (under the
neutral names ``input_tokens``, ``output_tokens``, ``total_tokens``, ``input_tokens_details.cached_tokens``,
``output_tokens_details.reasoning_tokens``, and ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` /
``tool_use_input_tokens`` where a protocol reports them), the error, the terminal event, and ``response``: the latest
metadata snapshot as the protocol's server sent it. A protocol's own extras are typed fields of its subclass.

Block kinds (the neutral vocabulary): ``output_text`` (the answer), ``refusal``, ``summary_text`` and
``reasoning_text`` (reasoning shown), ``thinking``, ``arguments`` (a tool call's JSON arguments), ``input``, ``code``,
``command``, and protocol-specific kinds shown as they are.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple, TYPE_CHECKING, Any, Iterable, Iterator

from . import bigjson
from .protocols.base import bind_handlers

if TYPE_CHECKING:
    from .events import StreamEvent

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

    def same_text(self, text: str) -> str | None:
        """The deltas' text when it equals ``text`` (None when it does not), compared segment by segment, not
        joined first; ``text`` then becomes the only segment unless the joined text is kept already. A message's
        text comes again whole at the end (``.done``, the final response): it is held once, and no third copy is
        made to compare it with (39 MB for the 1M transcript's, whose one emoji makes every character 4 bytes)."""
        if len(text) != self._total:
            return None
        segs, tail = self._segs, self._tail
        if len(segs) == 1 and not tail:
            return segs[0] if segs[0] == text else None
        pos = 0
        for seg in (*segs, *tail):
            if not text.startswith(seg, pos):
                return None
            pos += len(seg)
        segs[:] = [text] if text else []
        self._firsts[:] = [0] if text else []
        self._starts[:] = [0] if text else []
        tail.clear()
        return text

    def __len__(self) -> int:
        return len(self._ends)

    def text_from(self, k: int) -> str:
        """The deltas from the k-th on, joined (``"".join(chunks[k:])``), in what they hold, not one call per delta:
        a pane that shows a growing block reads what arrived since its last frame."""
        n = len(self._ends)
        if k >= n:
            return ""
        k = max(0, k)
        tail = self._tail
        tail_first = n - len(tail)
        if k >= tail_first:
            return "".join(tail[k - tail_first :])
        s = bisect_right(self._firsts, k) - 1
        start = (self._ends[k - 1] if k else 0) - self._starts[s]
        return "".join([self._segs[s][start:], *self._segs[s + 1 :], *tail])

    def text_between(self, k: int, m: int) -> str:
        """The deltas from the k-th to before the m-th, joined (``"".join(chunks[k:m])``)."""
        ends = self._ends
        n = len(ends)
        m = min(m, n)
        if k >= m:
            return ""
        if m == n:
            return self.text_from(k)
        k = max(0, k)
        tail = self._tail
        tail_first = n - len(tail)
        if k >= tail_first:
            return "".join(tail[k - tail_first : m - tail_first])
        lo, hi = (ends[k - 1] if k else 0), ends[m - 1]  # the characters wanted, in the whole text
        segs, starts = self._segs, self._starts
        pieces = []
        for s in range(bisect_right(self._firsts, k) - 1, len(segs)):  # only the segments they lie in
            start = starts[s]
            if start >= hi:
                break
            pieces.append(segs[s][lo - start if lo > start else 0 : hi - start])
        if m > tail_first:
            pieces.extend(tail[: m - tail_first])
        return "".join(pieces)

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

    # -- checkpoints (``snapshot``): a block's deltas are kept by reference and a count, never copied -------------
    def __deepcopy__(self, memo: dict) -> "Chunks | _Prefix":
        if memo.get(_SNAPSHOT):
            return _Prefix(self, len(self._ends))
        return Chunks.prefix(self, len(self._ends))

    @classmethod
    def prefix(cls, live: "Chunks", n: int) -> "Chunks":
        """A Chunks of the first ``n`` deltas of ``live`` (its own copy, in C-speed slices: the joined text cut at
        the n-th end, the end offsets sliced)."""
        out = cls()
        if n <= 0:
            return out
        text = live.text()
        end = live._ends[n - 1]
        out._segs, out._firsts, out._starts = [text[:end]], [0], [0]
        out._ends = live._ends[:n]
        out._total = end
        return out


_SNAPSHOT = "streamview.state.snapshot"  # a key in deepcopy's memo: Chunks are taken by reference


class _Prefix:
    """In a snapshot: the first ``n`` deltas of a live ``Chunks`` (which only ever grows), not a copy of them."""

    __slots__ = ("live", "n")

    def __init__(self, live: Chunks, n: int) -> None:
        self.live, self.n = live, n

    def __deepcopy__(self, memo: dict) -> Chunks:
        return Chunks.prefix(self.live, self.n)


def snapshot(obj: Any) -> Any:
    """A copy of an assembler (its state and whatever it keeps) to restore later (``restore``), in which every
    block's deltas are the live ``Chunks`` and a count: a checkpoint costs what the state holds besides its texts.
    The live assembler goes on folding; its ``Chunks`` only grow, so the counts still say what they held."""
    import copy

    return copy.deepcopy(obj, {_SNAPSHOT: True})


def restore(snap: Any) -> Any:
    """A working assembler from a ``snapshot``, as it was then (its texts copied out of the live ones)."""
    import copy

    return copy.deepcopy(snap)


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

    def same_text(self, text: str) -> str | None:
        """The deltas' text when it equals ``text``, held once from then on (``Chunks.same_text``); else None."""
        joined = self.chunks.same_text(text)
        if joined is not None:
            self._joined = joined
            self._joined_n = len(self.chunks)
            bigjson.known(joined)  # when the text comes again (a stream's last events), it is not made again
        return joined

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

    __slots__ = ("position", "id", "type", "status", "data", "blocks", "phase", "added_event", "done_event", "placeholder", "partial_images", "structure")

    def __init__(self, position: int, item_id: str = "", item_type: str = "", placeholder: bool = False) -> None:
        self.position = position  # its place in the stream's output (the protocol's own index of it)
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


_KIND_RANK = {"summary_text": 0, "reasoning_text": 1}


def _block_order(b: Block) -> tuple:
    return (_KIND_RANK.get(b.kind, 2), b.key)


class StreamState:
    """What the events add up to so far (the neutral state; each protocol's assembler fills a subclass)."""

    protocol = ""  # the name of the protocol that filled it
    note = ""  # why nothing is assembled (a stream of no known protocol): the message pane shows it
    placeholder_note = "never announced"  # said of an item the stream used before announcing it

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

    @property
    def stop_reason(self) -> str | None:
        """Why the model stopped, in the protocol's words, where it says (None: it does not, or not yet)."""
        return None

    def ordered_items(self) -> list[Item]:
        return [self.items[k] for k in sorted(self.items)]

    def item_summary(self, item: Item) -> dict[str, Any]:
        """One item as ``print --json`` reports it (a protocol's state says it in its own words)."""
        out: dict[str, Any] = {"position": item.position, "id": item.id, "type": item.type, "status": item.status or None}
        for block in item.ordered_blocks():
            out.setdefault("blocks", []).append({"kind": block.kind, "text": block.text})
        return out

    def citation(self, annotation: Any) -> "Citation | None":
        """One of a block's ``annotations`` as the panes cite it: the source in one line and where in the block's
        text its marker goes (None: after the text). None: not a citation (the panes leave it out). This reads the
        common shapes (a ``url`` and ``title``, a file's name and id, an ``end_index`` / ``index``); a protocol
        whose annotations say it otherwise overrides it."""
        return generic_citation(annotation)

    def details(self, item: Item) -> list["Detail"]:
        """What an item did and what came back, beyond its blocks' text, as labelled texts (a tool call's action,
        its results, its error): the message pane, the Markdown view and ``print`` show them. A protocol's state
        builds them from the item's payload; none by default."""
        return []

    def holds(self, item: Item) -> bool:
        """Whether ``item``'s text must wait before it is printed as it streams (``--plain``): a protocol that
        interleaves several answers on the wire holds the later ones until the earlier have finished."""
        return False

    def separator(self, prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
        """What goes before ``block``'s text when it follows ``prev`` in ``text()``."""
        return separator(prev, item, block)

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
            "output": [self.item_summary(item) for item in self.ordered_items()],
        }

    def text(self) -> str:
        """The assembled text of every output item, for `print` (and what `--plain` streams): each item's printed
        blocks, then what it did and what came back (``details``), each detail a labelled paragraph."""
        out: list[str] = []
        prev: tuple[Item, Block] | None = None
        for item in self.ordered_items():
            for block in item.ordered_blocks():
                if block.kind not in PRINTED_KINDS:
                    continue
                text = block.text
                if not text:
                    continue
                out.append(self.separator(prev, item, block) + text)
                prev = (item, block)
            for d in self.details(item):
                out.append(("\n\n" if out else "") + detail_text(item, d))
                prev = (item, DETAIL)
        return "".join(out)

    def printable_blocks(self) -> list[tuple[Item, Block]]:
        return [(item, b) for item in self.ordered_items() for b in item.ordered_blocks() if b.kind in PRINTED_KINDS]


class Citation(NamedTuple):
    source: str  # one line: "Title <https://...>", "report.pdf (file-abc)"
    at: int | None  # the character offset in the block's text where its marker goes (None: after the text)


class Detail(NamedTuple):
    label: str  # "action", "results", "output", "error"...
    text: str  # already compact: clipped, with what was left out counted; never a base64 blob


DETAIL = Block(("detail",), "detail")  # what ``text()`` last printed when it was a detail (for the separator)


def detail_text(item: Item, d: Detail) -> str:
    """A detail as ``print`` writes it: ``[web_search_call · search] "query"``."""
    head = " ".join(x for x in (item.type, item.name) if x)
    return f"[{head} · {d.label}] {d.text}" if head else f"[{d.label}] {d.text}"


def generic_citation(a: Any) -> Citation | None:
    if not isinstance(a, dict):
        return None
    inner = next((v for v in a.values() if isinstance(v, dict) and ("url" in v or "file_id" in v)), None)
    d = {**a, **inner} if inner is not None else a  # {"type": "url_citation", "url_citation": {...}} (as some servers nest it)
    url, title = d.get("url"), d.get("title")
    name = d.get("filename") or d.get("document_title") or d.get("file_id")
    if isinstance(url, str) and url:
        source = f"{title} <{url}>" if isinstance(title, str) and title else f"<{url}>"
    elif isinstance(name, str) and name:
        fid = d.get("file_id")
        source = f"{name} ({fid})" if isinstance(fid, str) and fid and fid != name else name
    elif isinstance(title, str) and title:
        source = title
    else:
        return None
    at = next((d[k] for k in ("end_index", "index", "end_char_index") if type(d.get(k)) is int), None)
    return Citation(source, at)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit:,} more characters)"


PRINTED_KINDS = frozenset({"output_text", "refusal", "summary_text", "reasoning_text", "thinking", "arguments", "input", "code", "command", "diff", "transcript"})


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


class TableAssembler:
    """What every assembler shares: the state, the dispatch made from the protocol's events table
    (``base.bind_handlers``: event type -> handler(ev, payload)), and the two primitives that grow the state: a new
    block (``_block``) and a delta appended to one (``_append``, O(1), the hot path of every fold)."""

    def __init__(self, state: StreamState, events) -> None:
        self.state = state
        self._events = events
        self._handlers = bind_handlers(self, events)
        self._ignored = frozenset(t for t, spec in events.items() if spec.handler is None)

    def __deepcopy__(self, memo: dict) -> "TableAssembler":
        """A copy that folds into its own state (``snapshot``, ``restore``): everything copied but the dispatch,
        which is bound again (its handlers are methods and closures over this assembler)."""
        import copy

        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for name, value in self.__dict__.items():
            if name != "_handlers":
                new.__dict__[name] = value if name == "_events" else copy.deepcopy(value, memo)
        new._handlers = bind_handlers(new, self._events)
        return new

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

    def feed_all(self, events: Iterable[StreamEvent]) -> StreamState:
        for ev in events:
            self.feed(ev)
        return self.state

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

