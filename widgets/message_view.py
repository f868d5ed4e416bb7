"""The assembled message pane: a Line-API text view fed by appends, and a throttled Markdown view (``m``).

Each output item is a section (a header line, then its blocks: summaries, text, refusal, arguments, code...). While
the stream only grows the last block, a frame appends the new chunks to the end of the document; when the structure
changes (a new item or part, an item done) the document is made again from the first character that differs, so
appending an item keeps the text before it. Time travel shows the state as of an event and highlights that event's
contribution.
"""

from __future__ import annotations

import time

from textual.containers import Vertical
from textual.widgets import Markdown, Static

from streamview.render import block_text, common_prefix, common_suffix, markdown_document, render_document, shown, shown_as_is
from streamview.state import Block
from streamview.state import StreamState

from .message_text import MessageText

MARKDOWN_LIMIT = 40_000  # characters: beyond this the Markdown view shows only the end of the message


class MessageView(Vertical):
    DEFAULT_CSS = """
    MessageView { height: 1fr; }
    MessageView > MessageText { height: 1fr; padding: 0 1; }
    MessageView > #markdown-scroll { height: 1fr; display: none; }
    MessageView.markdown > MessageText { display: none; }
    MessageView.markdown > #markdown-scroll { display: block; }
    MessageView > #md-note { height: auto; display: none; color: $warning; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.markdown_mode = False
        self._structure = -1
        self._pieces = []  # the document as shown, in the pieces render_document made it of
        self._tail: Block | None = None  # the block whose text ends the document (appends go in place)
        self._tail_seen = 0
        self._tail_exact = False  # the document ends with the tail's chunks' text (appends continue it)
        self._tail_clean = False  # ... and ``shown`` has had nothing to change in any of it
        self._seen: dict[int, int] = {}  # id(block) -> chunks shown
        self._md_source = None
        self._travel = False

    def compose(self):
        from textual.containers import VerticalScroll

        yield MessageText(id="message-text")
        yield Static("", id="md-note", markup=False)
        with VerticalScroll(id="markdown-scroll"):
            yield Markdown("", open_links=False, id="markdown")

    @property
    def _pieces(self) -> list[str]:
        """The document as shown, in pieces. What the last block grew by since the document was last made is not
        kept as text here (the text pane holds it, and the block's chunks): it is read back from the chunks when
        the pieces are read. Keeping it here held the growing text twice (40 MB more for a 10-million-character
        message), and adding each frame's text to one string copied the whole block every frame."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            block, k0, k1 = pending
            self._doc_pieces[-1] += shown(block.chunks.text_between(k0, k1))
        return self._doc_pieces

    @_pieces.setter
    def _pieces(self, pieces: list[str]) -> None:
        self._doc_pieces = pieces
        self._pending: tuple[Block, int, int] | None = None  # (the last block, its chunks from, to) not in the pieces
        self._pending_len = 0  # the characters shown for them

    def _shown_pieces(self, pieces: list[str], spans: list | None) -> list[str]:
        """The document as shown, to compare with ``pieces`` (just made, with its ``spans``). When the last block
        has grown since the last re-make and ``pieces`` hold that block's whole text in the same place (items and
        blocks may follow it now), its piece is taken to be that one, not read back from the block's chunks (a
        10-million-character block read back was 40 MB and 20 ms at each re-make): the chunks only grow, and
        ``shown`` maps each character on its own, so the text shown is the piece made then followed by what was
        appended since, which is the new piece."""
        pending = self._pending
        if pending is None or not spans:
            return self._pieces
        block, k0, k1 = pending
        doc = self._doc_pieces
        j = len(doc) - 1
        item, start = next(((i, at) for i, b, at in reversed(spans) if b is block), (None, -1))
        exact = (item is not None and self._tail is block and self._tail_exact and k1 == len(block.chunks)
                 and not block.annotations and not (block.kind in ("arguments", "input") and item.done_event is not None)
                 and len(pieces) > j >= 0 and len(pieces[j]) == len(doc[j]) + self._pending_len
                 and sum(map(len, pieces[:j])) == start and pieces[j].startswith(doc[j]))
        if not exact:
            return self._pieces  # (read back)
        return [*doc[:j], pieces[j]]

    @property
    def text_view(self) -> MessageText:
        return self.query_one("#message-text", MessageText)

    # -- live --------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self._structure = -1
        self._tail = None
        self._seen.clear()
        self._md_source = None
        self._pieces = []
        self.text_view.load("")

    def update_live(self, state: StreamState, streaming: bool) -> None:
        """Bring the pane up to date with ``state``: while only the last block grows, the new chunks are appended;
        otherwise the document is re-made from the first character that changed."""
        view = self.text_view
        if self._travel:
            return
        following = view.following  # the user has not scrolled up to read
        if state.structure != self._structure or self._tail is None:
            self._rebuild(state)
        else:
            changed = self._changed_blocks(state)
            if changed == [self._tail]:
                self._append_tail()
            elif changed:
                self._rebuild(state)
        view.set_cursor(streaming)  # a block marks the growing end while streaming
        if following:
            view.follow_end()
            view.call_after_refresh(view.follow_end)
        self._md_state = state

    def _append_tail(self) -> None:
        """Append what the last block grew by since it was last shown (its text ends the document)."""
        tail = self._tail
        assert tail is not None
        start = self._tail_seen
        raw = tail.chunks.text_from(start)
        new = shown(raw)
        if new is not raw:
            self._tail_clean = False
        self._tail_seen = len(tail.chunks)
        self._seen[id(tail)] = self._tail_seen
        if new:
            pending = self._pending
            self._pending = (tail, start if pending is None else pending[1], self._tail_seen)
            self._pending_len += len(new)
            self.text_view.append(new)

    def on_mount(self) -> None:
        self._md_state: StreamState | None = None
        self._md_busy = False
        self._md_next = 0.0
        self.set_interval(0.5, self._markdown_tick)

    def _markdown_tick(self) -> None:
        """Markdown is re-rendered from the assembled text at most twice a second, never per delta."""
        if self._md_busy or time.monotonic() < self._md_next:
            return
        if self.markdown_mode and self._md_state is not None and not self._travel:
            self._update_markdown(self._md_state)

    def _changed_blocks(self, state: StreamState) -> list[Block]:
        changed = []
        for item in state.items.values():
            for b in item.blocks.values():
                if len(b.chunks) != self._seen.get(id(b), -1):
                    changed.append(b)
        return changed

    def _show(self, pieces: list[str], spans: list | None = None) -> None:
        """Make the document ``pieces``, keeping what it shares at the start with the one on screen."""
        old = self._shown_pieces(pieces, spans)
        view = self.text_view
        n = min(len(old), len(pieces))
        differ = [i for i in range(n) if old[i] is not pieces[i] and old[i] != pieces[i]]
        if len(differ) <= 8:
            # the usual change: a header or a block changed in place, items or blocks added at the end
            self._pieces = pieces
            offset = 0
            todo = iter(differ)
            nxt = next(todo, n)
            for i in range(n):
                if i == nxt:
                    view.replace(offset, offset + len(old[i]), pieces[i])
                    nxt = next(todo, n)
                offset += len(pieces[i])
            if len(old) > n:
                view.replace_from(offset, "")
            elif len(pieces) > n:
                view.append("".join(pieces[n:]))
            return
        head = common_prefix(old, pieces)
        old_len = sum(map(len, old))
        new_len = sum(map(len, pieces))
        tail = min(common_suffix(old, pieces), old_len - head, new_len - head)
        self._pieces = pieces
        if tail and old_len - tail - head < old_len // 2:  # a change in the middle (an item's header): replace it
            view.replace(head, old_len - tail, "".join(pieces)[head : new_len - tail])
        else:
            view.replace_from(head, "".join(pieces)[head:])

    def _rebuild(self, state: StreamState) -> None:
        tail = self._tail
        if tail is not None and not self._travel and len(tail.chunks) > self._tail_seen:
            self._append_tail()  # the last block's new text first, as a frame would have appended it
        if tail is not None and self._tail_clean and self._tail_exact and tail.chunks and len(tail.chunks) == self._tail_seen:
            # every piece of its text came back from ``shown`` as it was: so does the whole (not looked through again)
            shown_as_is(tail.deltas_text)
        pieces, spans = render_document(state)
        self._show(pieces, spans)
        self._structure = state.structure
        self._seen = {id(b): len(b.chunks) for item in state.items.values() for b in item.blocks.values()}
        self._tail = None
        if spans:
            item, block, start = spans[-1]
            # the last block's text must end the document for new chunks to be appended in place (not so when its
            # citations or the item's details follow it)
            raw = block_text(item, block)
            text = shown(raw, remember=True)
            ends_doc = (not state.error and not (item.done_event is not None and block.kind in ("arguments", "input"))
                        and start + len(text) == sum(map(len, pieces)))
            if ends_doc:
                self._tail = block
                self._tail_seen = len(block.chunks)
                # the piece it ends the document with is its chunks' text (or none): what is appended continues it
                self._tail_exact = bool(block.chunks) or not text
                self._tail_clean = text is raw  # (``shown`` had nothing to change in it)
        if self._tail is None:
            # nothing can be appended in place: rebuild on the next change
            self._structure = -1 if state.items else state.structure

    # -- time travel -------------------------------------------------------------------------------------------
    def show_state(self, state: StreamState, event_index: int) -> None:
        """Show ``state`` (as of ``event_index``) and highlight what that event contributed."""
        self._travel = True
        pieces, spans = render_document(state)
        self._show(pieces)
        view = self.text_view
        view.set_cursor(False)
        span = None
        for item, block, start in spans:
            if block.last_event == event_index and block.chunks and not block.annotations:  # (markers shift it)
                full = shown(block_text(item, block), remember=True)
                last = shown(block.chunks[-1])
                if full.endswith(last):
                    end = start + len(full)
                    span = (end - len(last), end)
                break
        view.set_highlight(span)
        if span is None:  # nothing of this event to point at: show where the stream had got to
            view.follow_end()
            view.call_after_refresh(view.follow_end)
        if self.markdown_mode:
            self._update_markdown(state, force=True)

    def leave_travel(self, state: StreamState, streaming: bool) -> None:
        self._travel = False
        self._structure = -1
        self.text_view.set_highlight(None, center=False)
        self.update_live(state, streaming)
        self.text_view.follow_end()

    # -- markdown ----------------------------------------------------------------------------------------------
    def toggle_markdown(self, state: StreamState) -> bool:
        self.markdown_mode = not self.markdown_mode
        self.set_class(self.markdown_mode, "markdown")
        if self.markdown_mode:
            self._update_markdown(state, force=True)
        else:
            self.query_one("#md-note").display = False
        return self.markdown_mode

    def _update_markdown(self, state: StreamState, force: bool = False) -> None:
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
