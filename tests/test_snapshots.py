"""What each screen looks like (pytest-textual-snapshot), grouped by screen, keys pressed before each picture.

Replays are driven to a fixed event (stepped while paused, or loaded instantly to the end), and the clock shown is
the transcript's own, so every picture is the same on every run. Update with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.conftest import SEED_O4, make_app, wait_until
from streamview.widgets.event_list import EventList

SIZES = [(200, 50), (80, 24)]


def stepped_to(count: int):
    async def run_before(pilot) -> None:
        for _ in range(count):
            await pilot.press("n")
        await wait_until(pilot, lambda: pilot.app.query_one(EventList).count == count)
        await pilot.pause(0.4)  # the metadata pane redraws counts at most 4 times a second

    return run_before


async def loaded(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.player.finished and pilot.app.query_one(EventList).count == 20)
    await pilot.pause(0.4)  # the metadata pane redraws counts at most 4 times a second


class TestMainScreen:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_mid_stream(self, snap_compare, size):
        """You should see 12 of 20 events, the message growing ("Hello there! How can I"), status in_progress."""
        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", paused=True), terminal_size=size, run_before=stepped_to(12))

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_end(self, snap_compare, size):
        """You should see all 20 events, the whole message, status completed, usage 18/16/34."""
        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=size, run_before=loaded)


class TestDetail:
    def test_time_travel(self, snap_compare):
        """You should see event #9 selected, its JSON on the right, and the message as of it with " How" selected."""

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("home", *["down"] * 9, "enter")
            await pilot.pause(0.1)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(200, 50), run_before=run_before)


class TestHelp:
    def test_help(self, snap_compare):
        """You should see the help screen listing every key."""

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.1)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(120, 40), run_before=run_before)
