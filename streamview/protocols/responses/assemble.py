"""The Responses API assembler: a pure fold of events into a ``ResponseState``, O(1) per delta.

Deltas are appended to per-block chunk sequences (``Chunks``) and joined only when read. Every event is looked up by
``output_index`` (as the official SDK does); an event for an item or part that was never announced still gets a
(placeholder) item or block, so nothing the stream sent is lost. Text that a ``.done`` event, an
``output_item.done`` or the terminal ``response`` carries is kept beside the deltas; it fills a block only when no
delta ever arrived for it (a server that streams no deltas), so the pane shows what the deltas built. The dispatch
is made from the events table (``events.EVENTS``).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from ...events import StreamEvent
from ...state import Block, Detail, Item, StreamState, TableAssembler
from .details import compact, item_details
from .events import EVENTS, REPLAYABLE, TERMINAL_TYPES


class ResponseState(StreamState):
    """What a Responses API stream adds up to so far."""

    protocol = "responses"
    placeholder_note = "never announced by output_item.added"

    def __init__(self) -> None:
        super().__init__()
        self.audio: Item | None = None  # response.audio.* events (they name no item): transcript and bytes
        self.logprobs: dict[Block, TokenLogprobs] = {}  # block -> the logprobs its deltas carried

    def ordered_items(self) -> list[Item]:
        items = [self.items[k] for k in sorted(self.items)]
        return items + [self.audio] if self.audio is not None else items

    def item_summary(self, item: Item) -> dict[str, Any]:
        """An output item as `print --json` reports it: the item's payload in the API's own shape (every field the
        stream sent, base64 payloads replaced by their size), its texts as the stream assembled them, plus
        ``output_index`` and, for a message, ``text`` (its output_text parts joined)."""
        data = item.data
        out: dict[str, Any] = {"output_index": item.position}
        out.update(compact({k: v for k, v in data.items() if k != "partial_sizes"}))
        out.update(id=item.id, type=item.type, status=item.status or None)
        blocks = item.ordered_blocks()
        parts = {b.key[1]: b for b in blocks if b.key[0] == "content"}
        if parts or isinstance(data.get("content"), list):
            sent = data.get("content") if isinstance(data.get("content"), list) else []
            content = []
            for i in sorted(set(parts) | set(range(len(sent)))):
                part = dict(compact(sent[i])) if i < len(sent) and isinstance(sent[i], dict) else {}
                b = parts.get(i)
                if b is not None:
                    part["type"] = b.kind
                    part["refusal" if b.kind == "refusal" else "text"] = b.text
                    if b.kind == "output_text":
                        part["annotations"] = list(b.annotations) if b.annotations else part.get("annotations", [])
                content.append(part)
            out["content"] = content
        if item.type == "message":
            out["text"] = item.text_of("output_text")
        summary = [b for b in blocks if b.key[0] == "summary"]
        if summary or item.type == "reasoning":
            out["summary"] = [{**(compact(data["summary"][b.key[1]]) if _has(data.get("summary"), b.key[1]) else {}),
                               "type": "summary_text", "text": b.text} for b in summary]
        for kind in ("arguments", "input", "code"):
            if any(b.kind == kind for b in blocks):
                out[kind] = item.text_of(kind)
        diff = item.blocks.get(("diff",))
        if diff is not None:
            out["operation"] = {**(out.get("operation") or {}), "diff": diff.text}
        commands = [b for b in blocks if b.kind == "command"]
        if commands and isinstance(out.get("action"), dict) and not out["action"].get("commands"):
            out["action"] = {**out["action"], "commands": [b.text for b in commands]}
        if item.partial_images:
            out["partial_images"] = item.partial_images
            sizes = data.get("partial_sizes")
            if isinstance(sizes, list):
                out["partial_image_bytes"] = [n for _, n in sizes]
        return out

    def final(self) -> dict[str, Any]:
        out = super().final()
        if self.audio is not None:  # not an output item (ordered_items puts it last): the response's audio
            out["output"] = out["output"][: len(self.items)]
            out["audio"] = {"transcript": self.audio.text_of("transcript"), "bytes": self.audio.data.get("bytes", 0)}
        return out

    def details(self, item: Item) -> list[Detail]:
        extra: list[Detail] = []
        for b in item.ordered_blocks():
            lp = self.logprobs.get(b)
            if lp is not None:
                extra.append(Detail("logprobs" if b.key[1] == 0 else f"logprobs of part {b.key[1]}", lp.line()))
        if item.partial_images:
            sizes = item.data.get("partial_sizes") if isinstance(item.data.get("partial_sizes"), list) else []
            shown = ", ".join(f"#{i}: {n:,} bytes" for i, n in sizes[:8])
            extra.append(Detail("partial images", f"{item.partial_images}" + (f" ({shown})" if shown else "")))
        if item is self.audio:
            return [Detail("audio", f"{item.data.get('bytes', 0):,} bytes")]
        data = {k: v for k, v in item.data.items() if k != "partial_sizes"}
        return item_details(item, data, extra)


def _has(parts: Any, i: int) -> bool:
    return isinstance(parts, list) and i < len(parts) and isinstance(parts[i], dict)


class TokenLogprobs:
    """What an output_text part's logprobs add up to: how many tokens, their mean, the least likely one."""

    __slots__ = ("count", "total", "summed", "lowest")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.summed = 0
        self.lowest: tuple[float, Any] | None = None

    def add(self, tokens: list) -> None:
        self.count += len(tokens)
        for t in tokens:
            if t.__class__ is dict:
                v = t.get("logprob")
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.total += v
                    self.summed += 1
                    if self.lowest is None or v < self.lowest[0]:
                        self.lowest = (v, t.get("token"))

    def line(self) -> str:
        bits = [f"{self.count} tokens"]
        if self.summed:
            bits.append(f"mean {self.total / self.summed:.3f}")
        if self.lowest is not None:
            bits.append(f"lowest {json.dumps(self.lowest[1], ensure_ascii=False)} {self.lowest[0]:.3f}")
        return ", ".join(bits)


