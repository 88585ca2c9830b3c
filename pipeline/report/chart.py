"""The chart of initiatives by dimension, as PNG bytes that depend only on the counts.

matplotlib's Agg renderer draws the same pixels for the same figure; the PNG writer adds a
`Software` text chunk naming the matplotlib version, which is dropped so that upgrading
matplotlib alone does not change a report. The figure is built without pyplot, so no
global state (open figures, rcParams changed elsewhere) leaks into it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

CONFIRMED_COLOUR = "#2f5d8a"
UNREVIEWED_COLOUR = "#c9d6e3"
_RC = {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "cityqda",
       "path.simplify": True}


def dimension_chart(labels: list[str], confirmed: list[int], unreviewed: list[int], *,
                    title: str | None = None) -> bytes:
    """A horizontal stacked bar per dimension: confirmed initiatives, then unreviewed ones
    (suggested or disputed), so a reader sees how much of the picture is still unchecked.
    Equal arguments give the same bytes, drawn once per process (many cities share counts)."""
    return _chart(tuple(labels), tuple(confirmed), tuple(unreviewed), title)


@functools.lru_cache(maxsize=256)
def _chart(labels: tuple, confirmed: tuple, unreviewed: tuple, title: str | None) -> bytes:
    return draw_chart(labels, confirmed, unreviewed, title, _FIGURES)


# (labels, title) -> (figure, axes) drawn before: a study's charts differ only in their
# bars, value labels and x range, and building the figure, its axes and their ticks was
# a quarter of a chart's time. Redrawing gives the same pixels as a new figure
# (tests/report/test_chart.py compares them).
_FIGURES: dict[tuple, tuple] = {}


# Charts kept between runs (<study>/.cityqda-cache/report-charts/<key>.png), keyed by what
# they are drawn from and the package state (cityqda's code, matplotlib's version): after
# one changed interview the charts of the rewritten city and of the summary usually show
# the same counts, and a rerun then neither imports matplotlib nor draws. A file that is
# not a whole PNG is drawn again.
CHART_CACHE = "report-charts"
_PNG_START = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def chart_key(salt: str, labels, confirmed, unreviewed, title: str | None = None) -> str:
    text = json.dumps([salt, list(labels), list(confirmed), list(unreviewed), title],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_chart(folder: Path, salt: str, labels, confirmed, unreviewed,
                 title: str | None = None, drawer: ChartDrawer | None = None) -> bytes:
    """dimension_chart's bytes, from the cache folder when drawn before (else drawn by
    `drawer` when given)."""
    path = Path(folder) / f"{chart_key(salt, labels, confirmed, unreviewed, title)}.png"
    try:
        data = path.read_bytes()
        if data.startswith(_PNG_START) and data.endswith(_PNG_END):
            return data
    except OSError:
        pass
    draw = drawer.draw if drawer is not None else dimension_chart
    data = draw(list(labels), list(confirmed), list(unreviewed), title=title)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".cityqda-", suffix=".png", dir=path.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        from pipeline.xlsx_determinism import replace_keeping_mode

        replace_keeping_mode(temp, path)  # atomic: another process may write it too
    except OSError:
        pass  # a cache: the next run draws it again
    return data


def prune_charts(folder: Path, keys: set[str]) -> None:
    """Drop cached charts no report uses any more (the folder stays the size of a run)."""
    try:
        for path in Path(folder).glob("*.png"):
            if path.stem not in keys:
                path.unlink(missing_ok=True)
    except OSError:
        pass


def load_matplotlib() -> None:
    """Import what drawing needs (about a second), e.g. before forking workers."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401


def draw_chart(labels: tuple, confirmed: tuple, unreviewed: tuple, title: str | None,
               figures: dict | None = None) -> bytes:
    """The PNG; `figures` (a dict kept by the caller) lets the figure be reused."""
    load_matplotlib()
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(_RC):
        height = 0.45 * max(len(labels), 1) + (1.6 if title else 1.3)
        key = (labels, title)
        first = figures is None or key not in figures
        if first:
            figure = Figure(figsize=(6.0, height), dpi=150)
            FigureCanvasAgg(figure)
            axes = figure.add_subplot(1, 1, 1)
            if figures is not None:
                figures[key] = (figure, axes)
        else:
            figure, axes = figures[key]
            for artist in [*axes.containers, *axes.texts, axes.legend_]:
                artist.remove()
        positions = list(range(len(labels)))[::-1]
        axes.barh(positions, confirmed, color=CONFIRMED_COLOUR, label="confirmed")
        axes.barh(positions, unreviewed, left=confirmed, color=UNREVIEWED_COLOUR,
                  hatch="//", edgecolor="#7f95ab", linewidth=0.5,
                  label="unreviewed (suggested or disputed)")
        if first:
            axes.set_yticks(positions, labels)
        top = max([c + u for c, u in zip(confirmed, unreviewed, strict=True)] or [0])
        axes.set_xlim(0, max(top, 1) * 1.15)
        if first:
            axes.xaxis.get_major_locator().set_params(integer=True)
            axes.set_xlabel("initiatives")
            if title:
                axes.set_title(title)
        for position, c, u in zip(positions, confirmed, unreviewed, strict=True):
            if c + u:
                axes.text(c + u + top * 0.02, position, f"{c}" + (f" + {u}" if u else ""),
                          va="center", fontsize=8)
        if first:
            axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=7,
                    frameon=False)
        if first:
            figure.subplots_adjust(left=0.3, right=0.95,
                                   top=1 - (0.45 if title else 0.15) / height,
                                   bottom=1.05 / height)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


DRAWER_TIMEOUT_SECONDS = 120


class ChartDrawer:
    """One forked process that imports matplotlib the moment it starts and then draws on
    request. A rerun that rewrites one city usually draws one or two charts, after reading
    the store for a few tenths of a second: with the import done meanwhile on the other
    core, the run waits only for the drawing. Any failure draws here instead (same bytes:
    the same function draws)."""

    def __init__(self, labels: list[str] | None = None):
        """`labels`: the study's dimension labels, when known: the child then builds
        their figure once after the import, so the first chart asked for is a redraw."""
        import multiprocessing

        self._pool = multiprocessing.get_context("fork").Pool(
            1, initializer=_drawer_start, initargs=(labels,))

    def draw(self, labels, confirmed, unreviewed, *, title: str | None = None) -> bytes:
        if self._pool is not None:
            try:
                return self._pool.apply_async(dimension_chart, (labels, confirmed, unreviewed),
                                              {"title": title}).get(DRAWER_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 - any failure there: draw here
                self.close()
        return dimension_chart(labels, confirmed, unreviewed, title=title)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def _drawer_start(labels: list[str] | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's: no traceback here
    try:
        load_matplotlib()
        if labels:
            zeros = (0,) * len(labels)
            draw_chart(tuple(labels), zeros, zeros, None, _FIGURES)
    except Exception:  # noqa: BLE001 - a failing initializer would be restarted forever;
        pass  # the first chart then reports the problem
