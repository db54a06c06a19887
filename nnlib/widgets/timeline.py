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


def _spread(positions: Sequence[float], gap: float, top: float) -> list[float]:
    """Label positions near ``positions`` (increasing), at least ``gap`` apart, none above ``top``.

    Each label sits at its own position unless the label before it is closer than ``gap``; then
    it moves down (later) just enough. If that pushes the last ones past ``top``, they are moved
    back up the same way from the end.
    """
    out: list[float] = []
    for x in positions:
        out.append(x if not out else max(x, out[-1] + gap))
    for i in range(len(out) - 1, -1, -1):
        limit = top if i == len(out) - 1 else out[i + 1] - gap
        out[i] = min(out[i], limit)
    return out


_MOOD_COLOUR = {"up": PALETTE[0], "down": PALETTE[1], "neutral": PALETTE[3]}
LABEL_POINTS = 11
"""Type size of the event labels: legible when a 390 px phone shows the figure at its width."""
_AXIS_X, _LABEL_X = 0.2, 0.34  # where the time axis and the column of labels stand (axes x)


def history_timeline_figure(
    events: Sequence[Event] = HISTORY, years: tuple[int, int] = (1938, 2022)
) -> InteractiveFigure:
    """All events on one vertical time axis, each labelled in a column beside it; a player steps
    through them and highlights one at a time.

    The axis runs down the figure (a narrow, tall picture, readable on a phone): events are dots
    on it, periods shaded bands, and every event has a label "year name" in the column on the
    right, joined to its year by a line and spread out so that no two labels touch.

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
    # Labels in the order of their place on the axis (a period at its middle).
    order = sorted(range(len(events)), key=lambda i: events[i].middle)
    gap = (years[1] - years[0]) / 22  # one label line, with some air, in years
    spread = _spread([events[i].middle for i in order], gap, years[1] - gap / 2)
    label_at = dict(zip(order, spread, strict=True))

    def setup(fig: Any) -> dict[str, Any]:
        from matplotlib.patches import Rectangle

        ax = fig.add_subplot()
        ax.axvline(_AXIS_X, color="0.3", lw=1.2, zorder=1)
        for i, e in enumerate(events):
            colour = _MOOD_COLOUR[e.mood]
            y = label_at[i]
            if e.end is not None:
                ax.add_patch(Rectangle((_AXIS_X - 0.06, e.start), 0.12, e.end - e.start,
                                       color=colour, alpha=0.25, lw=0))  # fmt: skip
            else:
                ax.plot([_AXIS_X], [e.start], "o", color=colour, ms=5, zorder=2)
            ax.plot([_AXIS_X + 0.02, _LABEL_X - 0.02], [e.middle, y], color="0.7", lw=0.8)
            ax.text(_LABEL_X, y, f"{e.when}  {e.name}", ha="left", va="center",
                    fontsize=LABEL_POINTS, color=colour)  # fmt: skip
        ax.set(xlim=(0, 1), ylim=(years[1], years[0]), xticks=[])
        ax.set_yticks(range(10 * -(-years[0] // 10), years[1] + 1, 10))
        ax.tick_params(axis="y", labelsize=LABEL_POINTS - 1)
        for side in ("right", "top", "bottom"):
            ax.spines[side].set_visible(False)
        band = Rectangle((_AXIS_X - 0.08, years[0]), 0.16, 0.0, color="gold", alpha=0.6, lw=0)
        ax.add_patch(band)
        row = Rectangle((_LABEL_X - 0.02, years[0]), 1.0, gap * 0.9, color="gold", alpha=0.35,
                        lw=0)  # fmt: skip
        ax.add_patch(row)
        (dot,) = ax.plot([], [], "o", ms=11, mfc="gold", mec="k", mew=1.2, zorder=4)
        title = ax.set_title("", fontsize=LABEL_POINTS, loc="left")
        animate(band, row, dot, title)
        return {"band": band, "row": row, "dot": dot, "title": title}

    def update(state: dict[str, Any], event: int) -> str:
        e = events[event]
        lo, hi = (e.start - 0.6, e.start + 0.6) if e.end is None else (e.start, e.end)
        state["band"].set_y(lo)
        state["band"].set_height(hi - lo)
        state["row"].set_y(label_at[event] - gap * 0.45)
        state["dot"].set_data([_AXIS_X], [e.middle])
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
        figsize=(4.6, 5.6),
        static_dpi=80,
    )
