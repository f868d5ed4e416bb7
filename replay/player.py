"""Replaying a transcript as if it were arriving now: reading ahead, pacing, pause, step, speed, end, restart.

The reader decodes the file (or stdin, or a FIFO) into events in a background task; the playback loop hands them to
``emit`` at their recorded times (``: t=`` comments, scaled by the speed) or, for a transcript without timing, at a
steady pace. Pause, step, speed and restart act on the playback clock, not on the reader.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from collections import deque
from typing import AsyncIterator, BinaryIO, Callable

from streamview.events import StreamEvent, schedule
from streamview.live import LiveSource
from streamview.source import CHUNK, READ_ERRORS, EventReader, SourceError, framing_of, read_failure
from streamview.sse import Frame, TranscriptMeta
from streamview.store import EventStore, FileIndex

DEFAULT_PACE = 0.075  # seconds between events when the transcript has no timing: 20 events in 1.5 s
SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)
INSTANT_BATCH = 500  # events emitted between yields to the event loop when not pacing
READ_AHEAD = 5_000  # events decoded ahead of playback at most (held as objects until played): a huge file streams
READ_AHEAD_BYTES = 8 << 20  # ... and at most this much of their data: each holds its parsed payload until played,
# and a 10 MB event's is 40 MB or more (four such in a row, read ahead together, held 200 MB at once)
READ_BLOCK = 256 * 1024  # bytes read from a file at a time (in a thread: one hop per block, not per chunk)
SPLIT_AFTER = 0.005  # seconds: a chunk whose decoding took this long (a long line put together) is parsed in a thread
FOLLOW_POLL = 0.2  # seconds between looks at a followed file that has no new data
_PARSER: ThreadPoolExecutor | None = None


def _parser() -> ThreadPoolExecutor:
    """The thread a long line's chunk is parsed in (one for every player: a long line is rare)."""
    global _PARSER
    if _PARSER is None:
        _PARSER = ThreadPoolExecutor(1, thread_name_prefix="streamview-parse")
    return _PARSER


