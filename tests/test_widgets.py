"""nnlib.widgets: the live face updates the figure correctly, the static face holds every frame."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from nnlib.neurons import AND, OR, ThresholdNeuron, truth_table
from nnlib.perceptron import Perceptron
from nnlib.regression import LinearRegression, LogisticRegression
from nnlib.widgets import (
    BOOLEAN_FUNCTIONS,
    InteractiveFigure,
    dropdown,
    gradient_descent_figure,
    logistic_regression_figure,
    neuron_figure,
    perceptron_figure,
    player,
    slider,
    widgets_mode,
)
from nnlib.widgets.core import png_size
from nnlib.widgets.part1 import default_perceptron_datasets, default_regression_data


# --- a tiny figure whose state is easy to check -------------------------------------------------
def _line_figure(calls: list | None = None) -> InteractiveFigure:
    def setup(fig):
        ax = fig.add_subplot()
        (line,) = ax.plot([], [])
        ax.set(xlim=(0, 1), ylim=(-3, 3))
        return line

    def update(line, k, style):
        if calls is not None:
            calls.append((k, style))
        x = np.linspace(0, 1, 5)
        line.set_data(x, k * x)
        line.set_linestyle(style)
        return f"<b>k={k:g}</b>" if k >= 0 else None

    return InteractiveFigure(
        setup,
        update,
        [slider("k", [-2, 0, 1, 2], default=1), dropdown("style", {"solid": "-", "dashed": "--"})],
        title="a line",
    )


def test_render_updates_the_persistent_figure_and_returns_the_html() -> None:
    fig = _line_figure()
    assert fig.render(k=2.0, style="--") == "<b>k=2</b>"
    line = fig.state
    np.testing.assert_allclose(line.get_ydata(), 2 * np.linspace(0, 1, 5))
    assert line.get_linestyle() == "--"
    assert fig.render(k=-2.0) is None  # missing controls take their defaults
    assert line.get_linestyle() == "-"


def test_render_rejects_unknown_controls() -> None:
    with pytest.raises(TypeError, match=r"unknown control\(s\) \['q'\]"):
        _line_figure().render(q=1)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: slider("1k", [1, 2]), "must be a Python identifier"),
        (lambda: slider("k", []), "needs at least one value"),
        (lambda: slider("k", [1, 2], default=3), "default 3 is not one of its values"),
        (lambda: dropdown("d", ["a"], default="b"), "default 'b' is not one of its values"),
    ],
)
def test_bad_controls_are_rejected(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_figure_needs_unique_controls() -> None:
    with pytest.raises(ValueError, match="unique"):
        InteractiveFigure(None, lambda fig, k: None, [slider("k", [1]), slider("k", [2])])
    with pytest.raises(ValueError, match="at least one control"):
        InteractiveFigure(None, lambda fig: None, [])


def test_setup_none_passes_the_figure_to_update() -> None:
    seen = []
    fig = InteractiveFigure(None, lambda f, k: seen.append(f), [slider("k", [1, 2])])
    fig.render(k=2)
    assert seen == [fig.figure]


# --- static face --------------------------------------------------------------------------------
def _decode(png_b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png_b64))).convert("RGB"))


def _payload(html_text: str) -> dict:
    match = re.search(r'<script type="application/json" class="nnlib-frames">(.*?)</script>',
                      html_text, flags=re.S)  # fmt: skip
    assert match, "no frame table in the static HTML"
    return json.loads(match.group(1))


def test_static_frames_cover_the_grid_in_order() -> None:
    calls: list = []
    fig = _line_figure(calls)
    frames = fig.frames()
    assert frames.shape == (4, 2) and frames.n_frames == 8
    grid_calls = calls[: frames.n_frames]
    # Last control fastest, as np.ravel_multi_index expects.
    assert grid_calls == [(k, s) for k in (-2, 0, 1, 2) for s in ("-", "--")]
    # Each frame shows its own values: re-render one combination and compare the pictures.
    fig.render(k=2, style="--")
    again = fig.png(static=True)
    assert frames.image([3, 1]) == again
    assert frames.html([3, 1]) == "<b>k=2</b>"
    assert frames.html([0, 0]) == ""  # update returned None
    assert fig.frames() is frames  # cached


def test_identical_frames_are_stored_once() -> None:
    # The picture ignores "unused", so its 3 values must share one image per k.
    def update(line, k, unused):
        line.set_data([0, 1], [0, k])

    def setup(fig):
        ax = fig.add_subplot()
        ax.set(xlim=(0, 1), ylim=(0, 3))
        return ax.plot([], [])[0]

    fig = InteractiveFigure(setup, update, [slider("k", [1, 2]), slider("unused", [0, 1, 2])])
    frames = fig.frames()
    assert frames.n_frames == 6
    assert len(frames.images) == 2
    assert frames.frame_image == [0, 0, 0, 1, 1, 1]


def test_static_html_has_controls_frames_and_a_controller() -> None:
    fig = InteractiveFigure(
        _line_figure()._setup,
        _line_figure()._update,
        [slider("k", [-2, 0, 1, 2], default=1), player("style", ["-", "--", ":"])],
        title="a line",
        caption="A caption.",
    )
    text = fig.to_html()
    data = _payload(text)
    assert data["shape"] == [4, 3]
    assert data["labels"] == [["-2", "0", "1", "2"], ["-", "--", ":"]]
    assert len(data["frame_image"]) == 12 and len(data["frame_html"]) == 12
    ranges = re.findall(r'<input type="range"[^>]*>', text)
    assert len(ranges) == 2
    assert 'max="3"' in ranges[0] and 'value="2"' in ranges[0]  # default k=1 is index 2
    assert 'max="2"' in ranges[1]
    assert text.count('class="nnlib-play"') == 1
    assert "A caption." in text and "<script>" in text and "getElementById" in text
    # The picture shown before any script runs is the default frame.
    first = re.search(r'<img class="nnlib-frame" src="data:image/png;base64,([^"]+)"', text)
    default_k = fig.frames().frame_index([2, 0])
    # Each frame is a data: URI (the book build moves it into a file beside the page).
    assert (
        "data:image/png;base64," + first.group(1) == data["images"][data["frame_image"][default_k]]
    )
    # Static frames are palette PNGs at twice the static resolution, shown at the static one.
    image = Image.open(io.BytesIO(base64.b64decode(first.group(1))))
    assert image.mode == "P"
    assert fig.pixel_ratio == 2
    assert image.size == (int(2 * 6.4 * fig.static_dpi), int(2 * 3.6 * fig.static_dpi))
    css = fig.css_size()
    for inches, pixels, shown in zip((6.4, 3.6), image.size, css, strict=True):
        assert abs(shown - inches * fig.static_dpi) <= 1 and abs(2 * shown - pixels) <= 1
    tag = re.search(r'<img class="nnlib-frame"[^>]*>', text).group(0)
    assert f'width="{css[0]}" height="{css[1]}"' in tag
    assert f"min-width:{round(0.75 * css[0])}px" in tag


def test_static_html_cannot_be_closed_by_a_fragment() -> None:
    fig = InteractiveFigure(None, lambda f, k: "</script><b>x</b>", [slider("k", [1])])
    text = fig.to_html()
    # The frame table is still one JSON document, and the controller still follows it.
    assert _payload(text)["htmls"] == ["</script><b>x</b>"]
    assert text.rstrip().endswith("})();\n</script>\n</div>")


def test_dropdown_becomes_a_select() -> None:
    text = _line_figure().to_html()
    assert re.search(r'<select id="[^"]+" data-nnlib-control="style">', text)
    assert '<option value="1">dashed</option>' in text


# --- modes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["static", "live", "both"])
def test_widgets_mode_reads_the_environment(monkeypatch, mode) -> None:
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", mode)
    assert widgets_mode() == mode


def test_widgets_mode_auto_is_static_outside_a_kernel(monkeypatch) -> None:
    monkeypatch.delenv("NNLIB_WIDGETS_MODE", raising=False)
    assert widgets_mode() == "static"


def test_widgets_mode_rejects_unknown_values(monkeypatch) -> None:
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", "sometimes")
    with pytest.raises(ValueError, match="NNLIB_WIDGETS_MODE must be one of"):
        widgets_mode()


@pytest.mark.parametrize(
    ("mode", "keys"),
    [
        ("static", {"text/plain", "text/html", "image/png"}),
        ("live", {"text/plain", "application/vnd.jupyter.widget-view+json"}),
        (
            "both",
            {"text/plain", "text/html", "image/png", "application/vnd.jupyter.widget-view+json"},
        ),
    ],
)
def test_mimebundle_matches_the_mode(monkeypatch, mode, keys) -> None:
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", mode)
    data, metadata = _line_figure()._repr_mimebundle_()
    assert set(data) == keys
    assert set(metadata) == ({"image/png"} if "image/png" in keys else set())


def test_static_bundle_prints_the_default_frame_at_its_css_size(monkeypatch) -> None:
    """The PDF builder picks image/png: it is the defaults' frame, sized in CSS pixels."""
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", "static")
    fig = _line_figure()
    data, metadata = fig._repr_mimebundle_()
    frames = fig.frames()
    default = frames.image([c.default for c in fig.controls])
    assert data["image/png"] == default
    # Another frame differs: the bundle does not just carry the first image.
    assert frames.image([0, 0]) != default
    width, height = Image.open(io.BytesIO(default)).size
    assert metadata["image/png"] == {"width": width // 2, "height": height // 2}


def test_png_size_reads_the_header_and_rejects_other_bytes() -> None:
    png = _line_figure().png()
    assert png_size(png) == Image.open(io.BytesIO(png)).size
    with pytest.raises(ValueError, match="expected PNG bytes"):
        png_size(b"GIF89a" + bytes(30))


# --- live face ----------------------------------------------------------------------------------
def test_live_controls_drive_the_figure() -> None:
    fig = _line_figure()
    view = fig.live()
    assert set(view.controls) == {"k", "style"}
    assert view.values == {"k": 1.0, "style": "-"}
    first = view.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and view.side.value == "<b>k=1</b>"
    view.controls["k"].value = 2.0  # the slider's callback redraws
    np.testing.assert_allclose(fig.state.get_ydata(), 2 * np.linspace(0, 1, 5))
    assert view.side.value == "<b>k=2</b>" and view.image.value != first
    view.controls["style"].value = "--"
    assert fig.state.get_linestyle() == "--"


def test_live_player_has_a_play_button() -> None:
    import ipywidgets

    fig = InteractiveFigure(None, lambda f, epoch: None, [player("epoch", range(5))])
    view = fig.live()
    plays = [
        w for w in view.widget.children[0].children[0].children if isinstance(w, ipywidgets.Play)
    ]
    assert len(plays) == 1 and plays[0].max == 4


# --- the book's figures -------------------------------------------------------------------------
def test_neuron_figure_shows_the_gate_it_computes() -> None:
    fig = neuron_figure()
    view = fig.live()
    assert "computes <b>AND</b>" in view.side.value
    view.controls["b"].value = -0.5
    assert "computes <b>OR</b>" in view.side.value
    state = fig.state
    # The shaded region is the neuron's output on the grid, and the line is w.x + b = 0.
    region = np.asarray(state["region"].get_array())
    assert region.sum() > 0 and set(np.unique(region)) <= {0.0, 1.0}
    x, y = state["line"].get_data()
    np.testing.assert_allclose(np.asarray(x) + np.asarray(y) - 0.5, 0, atol=1e-12)
    colours = state["dots"].get_facecolors()
    fired = [not np.allclose(c[:3], 1.0) for c in colours]  # white = silent
    assert fired == [bool(a) for a in truth_table(OR, 2)[1]]
    # The table lists z = w.x + b for the four inputs.
    assert view.side.value.count("<tr>") == 5


def test_no_neuron_setting_computes_xor() -> None:
    fig = neuron_figure()
    names = {re.search(r"computes <b>(.*?)</b>", fig.frames().htmls[i]).group(1)
             for i in set(fig.frames().frame_html)}  # fmt: skip
    assert "XOR" not in names and "XNOR" not in names
    assert {"AND", "OR", "NAND", "NOR"} <= names
    assert names <= set(BOOLEAN_FUNCTIONS.values())


def test_perceptron_figure_follows_the_training_history() -> None:
    data = default_perceptron_datasets()
    fig = perceptron_figure(data, max_epochs=12, seed=0)
    X, y = data["separable blobs"]
    clf = Perceptron(max_epochs=12, seed=0).fit(X, y)
    assert clf.converged_
    html_end = fig.render(data="separable blobs", epoch=12)
    assert "misclassified now: 0 / 40" in html_end and "converged after" in html_end
    w, b = clf.history_[1]
    html_1 = fig.render(data="separable blobs", epoch=1)
    assert f"w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}" in html_1
    wrong = int(np.sum(ThresholdNeuron(w, b)(X) != y))
    assert f"misclassified now: {wrong} / 40" in html_1
    assert len(fig.state["wrong"].get_offsets()) == wrong
    assert list(fig.state["marker"].get_ydata()) == [clf.errors_[0]]
    html_xor = fig.render(data="XOR", epoch=12)
    assert "not converged after 12 epochs" in html_xor


def test_gradient_descent_figure_matches_linear_regression() -> None:
    X, y = default_regression_data()
    fig = gradient_descent_figure(X, y, lrs=(0.1, 1.05), steps=(1, 5, 20))
    fig.render(lr=0.1, step=5)
    model = LinearRegression(method="gd", lr=0.1, epochs=5, seed=0).fit(X, y)
    xs, ys = fig.state["line"].get_data()
    np.testing.assert_allclose(ys, model.coef_[0] * xs + model.intercept_)
    full = LinearRegression(method="gd", lr=0.1, epochs=21, seed=0).fit(X, y)
    assert fig.state["marker"].get_ydata()[0] == pytest.approx(full.loss_history_[5])
    assert "diverging" in fig.render(lr=1.05, step=20)
    assert "converging" in fig.render(lr=0.1, step=20)


def test_logistic_figure_reports_the_loss_of_its_weights() -> None:
    X, y = default_perceptron_datasets()["separable blobs"]
    fig = logistic_regression_figure(X, y)
    html_text = fig.render(w1=2.0, w2=-1.0, b=1.0)
    loss, grad_w, grad_b = LogisticRegression().loss_and_gradient(X, y, np.array([2.0, -1.0]), 1.0)
    assert f"mean log-loss = <b>{loss:.3f}</b>" in html_text
    assert f"dL/dw1 = {grad_w[0]:+.3f}" in html_text and f"dL/db = {grad_b:+.3f}" in html_text
    surface = np.asarray(fig.state["surface"].get_array())
    assert surface.min() >= 0 and surface.max() <= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "build", [neuron_figure, perceptron_figure, gradient_descent_figure, logistic_regression_figure]
)
def test_book_figures_stay_small(build) -> None:
    fig = build()
    frames = fig.frames()
    assert len(fig.to_html()) < 2_500_000, "a figure should leave room for the rest of its page"
    assert frames.n_frames <= 200
    # Every control changes the picture somewhere (no dead sliders).
    for axis in range(len(frames.shape)):
        ids = np.asarray(frames.frame_image).reshape(frames.shape)
        assert (np.diff(ids, axis=axis) != 0).any(), fig.controls[axis].name


