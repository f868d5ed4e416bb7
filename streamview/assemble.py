"""The Responses API assembler: a pure fold of events into a ``ResponseState``, O(1) per delta.

Deltas are appended to per-block chunk lists and joined only when read. Every event is looked up by
``output_index`` (as the official SDK does); an event for an item or part that was never announced still gets a
(placeholder) item or block, so nothing the stream sent is lost. Text that a ``.done`` event, an
``output_item.done`` or the terminal ``response`` carries is kept beside the deltas; it fills a block only when no
delta ever arrived for it (a server that streams no deltas), so the pane shows what the deltas built.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .events import StreamEvent

TERMINAL_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete"})
LIFECYCLE_TYPES = TERMINAL_TYPES | {"response.created", "response.in_progress", "response.queued"}


class Block:
    """A growing piece of text inside an output item: a content part, a summary part, arguments, code..."""

    __slots__ = ("key", "kind", "chunks", "_joined", "_joined_n", "done", "last_event", "first_event", "annotations", "from_final")

    def __init__(self, key: tuple, kind: str) -> None:
        self.key = key
        self.kind = kind  # output_text | refusal | summary_text | reasoning_text | arguments | input | code | command
        self.chunks: list[str] = []
        self._joined = ""
        self._joined_n = 0
        self.done: str | None = None  # the text the stream's own done event(s) carried
        self.first_event: int | None = None
        self.last_event: int | None = None
        self.annotations: list[Any] = []
        self.from_final = False  # filled from a done/terminal payload, not from deltas

    def append(self, text: str, index: int) -> None:
        self.chunks.append(text)
        if self.first_event is None:
            self.first_event = index
        self.last_event = index

    @property
    def deltas_text(self) -> str:
        if self._joined_n != len(self.chunks):
            self._joined = "".join(self.chunks)
            self._joined_n = len(self.chunks)
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


PRINTED_KINDS = frozenset({"output_text", "refusal", "summary_text", "reasoning_text", "arguments", "input", "code", "command"})


def block_label(item: Item, block: Block) -> str:
    if item.type == "message":
        return "" if block.kind == "output_text" else "[refusal] "
    if item.type == "reasoning":
        return f"[reasoning {block.kind.removesuffix('_text')}] "
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
        p = ev.payload
        if ev.kind != "event" or not isinstance(p, dict):
            return
        handler = self._handlers.get(ev.type)
        if handler is not None:
            handler(ev, p)
        elif ev.type not in self._ignored:
            st.unknown_types[ev.type] = st.unknown_types.get(ev.type, 0) + 1

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
        block = self._block(item, key, kind)
        block.append(delta, ev.index)
        st = self.state
        st.last_delta = (item, block)
        if st.first_delta_event is None:
            st.first_delta_event = ev.index

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
        merged = dict(item.data)
        merged.update(data)
        item.data = merged
        status = data.get("status")
        if isinstance(status, str):
            item.status = status
        content = data.get("content")
        if isinstance(content, list):
            for ci, part in enumerate(content):
                if isinstance(part, dict):
                    kind = str(part.get("type", "output_text"))
                    text = part.get("refusal") if kind == "refusal" else part.get("text")
                    self._final_text(item, ("content", ci), kind, text)
        summary = data.get("summary")
        if isinstance(summary, list):
            for si, part in enumerate(summary):
                if isinstance(part, dict):
                    self._final_text(item, ("summary", si), "summary_text", part.get("text"))
        for key in ("arguments", "input", "code"):
            if key in data and isinstance(data[key], str):
                self._final_text(item, (key,), key, data[key])

    def _final_text(self, item: Item, key: tuple, kind: str, text: Any) -> None:
        if not isinstance(text, str):
            return
        b = item.blocks.get(key)
        if b is None:
            if not text and kind in ("arguments", "input", "code"):
                return
            b = self._block(item, key, kind)
            b.from_final = True
        if b.done is None or b.from_final:
            b.done = text

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
                b.done = text

    def _delta_content(self, kind: str) -> Callable[[StreamEvent, dict], None]:
        guess = "reasoning" if kind == "reasoning_text" else "message"

        def handle(ev: StreamEvent, p: dict) -> None:
            delta = p.get("delta")
            if not isinstance(delta, str):
                return
            item = self._item_for(ev, p, guess)
            self._append(item, ("content", _int(p.get("content_index"))), kind, delta, ev)

        return handle

    def _done_content(self, kind: str, field: str) -> Callable[[StreamEvent, dict], None]:
        guess = "reasoning" if kind == "reasoning_text" else "message"

        def handle(ev: StreamEvent, p: dict) -> None:
            item = self._item_for(ev, p, guess)
            b = self._block(item, ("content", _int(p.get("content_index"))), kind)
            text = p.get(field)
            if isinstance(text, str):
                b.done = text

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
            b.done = part["text"]

    def _summary_delta(self, ev: StreamEvent, p: dict) -> None:
        delta = p.get("delta")
        if not isinstance(delta, str):
            return
        item = self._item_for(ev, p, "reasoning")
        self._append(item, ("summary", _int(p.get("summary_index"))), "summary_text", delta, ev)

    def _summary_done(self, ev: StreamEvent, p: dict) -> None:
        item = self._item_for(ev, p, "reasoning")
        b = self._block(item, ("summary", _int(p.get("summary_index"))), "summary_text")
        if isinstance(p.get("text"), str):
            b.done = p["text"]

    def _delta_single(self, kind: str) -> Callable[[StreamEvent, dict], None]:
        def handle(ev: StreamEvent, p: dict) -> None:
            delta = p.get("delta")
            if not isinstance(delta, str):
                return
            item = self._item_for(ev, p, ev.type.split(".")[1].removesuffix("_arguments").removesuffix("_input").removesuffix("_code"))
            self._append(item, (kind,), kind, delta, ev)

        return handle

    def _done_single(self, kind: str, field: str) -> Callable[[StreamEvent, dict], None]:
        def handle(ev: StreamEvent, p: dict) -> None:
            item = self._item_for(ev, p)
            b = self._block(item, (kind,), kind)
            if isinstance(p.get(field), str):
                b.done = p[field]

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


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def assemble(events: Iterable[StreamEvent]) -> ResponseState:
    """Fold events from the start: the state as of the last of them (time travel folds a prefix)."""
    return ResponseAssembler().feed_all(events)
