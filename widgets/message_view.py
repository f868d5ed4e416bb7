"""The assembled message pane: one read-only TextArea fed by appends, and a throttled Markdown view (``m``).

Each output item is a section (a header line, then its blocks: summaries, text, refusal, arguments, code...). While
the stream only grows the last block, a frame is one ``insert`` of the new chunks at the end of the document; when
the structure changes (a new item or part, an item done) the document is rebuilt once. Time travel loads the state
as of an event and selects that event's contribution.
"""

from __future__ import annotations

import json
import time

from textual.containers import Vertical
from textual.widgets import Markdown, Static, TextArea
from textual.widgets.text_area import Selection

from streamview.assemble import Block, Item, ResponseState
from streamview.sanitize import visible

MARKDOWN_LIMIT = 40_000  # characters: beyond this the Markdown view shows only the end of the message

_BLOCK_LABEL = {
    "summary_text": "summary",
    "reasoning_text": "reasoning",
    "refusal": "refusal",
    "arguments": "arguments",
    "input": "input",
    "code": "code",
    "command": "command",
}


def item_header(item: Item) -> str:
    bits = [item.type or "item"]
    if item.name:
        bits.append(item.name)
    if item.id:
        bits.append(item.id)
    state = item.status or ("done" if item.done_event is not None else "streaming")
    if item.phase and item.phase != state:
        state = f"{state} · {item.phase}" if state else item.phase
    if item.partial_images:
        state += f" · {item.partial_images} partial image(s)"
    if item.placeholder:
        state += " · never announced by output_item.added"
    if state:
        bits.insert(1, f"[{state}]")
    return "── " + " ".join(bits)


def block_text(item: Item, block: Block) -> str:
    text = block.text
    if block.kind in ("arguments", "input") and item.done_event is not None and text:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def render_document(state: ResponseState) -> tuple[list[str], list[tuple[Item, Block, int]]]:
    """The document as sanitized pieces, and where each block's text starts (in characters)."""
    pieces: list[str] = []
    spans: list[tuple[Item, Block, int]] = []
    length = 0

    def add(s: str) -> None:
        nonlocal length
        pieces.append(s)
        length += len(s)

    if not state.items:
        add("(no output yet)" if state.status not in ("failed", "incomplete", "completed") else "(no output items)")
    for n, item in enumerate(state.ordered_items()):
        if n:
            add("\n\n")
        add(visible(item_header(item)))
        blocks = item.ordered_blocks()
        if not blocks and item.type == "reasoning":
            add("\n(no summary streamed)")
        for block in blocks:
            label = _BLOCK_LABEL.get(block.kind)
            if label:
                add(f"\n{label}:")
            add("\n")
            spans.append((item, block, length))
            add(visible(block_text(item, block)))
    if state.error:
        err = state.error
        add(visible(f"\n\n── error  {err.get('code') or err.get('type') or ''}: {err.get('message') or ''}"))
    return pieces, spans


