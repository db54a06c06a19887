"""nnlib.widgets.playground: the config string, the runs it describes, the figure's two faces."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from nnlib.data import make_blobs, make_spirals, make_xor
from nnlib.functional import sigmoid, softmax
from nnlib.losses import BCEWithLogitsLoss, CrossEntropyLoss
from nnlib.modules import Dropout, Linear, ReLU
from nnlib.optim import SGD
from nnlib.widgets.playground import (
    DEFAULT_CONFIG,
    FEATURES,
    PRESETS,
    Playground,
    PlaygroundApp,
    PlaygroundConfig,
    feature_matrix,
    make_points,
    playground,
    presets_figure,
)

# Two short runs keep the static face fast to build in a test.
SMALL_PRESETS = {
    "xor": "data=xor noise=0.1 features=x1x2 layers=none lr=0.03 points=200",
    "three blobs": "data=gaussians classes=3 noise=0.2 layers=3 act=relu lr=0.03 points=150",
}


# --- the configuration string -------------------------------------------------------------------
@pytest.mark.parametrize(
    "config",
    [
        DEFAULT_CONFIG,
        PlaygroundConfig(data="xor", features=("x1x2",), layers=()),
        PlaygroundConfig(
            data="gaussians",
            classes=4,
            noise=0.3,
            lr=1e-05,
            l2=0.003,
            dropout=0.25,
            layers=(1, 8, 3, 3, 2, 7),
            init="he",
            act="linear",
            batch=1,
            seed=12345,
            points=20,
        ),
        *[PlaygroundConfig.parse(text) for text in PRESETS.values()],
    ],
)
def test_config_string_round_trips(config) -> None:
    text = str(config)
    assert PlaygroundConfig.parse(text) == config
    assert str(PlaygroundConfig.parse(text)) == text
    assert text.count("=") == 14  # every key, always


def test_config_string_matches_the_issue_example() -> None:
    text = (
        "data=spirals noise=0.1 split=0.5 features=x1,x2,sinx1 layers=8,8 act=tanh lr=0.03 "
        "l2=0.001 batch=10 dropout=0 init=xavier seed=0 classes=2"
    )
    cfg = PlaygroundConfig.parse(text)
    assert cfg.features == ("x1", "x2", "sinx1") and cfg.layers == (8, 8)
    assert (cfg.lr, cfg.l2, cfg.noise, cfg.split) == (0.03, 0.001, 0.1, 0.5)
    assert str(cfg) == text + " points=500"


def test_parse_takes_defaults_aliases_and_any_order() -> None:
    cfg = PlaygroundConfig.parse("layers=none  features=sin(x2),x1*x2,x1sq  init=he data=xor")
    assert cfg.layers == () and cfg.init == "he" and cfg.data == "xor"
    assert cfg.features == ("x1^2", "x1x2", "sinx2")  # canonical order
    assert cfg.lr == DEFAULT_CONFIG.lr and cfg.seed == DEFAULT_CONFIG.seed
    assert PlaygroundConfig.parse("") == DEFAULT_CONFIG


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("lrate=0.1", r"unknown key 'lrate'.*valid keys: data, noise, split"),
        ("lr", r"'lr' is not key=value"),
        ("lr=0.1 lr=0.2", r"'lr' is given twice"),
        ("lr=fast", r"lr='fast' is not valid; lr must be a number in \(0, 10\]"),
        ("lr=0", r"lr=0.0 is not valid"),
        ("noise=2", r"noise=2.0 is not valid; noise must be a number in \[0, 1\]"),
        ("data=swirls", r"data='swirls'.*one of xor, circles, moons, spirals, gaussians"),
        ("act=swish", r"act='swish'.*one of tanh, relu, sigmoid, linear"),
        ("init=ones", r"init='ones'.*one of xavier, xavier_normal, he, normal, zeros"),
        ("features=x3", r"unknown feature 'x3'.*x1, x2, x1\^2, x2\^2, x1x2, sinx1, sinx2"),
        ("features=", r"features=''.*at least one"),
        ("layers=8,9", r"layers='8,9'.*widths from 1 to 8"),
        ("layers=1,1,1,1,1,1,1", r"up to 6 comma-separated"),
        ("batch=2.5", r"batch='2.5'.*an integer from 1 to 1000"),
        ("classes=3", r"classes=3 needs data=gaussians"),
        ("dropout=0.95", r"dropout=0.95.*\[0, 0.9\]"),
    ],
)
def test_bad_config_strings_name_the_key_and_the_choices(text, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        PlaygroundConfig.parse(text)


def test_config_is_validated_when_built_directly_too() -> None:
    with pytest.raises(ValueError, match=r"split=1\.0"):
        PlaygroundConfig(split=1.0)
    with pytest.raises(TypeError):
        PlaygroundConfig.parse(["data=xor"])
    assert DEFAULT_CONFIG.replace(lr=0.3).lr == 0.3


def test_presets_are_valid_and_cover_the_chapter() -> None:
    configs = [PlaygroundConfig.parse(text) for text in PRESETS.values()]
    assert 5 <= len(configs) <= 8
    assert {c.data for c in configs} == {"xor", "circles", "moons", "spirals", "gaussians"}
    assert any(c.classes > 2 for c in configs)
    assert any(c.layers == () and c.features == ("x1x2",) for c in configs)
    assert any("sinx1" in c.features for c in configs)
    assert any(c.l2 > 0 or c.dropout > 0 for c in configs)


# --- data, features and network -----------------------------------------------------------------
def test_points_come_from_nnlib_data_scaled_to_the_box() -> None:
    P, y = make_points(PlaygroundConfig(data="spirals", noise=0.05, seed=3, points=300))
    P_ref, y_ref = make_spirals(300, noise=0.05, seed=3)
    np.testing.assert_allclose(P, 5 * P_ref)
    np.testing.assert_array_equal(y, y_ref)
    P, _ = make_points(PlaygroundConfig(data="xor", noise=0.1, seed=1, points=40))
    np.testing.assert_allclose(P, 6 * (make_xor(40, noise=0.1, seed=1)[0] - 0.5))
    P, y = make_points(PlaygroundConfig(data="gaussians", classes=5, noise=0.1, seed=2))
    np.testing.assert_allclose(P, make_blobs(500, centers=5, std=0.4, seed=2)[0])
    assert set(y) == set(range(5))


def test_features_are_computed_from_the_points() -> None:
    P = np.array([[1.0, 2.0], [-0.5, 3.0], [0.0, -1.5]])
    X = feature_matrix(P, list(FEATURES))
    x1, x2 = P[:, 0], P[:, 1]
    expected = np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)])
    np.testing.assert_allclose(X, expected)
    pg = Playground("data=moons features=x2,sinx1 layers=2 points=60")
    expected = np.column_stack([pg.points_train[:, 1], np.sin(pg.points_train[:, 0])])
    np.testing.assert_allclose(pg.X_train, expected)
    assert pg.X_test.shape == (len(pg.points_test), 2)


def test_split_gives_the_training_fraction_and_every_class_both_sides() -> None:
    pg = Playground("data=gaussians classes=4 split=0.2 points=400 layers=none")
    assert len(pg.labels_train) + len(pg.labels_test) == 400
    assert len(pg.labels_train) == pytest.approx(80, abs=4)
    assert set(pg.labels_train) == set(pg.labels_test) == {0, 1, 2, 3}


def test_the_network_is_an_nnlib_mlp_with_dropout_and_sgd() -> None:
    pg = Playground("features=x1,x2,x1x2 layers=5,3 act=relu dropout=0.3 l2=0.01 lr=0.3")
    kinds = [type(m) for m in pg.net]
    assert kinds == [Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear]
    assert [m.weight.shape for m in pg.net if isinstance(m, Linear)] == [(3, 5), (5, 3), (3, 1)]
    assert all(m.p == 0.3 for m in pg.net if isinstance(m, Dropout))
    assert isinstance(pg.optimizer, SGD)
    assert (pg.optimizer.lr, pg.optimizer.weight_decay) == (0.3, 0.01)
    assert isinstance(pg.loss, BCEWithLogitsLoss)
    assert [type(m) for m in Playground("layers=none").net] == [Linear]


def test_initialisation_follows_the_config() -> None:
    weights = Playground("init=zeros layers=4").net[0].weight.value
    assert np.all(weights == 0)
    he = Playground("init=he layers=8 features=x1,x2,x1^2,x2^2,x1x2,sinx1,sinx2 seed=1")
    assert he.net[0].weight.value.std() > 0.3  # He: std sqrt(2/7) ~ 0.53; normal: 0.01
    small = Playground("init=normal layers=8 features=x1,x2,x1^2,x2^2,x1x2,sinx1,sinx2")
    assert small.net[0].weight.value.std() < 0.05


# --- training -------------------------------------------------------------------------------------
def test_training_reduces_the_loss_and_solves_an_easy_preset() -> None:
    pg = Playground(PRESETS["XOR: one product feature, no hidden layer"])
    start = pg.test_loss
    pg.step(20)
    assert pg.epoch == 20 and len(pg.history["test_loss"]) == 21
    assert pg.test_loss < 0.2 * start
    assert pg.train_accuracy >= 0.98 and pg.test_accuracy >= 0.98


def test_recorded_losses_are_the_nnlib_losses_of_the_network() -> None:
    pg = Playground("data=circles features=x1^2,x2^2 layers=2 points=100").step(3)
    logits = pg.net(pg.X_test)
    expected = BCEWithLogitsLoss()(logits, pg.labels_test[:, None].astype(float))
    assert pg.test_loss == pytest.approx(expected)
    accuracy = np.mean((logits[:, 0] > 0) == pg.labels_test)
    assert pg.test_accuracy == pytest.approx(accuracy)


def test_the_same_config_reproduces_the_same_run() -> None:
    text = "data=moons layers=4 dropout=0.2 batch=7 seed=5 points=120"
    a, b = Playground(text).step(4), Playground(text).step(4)
    assert a.history == b.history
    for p, q in zip(a.net.parameters(), b.net.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    c = Playground(text.replace("seed=5", "seed=6")).step(4)
    assert c.history != a.history


def test_multiclass_uses_softmax_and_cross_entropy() -> None:
    pg = Playground("data=gaussians classes=3 layers=4 act=tanh points=90").step(2)
    assert isinstance(pg.loss, CrossEntropyLoss)
    assert pg.net[-1].weight.shape == (4, 3)
    P = np.array([[0.0, 0.0], [3.0, -1.0]])
    probs = pg.predict_proba(P)
    np.testing.assert_allclose(probs, softmax(pg.net(feature_matrix(P, ("x1", "x2"))), axis=1))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert pg.test_loss == pytest.approx(CrossEntropyLoss()(pg.net(pg.X_test), pg.labels_test))
    binary = Playground("layers=none points=40")
    p1 = sigmoid(binary.net(feature_matrix(P, ("x1", "x2")))[:, 0])
    np.testing.assert_allclose(binary.predict_proba(P), np.column_stack([1 - p1, p1]))


def test_hidden_maps_are_each_units_output_over_the_grid() -> None:
    pg = Playground("features=x1,x2,x1x2 layers=3,5 act=tanh dropout=0.5").step(1)
    maps = pg.hidden_maps(7)
    assert [m.shape for m in maps] == [(3, 7, 7), (5, 7, 7)]
    # Recompute layer 1 by hand from the network's weights at one grid point (row i, column j).
    t = np.linspace(-6, 6, 7)
    i, j = 2, 5
    x = np.array([t[j], t[i], t[j] * t[i]])
    W1, b1 = pg.net[0].weight.value, pg.net[0].bias.value
    np.testing.assert_allclose(maps[0][:, i, j], np.tanh(x @ W1 + b1))
    W2, b2 = pg.net[3].weight.value, pg.net[3].bias.value  # after Tanh and Dropout
    np.testing.assert_allclose(maps[1][:, i, j], np.tanh(np.tanh(x @ W1 + b1) @ W2 + b2))
    assert pg.feature_maps(7).shape == (3, 7, 7)
    assert pg.predict_grid(9).shape == (9, 9, 2)
    assert Playground("layers=none").hidden_maps(5) == []


def test_divergence_stops_training_and_keeps_finite_weights() -> None:
    pg = Playground("data=circles features=x1^2,x2^2,x1x2 layers=8,8 act=linear lr=3 batch=5")
    pg.step(5)
    assert pg.diverged and "lower the learning rate" in pg.diverged
    assert all(np.isfinite(p.value).all() for p in pg.net.parameters())
    assert len(pg.history["train_loss"]) == pg.epoch + 1
    assert pg.step(3).epoch == pg.epoch  # no more training


# --- the static face ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_figure():
    return presets_figure(SMALL_PRESETS, epochs=(0, 5, 30), grid=24, map_grid=12)


def _payload(text: str) -> dict:
    match = re.search(r'<script type="application/json" class="nnlib-frames">(.*?)</script>',
                      text, flags=re.S)  # fmt: skip
    assert match
    return json.loads(match.group(1))


def test_static_html_has_a_run_menu_and_an_epoch_player(small_figure) -> None:
    text = small_figure.to_html()
    select = re.search(r'<select id="[^"]+" data-nnlib-control="run">(.*?)</select>', text, re.S)
    assert select
    assert re.findall(r"<option[^>]*>([^<]+)</option>", select.group(1)) == list(SMALL_PRESETS)
    assert re.search(r'<input type="range"[^>]*data-nnlib-control="epoch"[^>]*max="2"', text)
    assert text.count('class="nnlib-play"') == 1
    data = _payload(text)
    assert data["shape"] == [2, 3] and data["labels"][1] == ["0", "5", "30"]
    # The read-out beside each frame carries that run's config string and epoch.
    side = small_figure.frames().html([1, 2])
    assert str(PlaygroundConfig.parse(SMALL_PRESETS["three blobs"])) in side
    assert "<b>epoch 30</b>" in side
    image = Image.open(io.BytesIO(base64.b64decode(data["images"][0].split(",", 1)[1])))
    assert image.mode == "P"


def test_static_frames_differ_across_epochs_and_runs(small_figure) -> None:
    frames = small_figure.frames()
    pictures = {frames.image([r, e]) for r in range(2) for e in range(3)}
    assert len(pictures) == 6
    assert frames.html([0, 0]) != frames.html([0, 2])


def test_static_frames_show_the_trained_run(small_figure) -> None:
    # The read-out of the last frame equals a fresh run of the same config (same numbers).
    pg = Playground(SMALL_PRESETS["xor"]).step(30)
    assert f"{pg.test_loss:.3f}" in small_figure.frames().html([0, 2])
    # The picture is drawn from the run: the output image holds p(class 1) of the grid.
    small_figure.render(run="xor", epoch=30)
    shown = small_figure.state["board"].out_image.get_array()
    assert shown.shape == (24, 24, 3)
    p = pg.predict_grid(24)[..., 1]
    blue_side, orange_side = shown[p < 0.1], shown[p > 0.9]
    assert blue_side[:, 2].mean() > blue_side[:, 0].mean()  # blue where class 0 is sure
    assert orange_side[:, 0].mean() > orange_side[:, 2].mean()


def test_static_frames_draw_each_hidden_unit_and_weight(small_figure) -> None:
    board = small_figure.state["board"]
    small_figure.render(run="xor", epoch=30)  # no hidden layer: one feature map, one weight
    assert sum(image.get_visible() for column in board.slots for _, image in column) == 1
    assert len(board.edges.get_segments()) == 1
    small_figure.render(run="three blobs", epoch=30)
    snap = small_figure.snapshots["three blobs"][30]
    assert [m.shape for m in snap.hidden] == [(3, 12, 12)]
    shown = [image for _, image in board.slots[1] if image.get_visible()]
    assert len(shown) == 3
    for image, values in zip(shown, snap.hidden[0], strict=True):
        scaled = np.ma.filled(image.get_array(), np.nan)  # 0.5 + 0.5 * h / max|h|
        np.testing.assert_allclose(2 * scaled - 1, values / np.abs(values).max())
    # One line per weight: 2 features x 3 units, then 3 units into the (softmax) output.
    assert len(board.edges.get_segments()) == 2 * 3 + 3


def test_playground_shows_the_presets_in_static_mode(monkeypatch) -> None:
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", "static")
    lab = playground(presets={"xor": SMALL_PRESETS["xor"]})
    bundle, metadata = lab._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert 'data-nnlib-control="run"' in bundle["text/html"]
    # The PDF's picture: the default frame (first run, epoch 0), at its CSS size.
    assert bundle["image/png"] == lab.figure.default_png()
    assert metadata["image/png"]["width"] == lab.figure.css_size()[0]


# --- the live face --------------------------------------------------------------------------------
@pytest.fixture
def app():
    return PlaygroundApp("data=xor features=x1,x2 layers=3 points=100 lr=0.03")


def test_live_controls_change_the_config_and_restart(app) -> None:
    app.step(3)
    assert app.session.epoch == 3
    first = app.image.value
    app.controls["lr"].value = 0.3
    assert app.config.lr == 0.3 and app.session.epoch == 0
    assert app.session.optimizer.lr == 0.3
    assert app.config_text.value == str(app.config)
    app.controls["n_layers"].value = 2
    assert app.config.layers == (3, 4)
    app.units[1].value = 6
    assert app.config.layers == (3, 6)
    app.feature_boxes["x1x2"].value = True
    assert app.config.features == ("x1", "x2", "x1x2")
    app.controls["data"].value = "gaussians"
    app.controls["classes"].value = 4
    assert app.config.classes == 4 and isinstance(app.session.loss, CrossEntropyLoss)
    assert app.image.value != first and app.image.value[:4] == b"\x89PNG"


def test_live_config_text_sets_every_control(app) -> None:
    app.config_text.value = "data=moons noise=0.2 layers=5,2,2 act=relu lr=0.007 dropout=0.1"
    cfg = app.config
    shown = (cfg.data, cfg.layers, cfg.act, cfg.lr, cfg.dropout)
    assert shown == ("moons", (5, 2, 2), "relu", 0.007, 0.1)
    assert app.controls["lr"].value == 0.007  # a value the menu did not offer is added
    assert app.controls["n_layers"].value == 3 and [u.value for u in app.units[:3]] == [5, 2, 2]
    assert app.units[3].layout.display == "none"
    assert app.config_text.value == str(cfg)
    app.config_text.value = "data=moons lr=abc"
    assert "lr=&#x27;abc&#x27; is not valid" in app.message.value and app.config == cfg


def test_live_keeps_at_least_one_feature(app) -> None:
    app.feature_boxes["x1"].value = False
    app.feature_boxes["x2"].value = False
    assert app.feature_boxes["x2"].value is True and app.config.features == ("x2",)
    assert "at least one" in app.message.value


def test_live_presets_play_step_and_reset(app) -> None:
    name = "Circles: squared features, no hidden layer"
    app.presets.value = PRESETS[name]
    assert app.config == PlaygroundConfig.parse(PRESETS[name])
    app.speed.value = 2
    app.tick()
    app.play.value += 1  # the play button's tick
    assert app.session.epoch == 4
    app.step_button.click()
    assert app.session.epoch == 5 and "epoch 5" in app.side.value
    app.reset_button.click()
    assert app.session.epoch == 0
    app.controls["lr"].value = 1.0
    assert app.presets.value is None  # no longer the preset


def test_colour_keys_follow_the_number_of_classes(small_figure) -> None:
    """The output's key: p(class 1) bands for two classes, one colour per class for more."""
    board = small_figure.state["board"]
    small_figure.render(run="xor", epoch=30)
    labels = [t.get_text() for t in board.key_labels if t.get_text()]
    assert labels == ["0", "0.5", "1"] and "p(class 1)" in board.key_title.get_text()
    assert board.key_image.get_array().shape == (1, 10, 3)  # the output map's ten bands
    small_figure.render(run="three blobs", epoch=30)
    labels = [t.get_text() for t in board.key_labels if t.get_text()]
    assert labels == ["class 0", "class 1", "class 2"]
    key = np.asarray(board.key_image.get_array())
    assert key.shape == (1, 3, 3) and len({tuple(c) for c in key[0]}) == 3
    # The key's artists are redrawn with each frame (animated), so switching runs updates them.
    assert board.key_image.get_animated() and board.key_title.get_animated()
