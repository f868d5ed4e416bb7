"""The Textual App: screens, bindings, wiring sessions to widgets.

Textual repaints the screen on a timer of its own, at most ``TEXTUAL_FPS`` times a second (60 unless set). The
timer sleeps to the next tick of its period, then waits until something asks for a repaint: a repaint asked for
between two ticks waits for the next one. The App draws at most 40 frames a second itself (``app.MIN_GAP``; 20
while events come faster than ``app.BUSY_RATE`` a second), so the timer's period only adds a wait to each of them.
At 1,000 that wait is under a millisecond. At 120 it was up to 8 ms, and at 1,000 events/s a live stream's rows
reached the screen 8 to 20 ms later at the p99 (``benchmarks/live_latency.py``, 5 rounds alternated). There are no
more repaints than before: one for each frame. A ``TEXTUAL_FPS`` the user set is kept, and the value is set only
while Textual reads it, so no child process inherits it.
"""

import os

if "TEXTUAL_FPS" not in os.environ:
    os.environ["TEXTUAL_FPS"] = "1000"
    try:
        import textual.constants  # noqa: F401  (read once, at import)
    finally:
        del os.environ["TEXTUAL_FPS"]