def offset_to_location(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return row, col


def markdown_document(state: ResponseState) -> str:
    out = []
    for item in state.ordered_items():
        out.append(f"#### {visible(item_header(item).lstrip('─ '))}")
        for block in item.ordered_blocks():
            text = visible(block_text(item, block))
            if block.kind in ("arguments", "input", "code", "command"):
                out.append(f"```\n{text}\n```")
            elif block.kind in ("summary_text", "reasoning_text", "refusal"):
                out.append("\n".join("> " + line for line in text.split("\n")))
            else:
                out.append(text)
    return "\n\n".join(out) if out else "*(no output yet)*"


class StreamTextArea(TextArea):
    """A read-only TextArea whose ``text`` is joined once per change, not once per line drawn.

    Textual 8.2's ``TextArea.render_line`` starts with ``if not self.text and self.placeholder``, and ``text`` joins
    the whole document: drawing a 40-line pane of a 100 KB message joined it 40 times a frame (measured: 12% of a
    100k-delta load). The document only changes through ``insert`` and ``load_text`` here, so the join is cached.
    """

    _joined: str | None = None

    @property
    def text(self) -> str:
        if self._joined is None:
            self._joined = self.document.text
        return self._joined

    @text.setter
    def text(self, value: str) -> None:
        self.load_text(value)

    def load_text(self, text: str) -> None:
        self._joined = None
        super().load_text(text)
        self._joined = None

    def edit(self, edit):  # every insert, delete and replace comes through here
        self._joined = None
        result = super().edit(edit)
        self._joined = None
        return result


class MessageView(Vertical):
    DEFAULT_CSS = """
    MessageView { height: 1fr; }
    MessageView > TextArea { height: 1fr; border: none; padding: 0 1; }
    MessageView > #markdown-scroll { height: 1fr; display: none; }
    MessageView.markdown > TextArea { display: none; }
    MessageView.markdown > #markdown-scroll { display: block; }
    MessageView > #md-note { height: auto; display: none; color: $warning; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.markdown_mode = False
        self._structure = -1
        self._tail: Block | None = None  # the block whose text ends the document
        self._tail_seen = 0
        self._seen: dict[int, int] = {}  # id(block) -> chunks shown
        self._md_source = None
        self._travel = False

    def compose(self):
        from textual.containers import VerticalScroll

        ta = StreamTextArea("", read_only=True, soft_wrap=True, show_cursor=True, id="message-text")
        ta.cursor_blink = False
        ta.highlight_cursor_line = False
        yield ta
        yield Static("", id="md-note", markup=False)
        with VerticalScroll(id="markdown-scroll"):
            yield Markdown("", open_links=False, id="markdown")

    @property
    def text_area(self) -> StreamTextArea:
        return self.query_one("#message-text", StreamTextArea)

    # -- live --------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self._structure = -1
        self._tail = None
        self._seen.clear()
        self._md_source = None
        self._load(self.text_area, "")

    def update_live(self, state: ResponseState, streaming: bool) -> None:
        """Bring the pane up to date with ``state``: one insert per frame when only the tail grew."""
        ta = self.text_area
        if self._travel:
            return
        following = ta.scroll_y >= ta.max_scroll_y  # the user has not scrolled up to read
        if state.structure != self._structure or self._tail is None:
            self._rebuild(state)
        else:
            changed = self._changed_blocks(state)
            if changed == [self._tail]:
                tail = self._tail
                new = "".join(tail.chunks[self._tail_seen :])
                self._tail_seen = len(tail.chunks)
                self._seen[id(tail)] = self._tail_seen
                if new:
                    ta.insert(visible(new), ta.document.end, maintain_selection_offset=False)
            elif changed:
                self._rebuild(state)
        ta.show_cursor = streaming  # the cursor marks the growing end while streaming
        if following:
            ta.move_cursor(ta.document.end, record_width=False)
            ta.call_after_refresh(ta.scroll_end, animate=False, immediate=True, x_axis=False)
        self._md_state = state

    def on_mount(self) -> None:
        self._md_state: ResponseState | None = None
        self._md_busy = False
        self._md_next = 0.0
        self.set_interval(0.5, self._markdown_tick)

    def _markdown_tick(self) -> None:
        """Markdown is re-rendered from the assembled text at most twice a second, never per delta."""
        if self._md_busy or time.monotonic() < self._md_next:
            return
        if self.markdown_mode and self._md_state is not None and not self._travel:
            self._update_markdown(self._md_state)

    def _changed_blocks(self, state: ResponseState) -> list[Block]:
        changed = []
        for item in state.items.values():
            for b in item.blocks.values():
                if len(b.chunks) != self._seen.get(id(b), -1):
                    changed.append(b)
        return changed

    def _rebuild(self, state: ResponseState) -> None:
        pieces, spans = render_document(state)
        self._load(self.text_area, "".join(pieces))
        self._structure = state.structure
        self._seen = {id(b): len(b.chunks) for item in state.items.values() for b in item.blocks.values()}
        self._tail = None
        if spans:
            item, block, _ = spans[-1]
            ends_doc = not state.error and not (item.done_event is not None and block.kind in ("arguments", "input"))
            if ends_doc:
                self._tail = block
                self._tail_seen = len(block.chunks)
        if self._tail is None:
            # nothing can be appended in place: rebuild on the next change
            self._structure = -1 if state.items else state.structure

    @staticmethod
    def _load(ta: TextArea, text: str) -> None:
        # TextArea.load_text clears its line cache but asks for no repaint: a document of the same shape would
        # stay on screen until something else repainted the widget
        ta.load_text(text)
        ta.refresh()

    # -- time travel -------------------------------------------------------------------------------------------
    def show_state(self, state: ResponseState, event_index: int) -> None:
        """Show ``state`` (as of ``event_index``) and select what that event contributed."""
        self._travel = True
        pieces, spans = render_document(state)
        doc = "".join(pieces)
        ta = self.text_area
        self._load(ta, doc)
        ta.show_cursor = False
        for item, block, start in spans:
            if block.last_event == event_index and block.chunks:
                full = visible(block_text(item, block))
                last = visible(block.chunks[-1])
                if full.endswith(last):
                    end = start + len(full)
                    begin = end - len(last)
                    sel = Selection(offset_to_location(doc, begin), offset_to_location(doc, end))
                    ta.selection = sel
                    ta.scroll_cursor_visible(center=True)
                break
        if self.markdown_mode:
            self._update_markdown(state, force=True)

    def leave_travel(self, state: ResponseState, streaming: bool) -> None:
        self._travel = False
        self._structure = -1
        self.update_live(state, streaming)

    # -- markdown ----------------------------------------------------------------------------------------------
    def toggle_markdown(self, state: ResponseState) -> bool:
        self.markdown_mode = not self.markdown_mode
        self.set_class(self.markdown_mode, "markdown")
        if self.markdown_mode:
            self._update_markdown(state, force=True)
        else:
            self.query_one("#md-note").display = False
        return self.markdown_mode

    def _update_markdown(self, state: ResponseState, force: bool = False) -> None:
        key = (state.structure, state.events)
        if not force and key == self._md_source:
            return
        self._md_source = key
        doc = markdown_document(state)
        note = self.query_one("#md-note", Static)
        if len(doc) > MARKDOWN_LIMIT:
            note.update(f"message is {len(doc):,} characters: Markdown shows the last {MARKDOWN_LIMIT:,} (m for raw)")
            note.display = True
            tail = doc[-MARKDOWN_LIMIT:]
            cut = tail.find("\n\n")  # start at a paragraph boundary so the first block parses as it would in full
            doc = tail[cut + 2 :] if 0 <= cut < MARKDOWN_LIMIT // 2 else tail
        else:
            note.display = False
        started = time.monotonic()
        self._md_busy = True

        def done() -> None:
            # the next re-render waits at least four times as long as this one took: Markdown never starves keys
            self._md_busy = False
            self._md_next = time.monotonic() + max(0.5, 4 * (time.monotonic() - started))

        self.query_one("#markdown", Markdown).update(doc)
        self.call_after_refresh(done)
