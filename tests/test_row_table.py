"""widgets/row_table.py, the flow list's table: it fits its width (columns narrow, then go), keeps the cursor on
its row's key as rows change and reorder, draws cells as plain text, and redraws only the cells that changed."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from streamview.widgets.row_table import RowTable
from tests.conftest import screen_text

COLUMNS = ("#", "time", "API", "model", "request", "status", "duration", "end")
ROWS = [("1", "10:00:00", "responses", "o4-mini", "POST /v1/responses", "200", "2.86s", "done"),
        ("2", "10:00:01", "chat", "gpt-4o-2024-08-06", "POST /v1/chat/completions", "200", "13.45s", "client cancelled"),
        ("3", "10:00:02", "http", "-", "GET /v1/models", "405", "0.00s", "done")]


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield RowTable(COLUMNS, shrink={4: 12, 3: 8, 7: 9, 5: 0, 6: 0}, drop=(1,), id="t")


def lines(app) -> list[str]:
    return [line.rstrip() for line in screen_text(app).splitlines()]


@pytest.mark.parametrize("width", [120, 70, 50])
async def test_the_table_fits_its_width_and_never_cuts_a_number(width):
    app = TableApp()
    async with app.run_test(size=(width, 10)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows([r[0] for r in ROWS], ROWS)
        await pilot.pause()
        shown = lines(app)
        assert all(len(line) <= width for line in shown)
        assert "13.45s" in shown[2] and "405" in shown[3]  # numbers' columns give up only their headers
        if width == 120:  # room for everything, each column as wide as its widest cell
            assert shown[0].split() == list(COLUMNS)
            assert "POST /v1/chat/completions" in shown[2] and "client cancelled" in shown[2]
        else:  # the model, the request and the end are cut first, with an ellipsis
            assert "gpt-4o-…" in shown[2] and "POST /v1/ch…" in shown[2] and "cancelled" not in shown[2]
        if width == 70:
            assert "10:00:01" in shown[2] and shown[0].split()[:2] == ["#", "time"] and "client ca…" in shown[2]
        if width == 50:  # then the start time goes, the numbers' headers are cut, and the rest is cut at the edge
            assert "10:00:01" not in shown[2] and "time" not in shown[0] and "st…" in shown[0]
            assert shown[2].endswith(" clie")


async def test_the_cursor_stays_on_its_key_when_rows_change_and_reorder():
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows([r[0] for r in ROWS], ROWS)
        await pilot.press("down")
        assert table.cursor_key == "2"
        table.set_rows(["3", "2", "1"], list(reversed(ROWS)))  # sorted another way
        assert table.cursor_row == 1 and table.cursor_key == "2"
        table.set_rows(["3", "1"], [ROWS[2], ROWS[0]])  # its row filtered out: the cursor keeps its place
        assert table.cursor_row == 1 and table.cursor_key == "1"
        await pilot.press("end")
        assert table.cursor_key == "1"
        await pilot.press("home")
        assert table.cursor_key == "3"


async def test_cells_are_plain_text_never_markup():
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        row = ("1", "10:00:00", "chat", "[bold red]m[/]", "POST /v1/[link=x]c[/link]", "200", "1s", "done")
        app.query_one(RowTable).set_rows(["1"], [row])
        await pilot.pause()
        assert "[bold red]m[/]" in lines(app)[1] and "[link=x]c[/link]" in lines(app)[1]


async def test_a_tick_redraws_only_the_cells_that_changed(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows([r[0] for r in ROWS], ROWS)
        await pilot.pause()
        asked: list[Region] = []
        monkeypatch.setattr(table, "refresh", lambda *regions, **kw: asked.extend(regions) or table)
        ticked = [ROWS[0], ROWS[1][:6] + ("13.70s",) + ROWS[1][7:], ROWS[2]]
        table.set_rows([r[0] for r in ticked], ticked)
        column = next((x, w) for i, x, w in table.layout() if i == 6)
        assert asked == [Region(column[0], 2, column[1], 1)]  # row 2 (under the header), the duration's cell
