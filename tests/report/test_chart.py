"""The chart: a PNG whose bytes depend only on the counts, with no text chunks."""

from __future__ import annotations

import struct

import pytest

from pipeline.report.chart import dimension_chart


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = [], 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.append(kind.decode("ascii"))
        position += 12 + length
    return chunks


def test_chart_bytes_are_deterministic_and_carry_no_metadata():
    args = (["Social", "Economic"], [2, 0], [1, 3])
    first = dimension_chart(*args, title="Lisbon")
    assert dimension_chart(*args, title="Lisbon") == first
    chunks = png_chunks(first)
    assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(chunks)
    assert dimension_chart(["Social", "Economic"], [2, 1], [1, 3], title="Lisbon") != first


def test_chart_redrawn_figure_gives_the_bytes_of_a_new_one():
    """Charts drawn one after another on a reused figure equal charts drawn afresh, for
    counts that change the x range, the tick labels and which bars carry a value label."""
    from pipeline.report.chart import draw_chart

    labels = ("Social", "Economic", "Housing")
    sequence = [((3, 0, 1), (0, 2, 0)), ((0, 0, 0), (0, 0, 0)), ((120, 7, 0), (40, 0, 9))]
    figures: dict = {}
    for title in (None, "Lisbon"):
        for confirmed, unreviewed in sequence:
            assert draw_chart(labels, confirmed, unreviewed, title, figures) == \
                draw_chart(labels, confirmed, unreviewed, title)
    assert len(figures) == 2


def test_chart_cached_chart_equals_a_drawn_one_and_redraws_a_broken_file(tmp_path):
    from pipeline.report.chart import (
        cached_chart,
        chart_key,
        dimension_chart,
        prune_charts,
    )

    labels, confirmed, unreviewed = ["Legal", "Social"], [2, 0], [1, 3]
    drawn = dimension_chart(labels, confirmed, unreviewed)
    first = cached_chart(tmp_path, "salt", labels, confirmed, unreviewed)
    key = chart_key("salt", labels, confirmed, unreviewed)
    assert first == drawn and (tmp_path / f"{key}.png").read_bytes() == drawn
    (tmp_path / f"{key}.png").write_bytes(drawn[:100])  # cut short: not a whole PNG
    assert cached_chart(tmp_path, "salt", labels, confirmed, unreviewed) == drawn
    assert (tmp_path / f"{key}.png").read_bytes() == drawn
    assert chart_key("other", labels, confirmed, unreviewed) != key
    (tmp_path / "stale.png").write_bytes(drawn)
    prune_charts(tmp_path, {key})
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{key}.png"]


@pytest.mark.parametrize("warm", [False, True])
def test_chart_drawer_draws_the_same_bytes_in_its_process_and_after_closing(tmp_path, warm):
    """The forked drawer's chart equals one drawn here; closed (or failed), it draws here.
    Warmed with the labels (their figure built at start), it redraws the same bytes."""
    from pipeline.report.chart import ChartDrawer, cached_chart

    labels, confirmed, unreviewed = ["Legal", "Social", "Economic"], [4, 0, 1], [0, 2, 2]
    here = dimension_chart(labels, confirmed, unreviewed, title="Accra")
    plain = dimension_chart(labels, confirmed, unreviewed)
    drawer = ChartDrawer(labels if warm else None)
    try:
        assert drawer.draw(labels, confirmed, unreviewed) == plain
        assert drawer.draw(labels, confirmed, unreviewed, title="Accra") == here
        assert cached_chart(tmp_path, "salt", labels, confirmed, unreviewed, "Accra",
                            drawer=drawer) == here
    finally:
        drawer.close()
    assert drawer.draw(labels, confirmed, unreviewed, title="Accra") == here
