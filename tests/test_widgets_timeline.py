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
        assert fig.state["dot"].get_ydata()[0] == pytest.approx(e.middle)
        band = fig.state["band"]
        assert band.get_y() <= e.start and band.get_y() + band.get_height() >= (e.end or e.start)
    frames = fig.frames()
    assert len(set(frames.frame_image)) == len(HISTORY)  # every event its own picture
    assert frames.nbytes < 400_000
    page = fig.to_html()
    assert page.count('class="nnlib-play"') == 1 and ">1943</output>" in page


def test_spread_labels_keep_their_gap_and_stay_near_their_years() -> None:
    from nnlib.widgets.timeline import _spread

    xs = [1943, 1956, 1958, 1966, 1969, 1973, 1977, 2018, 2019]
    ys = _spread(xs, gap=3.0, top=2020)
    assert np.all(np.diff(ys) >= 3.0 - 1e-9)
    assert ys[:2] == [1943, 1956] and ys[2] == 1959  # alone: at its year; crowded: pushed on
    assert ys[-1] == 2020 and ys[-2] == 2017  # pushed back from the end of the axis


def test_labels_are_legible_on_a_phone_and_inside_the_picture() -> None:
    """At a phone's width (a 390 px screen leaves about 340 px for the picture) every label is
    at least 10 CSS pixels high, inside the picture, and clear of the others."""
    fig = history_timeline_figure()
    fig.render(event=0)
    mpl_fig = fig.figure
    mpl_fig.dpi = fig.static_dpi
    renderer = mpl_fig.canvas.get_renderer()
    texts = [t for t in mpl_fig.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
    assert len(texts) >= len(HISTORY) + 8  # the labels, the year ticks, the title
    width = fig.css_size()[0]
    scale = min(1.0, 340 / width)
    for text in texts:
        px = text.get_fontsize() * fig.static_dpi / 72 * scale
        assert px >= 10, f"{text.get_text()!r} is {px:.1f} px high on a phone"
    box = mpl_fig.bbox
    labels = [t for t in texts if t.get_text() in {f"{e.when}  {e.name}" for e in HISTORY}]
    assert len(labels) == len(HISTORY)
    extents = [t.get_window_extent(renderer) for t in texts]
    for text, ext in zip(texts, extents, strict=True):
        inside = ext.x0 >= box.x0 and ext.x1 <= box.x1 and ext.y0 >= box.y0 and ext.y1 <= box.y1
        assert inside, f"{text.get_text()!r} is cut off: {ext} outside {box}"
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two labels overlap"


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