def test_and_is_the_default_neuron() -> None:
    fig = neuron_figure()
    assert fig.defaults == {"w1": 1.0, "w2": 1.0, "b": -1.5}
    w = [fig.defaults["w1"], fig.defaults["w2"]]
    assert (
        ThresholdNeuron(w, fig.defaults["b"])(truth_table(AND, 2)[0]) == AND(truth_table(AND, 2)[0])
    ).all()


def test_unevenly_spaced_values_are_written_under_their_slider() -> None:
    def figure(*controls):
        return InteractiveFigure(None, lambda f, **v: None, list(controls), figsize=(1, 1))

    even = figure(slider("k", np.linspace(-1, 1, 5))).to_html()
    assert 'class="nnlib-ticks"' not in even

    def marks(control):
        text = figure(control).to_html()
        return re.findall(r'<span style="left:calc\([^"]*\)">([^<]*)</span>', text)

    # Short labels all fit; a label that would touch the last one gives way to it, and long ones
    # are thinned to every other one or fewer, the ends kept (the
    # browser test checks that the marks on the built pages never overlap).
    assert marks(player("epoch", (0, 1, 2, 5, 10, 20))) == ["0", "1", "2", "5", "10", "20"]
    assert marks(player("epoch", (0, 1, 2, 5, 10, 50, 100))) == ["0", "1", "2", "5", "10", "100"]
    decay = marks(slider("wd", (0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2)))
    assert decay[0] == "0" and decay[-1] == "0.01" and len(decay) < 6
    # A long grid gets a few marks, the ends included, placed where the thumb stands for them.
    grid = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 300, 500)
    text = figure(player("epoch", grid)).to_html()
    marks = re.findall(r'left:calc\(8px \+ \(100% - 16px\) \* ([0-9.]+)\)">([^<]*)<', text)
    assert 3 <= len(marks) <= 7 and marks[0] == ("0.0000", "0") and marks[-1] == ("1.0000", "500")
    for fraction, label in marks:
        assert np.isclose(float(fraction), grid.index(int(label)) / (len(grid) - 1), atol=1e-4)
    # Menus and text values get none.
    assert 'class="nnlib-ticks"' not in figure(dropdown("d", [1, 5, 6])).to_html()
    assert 'class="nnlib-ticks"' not in figure(slider("s", ["a", "b", "c"])).to_html()