class Player:
    def __init__(
        self,
        fp: BinaryIO | None = None,
        *,
        live: LiveSource | None = None,
        on_frame: Callable[[Frame, StreamEvent], None] | None = None,
        speed: float = 1.0,
        instant: bool = False,
        paused: bool = False,
        pace: float = DEFAULT_PACE,
        follow: bool = False,
        read_ahead: int = READ_AHEAD,
        protocol: str | None = None,
    ) -> None:
        """Replay ``fp`` (a transcript file, stdin, a FIFO), or play ``live`` events as they arrive (no pacing:
        they come in real time; pause, step and restart still work on what has arrived). ``protocol``: what the
        stream is known to speak (``--protocol``, ``live --api``), for the model (``Session(protocol=...)``);
        None: the model sniffs it."""
        self.fp = fp
        self.protocol = protocol
        self.live = live
        self.follow = follow  # like tail -f: at the end of the file, wait for more
        self.read_ahead = read_ahead
        self._room = asyncio.Event()
        self.speed = speed
        self.instant = instant or live is not None
        self.paused = paused
        self.pace = pace
        # every event read, kept in a store (each one's data read back from the file, or the spool, when asked)
        index = FileIndex.of(fp) if fp is not None else None
        self.buffer = EventStore(index)
        self._ahead: deque[StreamEvent] = deque()  # the events read and not yet played, as objects
        self._ahead_bytes = 0  # their data's size
        self.cursor = 0  # index of the next event to emit
        self.eof = False
        self.read_error: str | None = None
        self.finished = False
        self._reader = EventReader(clock=live.elapsed if live is not None else None, on_frame=on_frame,
                                   framing=framing_of(protocol), index=index)
        self._wake = asyncio.Event()
        self._steps = 0
        self._skip = False
        self._anchor_wall = 0.0
        self._anchor_t = 0.0
        self._last_t = 0.0

    # -- what the UI reads -------------------------------------------------------------------------------------
    @property
    def meta(self) -> TranscriptMeta:
        return self.live.meta if self.live is not None else self._reader.meta

    @property
    def framer(self):
        """The framer the bytes are read with (``framing.Framer``)."""
        return self._reader.parser

    @property
    def framing(self) -> str | None:
        """The name of the framing the bytes are read with (None: not found from the first line yet)."""
        return self._reader.framing

    @property
    def interrupted(self) -> bool:
        """The source failed after some events had arrived (a dropped connection)."""
        return self.read_error is not None and bool(self.buffer)

    @property
    def total(self) -> int | None:
        """The number of events in the transcript, once it has been read to the end."""
        return len(self.buffer) if self.eof else None

    # -- controls ----------------------------------------------------------------------------------------------
    def _poke(self) -> None:
        self._reanchor()
        self._wake.set()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self._poke()

    def step(self) -> None:
        """Emit exactly one more event, and stay paused."""
        self.paused = True
        self._steps += 1
        self._poke()

    def faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)
        self._poke()

    def slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)
        self._poke()

    def to_end(self) -> None:
        """Emit everything that is left without pacing."""
        self._skip = True
        self.paused = False
        self._poke()

    def restart(self) -> None:
        self.cursor = 0
        self._room.set()
        self.finished = False
        self._skip = False
        self._steps = 0
        self._last_t = 0.0
        self._poke()

    # -- running -----------------------------------------------------------------------------------------------
    async def run(
        self,
        emit: Callable[[StreamEvent], None],
        on_finish: Callable[[], None] | None = None,
        *,
        until_finished: bool = False,
        emit_many: Callable[[list[StreamEvent]], None] | None = None,
    ) -> None:
        """Read and play until cancelled (or, with ``until_finished``, until the end of input is played).
        ``on_finish`` is called each time playback reaches the end of input. ``emit_many``: what takes the events
        played without pacing (instant, live, to the end) a batch at a time, in order, instead of ``emit``."""
        reader = asyncio.create_task(self._read())
        try:
            await self._play(emit, on_finish, until_finished, emit_many)
        finally:
            reader.cancel()
            try:
                await reader
            except (asyncio.CancelledError, Exception):
                pass

    async def _file_chunks(self) -> AsyncIterator[bytes]:
        assert self.fp is not None
        read = getattr(self.fp, "read1", self.fp.read)
        while True:
            try:
                block = await asyncio.to_thread(read, READ_BLOCK)
            except (*READ_ERRORS, ValueError) as exc:
                raise read_failure(exc) from None
            if not block:
                if self.follow:
                    await asyncio.sleep(FOLLOW_POLL)
                    continue
                return
            if len(block) <= CHUNK:
                yield block
                continue
            for at in range(0, len(block), CHUNK):  # decoded a chunk at a time, the loop free between them
                yield block[at : at + CHUNK]
                await asyncio.sleep(0)

    async def _read(self) -> None:
        chunks = self.live.chunks() if self.live is not None else self._file_chunks()
        reader = self._reader
        clock = time.perf_counter
        pending = None  # a chunk's frames decoded and not yet made events (parsed in the parser's thread)
        try:
            async for chunk in chunks:
                t0 = clock()
                frames = reader.frames_of(chunk)
                if clock() - t0 > SPLIT_AFTER:
                    # a long line was put together (a 10 MB event's): it is parsed in a thread of its own (50 to
                    # 200 ms), which lets the loop take its turns meanwhile (a key, a frame: Python hands the
                    # interpreter over every 5 ms, and the parse's longest single call is a few tens of ms)
                    pending = (_parser().submit(reader.events_of, frames, chunk), frames, chunk)
                    events = await asyncio.wrap_future(pending[0])
                    pending = None
                else:
                    events = reader.events_of(frames, chunk)
                self._add(events)
                events = frames = None
                while self._behind():
                    self._room.clear()
                    await self._room.wait()  # playback is far behind: stop decoding until it catches up
        except SourceError as exc:
            self.read_error = str(exc)
        except Exception as exc:  # a reader bug must end the stream visibly, never hang it
            self.read_error = f"reading failed: {type(exc).__name__}: {exc}"
        finally:
            # whatever the end, what was received is kept: a cut-off last event included
            try:
                if pending is not None:  # (cancelled while a chunk was parsed: its events are kept, made once)
                    future, frames, chunk = pending
                    self._add(future.result() if not future.cancel() else reader.events_of(frames, chunk))
                self._add(self._reader.finish())
            except Exception as exc:
                self.read_error = self.read_error or f"reading failed: {type(exc).__name__}: {exc}"
            self.eof = True
            self._wake.set()

    def _add(self, events: list[StreamEvent]) -> None:
        if not events:
            return
        schedule(events, self.pace)
        self.buffer.extend(events)
        self._ahead.extend(events)
        self._ahead_bytes += sum([len(ev._data) for ev in events])
        self._wake.set()

    def _behind(self) -> bool:
        """Whether playback is far enough behind the reader for the reader to wait."""
        return len(self.buffer) - self.cursor > self.read_ahead or self._ahead_bytes > READ_AHEAD_BYTES

    def _reanchor(self) -> None:
        self._anchor_wall = time.monotonic()
        self._anchor_t = self._last_t

    async def _play(self, emit: Callable[[StreamEvent], None], on_finish: Callable[[], None] | None, until_finished: bool,
                    emit_many: Callable[[list[StreamEvent]], None] | None = None) -> None:
        self._reanchor()
        burst = 0
        while True:
            if self.cursor >= len(self.buffer):
                if self.eof and not self.finished:
                    self.finished = True
                    self._skip = False
                    if on_finish is not None:
                        on_finish()
                if until_finished and self.finished:
                    return
                ev = None  # (the last event played is not held while waiting: it can be 10 MB)
                self._wake.clear()
                await self._wake.wait()
                continue
            ahead = self._ahead  # (after a restart, the events before its first are read back from the store)
            ev = ahead[0] if ahead and ahead[0].index == self.cursor else self.buffer[self.cursor]
            if self.paused and self._steps == 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            fast = self.instant or self._skip or self._steps > 0
            if fast and emit_many is not None and not self._steps and ahead and ahead[0] is ev:
                # unpaced: the events read ahead, from this one on, go as one batch
                n = min(len(ahead), INSTANT_BATCH - burst)
                pop = ahead.popleft
                batch = [pop() for _ in range(n)]
                self.cursor += n
                self._ahead_bytes -= sum([len(e._data) for e in batch])
                if not self._behind():
                    self._room.set()
                self._last_t = next((e.t for e in reversed(batch) if e.t), self._last_t)
                ev = None
                emit_many(batch)
                batch = []  # (not held while the loop waits: it can hold a 10 MB event)
                burst += n
                if burst >= INSTANT_BATCH:
                    burst = 0
                    await asyncio.sleep(0)
                continue
            if not fast:
                t = ev.t or 0.0
                if self.cursor == 0:
                    self._anchor_t = t
                    self._anchor_wall = time.monotonic()
                due = self._anchor_wall + max(0.0, t - self._anchor_t) / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), delay)
                        continue  # a control changed: recompute
                    except asyncio.TimeoutError:
                        pass
            if self._steps > 0:
                self._steps -= 1
            self.cursor += 1
            if ahead and ahead[0] is ev:  # played: its data no longer counts as read ahead
                ahead.popleft()
                self._ahead_bytes -= len(ev._data)
            if not self._behind():
                self._room.set()
            self._last_t = ev.t or self._last_t
            emit(ev)
            burst += 1
            if fast and burst >= INSTANT_BATCH:
                burst = 0
                await asyncio.sleep(0)
            elif not fast:
                burst = 0
