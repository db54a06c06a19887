"""Chapter 1: a timeline of neural networks and artificial intelligence, one event at a time.

:data:`HISTORY` lists the events and periods of the chapter's short history; the figure of
:func:`history_timeline_figure` draws all of them on one time axis (periods as shaded bands)
and highlights one, with a one-line caption, as the reader moves its slider or plays it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnlib.viz import PALETTE
from nnlib.widgets.core import Control, InteractiveFigure, animate

__all__ = ["HISTORY", "Event", "history_timeline_figure"]


@dataclass(frozen=True)
class Event:
    """One event (``end is None``) or period (``start`` to ``end``) of the timeline.

    Attributes:
        start: the year it happened, or the first year of the period.
        end: the last year of a period, None for an event.
        name: a short label drawn on the axis.
        caption: one sentence shown when the event is highlighted.
        mood: ``"up"`` (progress, hope), ``"down"`` (a setback, a winter) or ``"neutral"``;
            periods are shaded in its colour.
    """

    start: int
    end: int | None
    name: str
    caption: str
    mood: str = "up"

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(
                f"event {self.name!r}: a period must end after it starts, got {self.start} to "
                f"{self.end}"
            )
        if self.mood not in ("up", "down", "neutral"):
            raise ValueError(
                f"event {self.name!r}: mood must be 'up', 'down' or 'neutral', got {self.mood!r}"
            )

    @property
    def when(self) -> str:
        """The year, or the period as ``"1974-1980"`` (an en dash)."""
        return str(self.start) if self.end is None else f"{self.start}–{self.end}"

    @property
    def middle(self) -> float:
        """Where the event sits on the time axis (the middle of a period)."""
        return self.start if self.end is None else (self.start + self.end) / 2


#: The events of chapter 1's history, in time order.
HISTORY: tuple[Event, ...] = (
    Event(
        1943,
        None,
        "formal neuron",
        "McCulloch and Pitts describe a threshold unit and show that networks of such units "
        "compute logical propositions.",
    ),
    Event(
        1956,
        None,
        "Dartmouth",
        "The Dartmouth summer workshop gives artificial intelligence its name and its first "
        "research programme.",
    ),
    Event(
        1958,
        None,
        "perceptron",
        "Rosenblatt's perceptron learns its weights from its mistakes; the press expects "
        "thinking machines soon.",
    ),
    Event(
        1966,
        None,
        "ALPAC",
        "The ALPAC report finds machine translation slower, worse and dearer than human "
        "translators; US funding for it is cut.",
        "down",
    ),
    Event(
        1969,
        None,
        "Perceptrons",
        "Minsky and Papert's book proves what one layer of perceptrons cannot compute, XOR "
        "among it; interest in neural networks collapses.",
        "down",
    ),
    Event(
        1973,
        None,
        "Lighthill",
        "The Lighthill report judges that AI has failed to deliver; Britain cuts its funding.",
        "down",
    ),
    Event(
        1974,
        1980,
        "first winter",
        "The first AI winter: little money and little interest, in neural networks and in AI "
        "as a whole.",
        "down",
    ),
    Event(
        1980,
        1987,
        "expert systems",
        "Expert systems, rules written by hand with the help of specialists, become an industry.",
        "neutral",
    ),
    Event(
        1986,
        None,
        "backpropagation",
        "Rumelhart, Hinton and Williams show that backpropagation trains hidden layers that "
        "learn useful representations.",
    ),
    Event(
        1987,
        1993,
        "second winter",
        "The second AI winter: expert systems prove costly to maintain and their market "
        "collapses; funding dries up again.",
        "down",
    ),
    Event(
        1998,
        None,
        "LeNet",
        "LeCun's convolutional network LeNet-5 reads handwritten digits, on bank cheques among "
        "others.",
    ),
    Event(
        2006,
        None,
        "deep belief nets",
        "Hinton, Osindero and Teh train deep networks one layer at a time; the term deep "
        "learning spreads.",
    ),
    Event(
        2012,
        None,
        "AlexNet",
        "AlexNet, trained on two GPUs, wins the ImageNet challenge with 15.3 % top-5 errors "
        "against 26.2 % for the runner-up.",
    ),
    Event(
        2016,
        None,
        "AlphaGo",
        "DeepMind's AlphaGo, deep networks guiding a tree search, beats Lee Sedol at Go by four "
        "games to one.",
    ),
)


def _label_rows(positions: Sequence[float], gap: float) -> list[int]:
    """Rows 0, 1, 2, ... for labels at ``positions`` (increasing) so that two labels on one row
    are at least ``gap`` apart: each label takes the lowest row that has room (greedy)."""
    last: list[float] = []
    rows = []
    for x in positions:
        row = next((r for r, end in enumerate(last) if x - end >= gap), len(last))
        if row == len(last):
            last.append(x)
        last[row] = x
        rows.append(row)
    return rows


_MOOD_COLOUR = {"up": PALETTE[0], "down": PALETTE[1], "neutral": PALETTE[3]}


def history_timeline_figure(
    events: Sequence[Event] = HISTORY, years: tuple[int, int] = (1938, 2022)
) -> InteractiveFigure:
    """All events on one time axis; a player steps through them and highlights one at a time.

    Args:
        events: the events, in time order (by ``start``).
        years: the range of the time axis.

    Returns:
        An :class:`InteractiveFigure` with one control, ``event`` (the index of the highlighted
        event, labelled with its year), whose HTML fragment is the event's caption.

    Raises:
        ValueError: no events, events out of order, or an event outside ``years``.
    """
    events = tuple(events)
    if not events:
        raise ValueError("the timeline needs at least one event, got none")
    starts = [e.start for e in events]
    if starts != sorted(starts):
        raise ValueError(f"events must be in time order, got the years {starts}")
    outside = [e.when for e in events if e.start < years[0] or (e.end or e.start) > years[1]]
    if outside:
        raise ValueError(f"events {outside} lie outside the axis {years[0]}..{years[1]}")
    levels = _label_rows([e.start for e in events if e.end is None], gap=10)
    period_rows = _label_rows([e.middle for e in events if e.end is not None], gap=10)

    def setup(fig: Any) -> dict[str, Any]:
        from matplotlib.patches import Rectangle

        ax = fig.add_subplot()
        ax.axhline(0, color="0.3", lw=1.2, zorder=1)
        points = iter(levels)
        periods = iter(period_rows)
        for e in events:
            colour = _MOOD_COLOUR[e.mood]
            if e.end is not None:
                ax.axvspan(e.start, e.end, ymin=0.0, ymax=0.3, color=colour, alpha=0.2, lw=0)
                row = next(periods)
                ax.text(e.middle, -0.5 - 0.45 * row, e.name, ha="center", va="center",
                        fontsize=8.5, color=colour)  # fmt: skip
            else:
                top = 0.45 + 0.75 * next(points)
                ax.plot([e.start, e.start], [0, top], color="0.7", lw=0.8, zorder=1)
                ax.plot([e.start], [0], "o", color=colour, ms=5, zorder=2)
                ax.text(e.start, top + 0.06, f"{e.start}\n{e.name}", ha="center",
                        va="bottom", fontsize=8.5, linespacing=1.0)  # fmt: skip
        ax.set(xlim=years, ylim=(-1.35, 2.9), yticks=[])
        ax.set_xticks(range(10 * -(-years[0] // 10), years[1] + 1, 10))
        ax.tick_params(axis="x", labelsize=9)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        # A Rectangle, not axvspan: before matplotlib 3.9 (Pyodide's is 3.8) axvspan returns a
        # Polygon, which has no set_x. x in data units, y in axes fractions, like axvspan.
        band = Rectangle((years[0], 0.24), 0.0, 0.16, transform=ax.get_xaxis_transform(),
                         color="gold", alpha=0.6, lw=0)  # fmt: skip
        ax.add_patch(band)
        (dot,) = ax.plot([], [], "o", ms=11, mfc="gold", mec="k", mew=1.2, zorder=4)
        title = ax.set_title("", fontsize=10, loc="left")
        animate(band, dot, title)
        return {"band": band, "dot": dot, "title": title}

    def update(state: dict[str, Any], event: int) -> str:
        e = events[event]
        lo, hi = (e.start - 0.6, e.start + 0.6) if e.end is None else (e.start, e.end)
        state["band"].set_x(lo)
        state["band"].set_width(hi - lo)
        state["dot"].set_data([e.middle], [0])
        state["title"].set_text(f"{e.when}: {e.name}")
        return f"<p><b>{html.escape(e.when)}</b>: {html.escape(e.caption)}</p>"

    control = Control(
        "event",
        tuple(range(len(events))),
        tuple(e.when for e in events),
        0,
        "year",
        "player",
        1800,
    )
    return InteractiveFigure(
        setup,
        update,
        [control],
        title="A timeline of neural networks and AI",
        caption="Blue: progress; red: setbacks and the two AI winters; orange: the expert-system "
        "boom. Press play, or move the slider, to step through the events.",
        figsize=(7.6, 3.0),
    )
