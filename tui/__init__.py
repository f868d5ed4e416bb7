"""The Textual App: screens, bindings, wiring sessions to widgets.

Textual repaints the screen on a timer of its own, at most ``TEXTUAL_FPS`` times a second (60 unless set). After a
repaint that took longer than a period, the timer skips ahead and its next repaint comes one to two periods later:
at 60, a live stream's rows waited up to 33 ms more for the screen (``benchmarks/live_latency.py``). The App draws
at most 40 frames a second itself (``app.MIN_GAP``); Textual's timer at 120 lets each of them reach the screen
within 8 ms. A ``TEXTUAL_FPS`` the user set is kept, and the value is set only while Textual reads it, so no
child process inherits it.
"""

import os

if "TEXTUAL_FPS" not in os.environ:
    os.environ["TEXTUAL_FPS"] = "120"
    try:
        import textual.constants  # noqa: F401  (read once, at import)
    finally:
        del os.environ["TEXTUAL_FPS"]
