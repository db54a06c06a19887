"""nnlib.widgets.timeline: chapter 1's history, one event at a time."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnlib.widgets.timeline import HISTORY, Event, history_timeline_figure


def test_history_has_the_courses_dates_in_order() -> None:
    when = {e.name: e.when for e in HISTORY}
    expected = {
        "formal neuron": "1943",
        "Dartmouth": "1956",
        "perceptron": "1958",
        "ALPAC": "1966",
        "Perceptrons": "1969",
        "first winter": "1974–1980",
        "expert systems": "1980–1987",
        "backpropagation": "1986",
        "second winter": "1987–1993",
        "LeNet": "1998",
        "deep belief nets": "2006",
        "AlexNet": "2012",
        "AlphaGo": "2016",
    }
    assert {k: when.get(k) for k in expected} == expected
    starts = [e.start for e in HISTORY]
    assert starts == sorted(starts)
    assert all(len(e.caption) < 160 for e in HISTORY)  # one line


def test_each_step_highlights_one_event_and_shows_its_caption() -> None:
    fig = history_timeline_figure()
    assert fig.controls[0].labels == tuple(e.when for e in HISTORY)
    for k, e in enumerate(HISTORY):
        html = fig.render(event=k)
        assert html.startswith(f"<p><b>{e.when}</b>: ")
        assert e.caption.split(",")[0] in html.replace("&#x27;", "'")
        assert fig.state["dot"].get_xdata()[0] == pytest.approx(e.middle)
        band = fig.state["band"]
        assert band.get_x() <= e.start and band.get_x() + band.get_width() >= (e.end or e.start)
    frames = fig.frames()
    assert len(set(frames.frame_image)) == len(HISTORY)  # every event its own picture
    assert frames.nbytes < 400_000
    page = fig.to_html()
    assert page.count('class="nnlib-play"') == 1 and ">1943</output>" in page


def test_labels_on_one_row_do_not_collide() -> None:
    from nnlib.widgets.timeline import _label_rows

    xs = [1943, 1956, 1958, 1966, 1969, 1973, 1986]
    rows = _label_rows(xs, gap=10)
    for r in set(rows):
        on_row = [x for x, row in zip(xs, rows, strict=True) if row == r]
        assert np.all(np.diff(on_row) >= 10)
    assert rows[:3] == [0, 0, 1]


def test_bad_events_are_rejected() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        Event(1990, 1980, "x", "y")
    with pytest.raises(ValueError, match="mood must be"):
        Event(1990, None, "x", "y", mood="sad")
    with pytest.raises(ValueError, match="time order"):
        history_timeline_figure([HISTORY[2], HISTORY[0]])
    with pytest.raises(ValueError, match=re.escape("outside the axis 1950..2000")):
        history_timeline_figure(HISTORY, years=(1950, 2000))
    with pytest.raises(ValueError, match="at least one event"):
        history_timeline_figure([])
