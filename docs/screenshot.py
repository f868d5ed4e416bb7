"""Export the README's screenshot: the app itself, replaying the bundled o4-mini example, stepped to mid-stream.

    .venv/bin/python docs/screenshot.py   # writes docs/streamview.svg
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from streamview.replay.player import Player
from streamview.cli import example_path
from streamview.tui.app import StreamviewApp
from streamview.widgets.event_list import EventList


async def main() -> None:
    app = StreamviewApp(Player(open(example_path("o4-mini-hello"), "rb"), paused=True), label="demo o4-mini-hello")
    async with app.run_test(size=(160, 34)) as pilot:
        for _ in range(13):
            await pilot.press("n")
        while app.query_one(EventList).count < 13:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        out = Path(__file__).with_name("streamview.svg")
        out.write_text(app.export_screenshot(title="streamview demo"))
        print(out)


if __name__ == "__main__":
    asyncio.run(main())