class ResponseAssembler(TableAssembler):
    """Folds Responses API events into a ``ResponseState``. ``feed`` is O(1) per delta."""

    def __init__(self) -> None:
        super().__init__(ResponseState(), EVENTS)
        self._seeds: dict[Block, str] = {}  # block -> the text output_item.added gave it, until a delta shows
        # whether the deltas repeat it (gpt-oss's reference server sends the whole code again) or go on from it

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
                        item, final_id = st.items.get(i), data.get("id")
                        if item is not None and isinstance(final_id, str) and final_id and item.type == data.get("type"):
                            item.id = final_id  # the final response names it (as the SDK's final response does)
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
        op = data.get("operation")
        for key, v in (("arguments", data.get("arguments")), ("input", data.get("input")), ("code", data.get("code")),
                       ("diff", op.get("diff") if isinstance(op, dict) else None)):
            if isinstance(v, str) and v:
                b = self._block(item, (key,), key)
                if not b.chunks:
                    b.append(v, ev.index)  # the start of the block's text
                    self._seeds[b] = v
        self.state.structure += 1

    def _item_done(self, ev: StreamEvent, p: dict) -> None:
        data = p.get("item")
        if not isinstance(data, dict):
            return
        item = self._item_for(ev, p, str(data.get("type", "")))
        item.done_event = ev.index
        item.phase = ""  # a finished item is no longer "searching" or "compacting"
        self._fill_from(item, item.position, data)
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
                    notes = part.get("annotations")
                    b = item.blocks.get(("content", ci))
                    if isinstance(notes, list) and notes and b is not None and not b.annotations:
                        b.annotations = list(notes)  # annotations sent only with the part's final payload count too
                        st.structure += 1
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
        op = data.get("operation")
        if isinstance(op, dict) and isinstance(op.get("diff"), str):
            self._final_text(item, ("diff",), "diff", op["diff"])
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
            if not text and kind in ("arguments", "input", "code", "diff"):
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
            key = ("content", ci if ci.__class__ is int else _int(ci))
            self._append(item, key, kind, delta, ev)
            lp = p.get("logprobs")
            if lp.__class__ is list and lp:
                b = item.blocks[key]
                acc = self.state.logprobs.get(b)
                if acc is None:
                    acc = self.state.logprobs[b] = TokenLogprobs()
                acc.add(lp)

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
                item = self._item_for(ev, p, ev.type.split(".")[1].removesuffix("_arguments").removesuffix("_input")
                                      .removesuffix("_code").removesuffix("_operation_diff"))
            if self._seeds:
                b = item.blocks.get(key)
                seed = self._seeds.pop(b, None) if b is not None else None
                if seed is not None:
                    if delta.startswith(seed):  # the delta repeats the added text: only what follows it is new
                        delta = delta[len(seed):]
                    elif seed.startswith(delta):  # repeating it piece by piece: wait for the rest of it
                        if len(delta) < len(seed):
                            self._seeds[b] = seed[len(delta):]
                        delta = ""
                    if not delta:
                        return
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
        b64 = p.get("partial_image_b64")
        n = p.get("partial_image_index")
        sizes = item.data.get("partial_sizes", [])
        if isinstance(sizes, list):  # a new list: item.data may be a payload another fold reads too (time travel)
            size = (n if isinstance(n, int) else item.partial_images - 1, len(b64) * 3 // 4 if isinstance(b64, str) else 0)
            item.data = {**item.data, "partial_sizes": [*sizes, size]}
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


    def _audio_item(self) -> Item:
        st = self.state
        if st.audio is None:
            st.audio = Item(-1, "", "audio")  # outside ``items``: no output_index names it
            st.audio.data = {"bytes": 0}
            st.structure += 1
        return st.audio

    def _audio(self, ev: StreamEvent, p: dict) -> None:
        """``response.audio.delta``: base64 audio, counted in bytes (never kept as text)."""
        item = self._audio_item()
        d = p.get("delta")
        if isinstance(d, str):
            item.data["bytes"] = item.data.get("bytes", 0) + len(d) * 3 // 4

    def _transcript(self, ev: StreamEvent, p: dict) -> None:
        item = self._audio_item()
        if ev.type.endswith(".delta"):
            d = p.get("delta")
            if isinstance(d, str):
                self._append(item, ("transcript",), "transcript", d, ev)
        else:
            b = self._block(item, ("transcript",), "transcript")
            if isinstance(p.get("transcript"), str):
                b.done = p["transcript"]
            item.done_event = ev.index
            item.status = "completed"


def _one_copy(b: Block, text: str) -> str:
    """``text``, or an equal string the block already holds (its joined deltas, or its done text): the long text of
    a message comes again in ``output_text.done``, ``content_part.done``, ``output_item.done`` and the final
    response; each would otherwise be a copy of its own."""
    if len(text) < 64:
        return text
    if b.chunks:
        joined = b.same_text(text)
        if joined is not None:
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


class _Cursor:
    """Where ``assemble_prefix`` is in one block of the state it replays from."""

    __slots__ = ("position", "block", "chunks", "k", "n", "r", "runs")


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
                cur.position, cur.block, cur.chunks = item.position, b, iter(b.chunks)
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
        if waiting is not None and waiting.__class__ is _Cursor and ev.type in REPLAYABLE and ev.kind == "event":
            item = items.get(waiting.position)
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

