"""The checks that assignment test cells call.

Every check follows the same order: call the student's code on private copies of seeded
inputs (quietly, with nnlib's reference of the exercise disabled), verify the inputs were not
modified, verify type, shape, dtype and finiteness of the answer, and only then compare values
with nnlib's reference (and, for gradients, with central differences). The first failure raises
:class:`GradingError` with a message that names the check, the element, expected vs got and
the likely bug; a check that passes returns ``None`` (nbgrader would read a returned number as
partial credit).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from nnlib.grading import _reference
from nnlib.grading._compare import RTOL, Hint, assert_close, matches
from nnlib.grading._guard import ReferenceUsedError, _restated, forbid_reference
from nnlib.grading._safe import (
    _LIBRARY_PREFIXES,
    GradingError,
    _array,
    _array_equal,
    _default_rng,
    _float64,
    _ndarray,
    as_result,
    as_scalar,
    quiet,
    shape_str,
    student_line,
)

__all__ = [
    "call",
    "check_function",
    "check_gradient",
    "check_layer",
    "check_loss",
    "numerical_gradient",
    "random_array",
]

Forbid = Iterable[object]


def random_array(
    shape: Sequence[int], seed: int, *, scale: float = 1.0, away_from: Iterable[float] = ()
) -> np.ndarray:
    """Seeded normal float64 data of ``shape`` times ``scale``, kept at least ``0.05 * scale``
    away from every point of ``away_from`` (the kinks of ReLU, |x|, ...)."""
    rng = _default_rng(seed)
    x = rng.standard_normal(tuple(shape)) * scale
    for kink in away_from:
        near = np.abs(x - kink) < 0.05 * scale
        x[near] = kink + np.where(x[near] >= kink, 0.05, -0.05) * scale
    return x


def _snapshot(value: object) -> object:
    if type(value) is _ndarray:
        return _array(value, copy=True)
    return copy.deepcopy(value)


def _unchanged(before: object, after: object) -> bool:
    if type(before) is _ndarray:
        return (
            type(after) is _ndarray
            and after.shape == before.shape
            and bool(_array_equal(after, before, equal_nan=before.dtype.kind == "f"))
        )
    return True  # scalars and the like cannot be mutated in place


ErrorHint = Callable[[BaseException], "str | None"]


def not_attempted(what: str, owner: str | None = None) -> GradingError:
    """The error of a part whose code is still the stub.

    Args:
        what: the call being checked, e.g. ``"threshold_neuron (inputs of shape ...)"``.
        owner: the qualified name of another student function that raised
            ``NotImplementedError`` (the ``step`` that ``threshold_neuron`` calls): the
            message then says this part cannot be checked until that one is written.
    """
    name = re.split(r" \(| at |\(|: ", what, maxsplit=1)[0].strip()
    if owner:
        owner = owner.split(".<locals>", 1)[0]
        if owner.split(".", 1)[0] not in what:
            return GradingError(
                f"{name}: cannot be checked yet: it calls {owner}, which is not attempted "
                f"(replace `raise NotImplementedError()` in {owner} with your code)"
            )
        name = owner
    return GradingError(
        f"{name}: not attempted: replace `raise NotImplementedError()` with your code"
    )


def _raiser(exc: BaseException, fn: Callable[..., object]) -> str | None:
    """The qualified name of the student function that raised ``exc`` (the innermost student
    frame of its traceback); ``None`` when that is ``fn`` itself or unknown."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(_LIBRARY_PREFIXES):
            found = code
        tb = tb.tb_next
    own = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if found is None or found is own:
        return None
    return getattr(found, "co_qualname", found.co_name)


def forward_fails(name: str, error: GradingError, backward: Callable[[], object]) -> GradingError:
    """The error of a backward check whose forward fails (``error``): "not attempted" when
    ``backward`` (called once, before any forward) is still the stub, else that backward
    cannot be checked until forward works."""
    stem = name.split("(", 1)[0]
    try:
        with quiet(), forbid_reference([], name):
            backward()
    except NotImplementedError as exc:
        if exc.__traceback__ is not None:
            return not_attempted(f"{stem}.backward")
    except Exception:
        pass
    return GradingError(
        f"{stem}.backward: cannot be checked yet: it needs forward, which fails: fix forward "
        f"first ({str(error).splitlines()[0]})"
    )


def _common_error_hint(exc: BaseException) -> str | None:
    text = str(exc)
    if isinstance(exc, ValueError) and ("matmul" in text or "not aligned" in text):
        return (
            "a matrix product of mismatched shapes: a missing or extra .T (write the shapes "
            "of both factors next to the line)"
        )
    if isinstance(exc, ValueError) and "broadcast" in text:
        return (
            "two arrays of different shapes in one elementwise operation: a sum over the "
            "wrong axis or a transposed array"
        )
    return None


def call(
    fn: Callable[..., object],
    *args: object,
    what: str,
    forbid: Forbid = (),
    names: Sequence[str] = (),
    error_hint: ErrorHint | None = None,
    subjects: Sequence[str] | None = None,
) -> object:
    """Call student code quietly with the references disabled; check it kept its inputs.

    Args:
        fn: the student's function or bound method.
        *args: its arguments; the student gets them as they are, so pass copies.
        what: how to name the call in messages, e.g. ``"Linear.backward(grad_out)"``.
        forbid: references to disable during the call (functions, classes, dotted names).
        names: the argument names, for the mutation message.
        error_hint: names the likely bug behind an exception the student's code raised
            (e.g. a matmul shape error in a backward pass: a missing transpose).
        subjects: qualified-name prefixes of the student code this part is about (e.g.
            ``["Linear.backward"]``): a forbidden reference called from other student code
            still fails this part, and the message names that code as the root to fix
            first (see :func:`nnlib.grading.forbid_reference`).
            Default: the qualified name of ``fn`` when it is the student's function or
            method, else every call counts.

    Returns:
        Whatever ``fn`` returned.

    Raises:
        GradingError: the code is still the stub, raised an exception, used a forbidden
            reference or modified one of its array arguments.
    """
    before = [_snapshot(a) for a in args]
    if subjects is None:
        subjects = _default_subjects(fn)
    with quiet(), forbid_reference([*forbid, _reference], what, subjects):
        try:
            result = fn(*args)
        except NotImplementedError as exc:
            raise not_attempted(what, _raiser(exc, fn)) from None
        except ReferenceUsedError as exc:  # a stub of the grader's nnlib copy raised
            raise _restated(exc, what, subjects) from None
        except GradingError:
            raise
        except Exception as exc:
            with quiet():
                bug = (error_hint(exc) if error_hint else None) or _common_error_hint(exc)
            message = f"{what} raised {type(exc).__name__}: {' '.join(str(exc).split())}"
            if bug:
                message += f"; likely bug: {bug}"
            raise GradingError(message, student_line=student_line(exc)) from None
    for i, (old, new) in enumerate(zip(before, args, strict=True)):
        if not _unchanged(old, new):
            name = names[i] if i < len(names) else f"argument {i + 1}"
            raise GradingError(
                f"{what}: mutation check failed: it modified its input {name} in place; likely "
                "bug: an in-place operation on an input (x += ..., x[...] = ..., or out = x "
                "followed by out[...] = ...); work on a copy (x = x.copy()) or build a new array"
            )
    return result


def _default_subjects(fn: Callable[..., object]) -> list[str] | None:
    """The student function (or method) itself; ``None`` (every call counts) for anything
    else, such as a check's own lambda."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None or code.co_filename.startswith(_LIBRARY_PREFIXES):
        return None
    if code.co_name == "<lambda>":
        return None
    return [code.co_qualname]


def _coerce(result: object, reference: object, what: str, kind: str, unstable: bool) -> object:
    if isinstance(reference, _ndarray):
        return as_result(result, what, reference.shape, kind=kind, unstable_hint=unstable)
    return as_scalar(result, what, unstable_hint=unstable)


def _case_name(name: str, args: Sequence[object]) -> str:
    shapes = [shape_str(a.shape) for a in args if type(a) is _ndarray]
    return f"{name} (inputs of shape {', '.join(shapes)})" if shapes else name


def check_function(
    student: Callable[..., object],
    reference: Callable[..., object],
    cases: Iterable[Sequence[object]],
    name: str,
    *,
    forbid: Forbid = (),
    arg_names: Sequence[str] = (),
    kind: str = "float64",
    rtol: float = RTOL,
    hints: Callable[..., Sequence[Hint]] | None = None,
    batch_axis: int | None = 0,
    unstable: bool = False,
    own_helpers: Callable[..., object] | None = None,
) -> None:
    """Compare ``student(*args)`` with ``reference(*args)`` on every case.

    Args:
        student: the student's function.
        reference: a function computing the right answer (an array or a float).
        cases: argument tuples; arrays are float64, seeded, with realistic magnitudes.
        name: the function's name for messages, e.g. ``"mse_grad"``.
        forbid: nnlib references the student must not call.
        arg_names: argument names for the mutation message.
        kind: ``"float64"`` or ``"real"`` (see :func:`nnlib.grading.as_result`).
        rtol: relative tolerance.
        hints: ``hints(*args)`` returns likely wrong answers ``(description, value)``.
        batch_axis: the axis of the first array argument that is the batch ``N``, to
            recognise a missing ``1/N``; ``None`` when there is none.
        unstable: the cases contain extreme inputs (a NaN means an unstable formula).
        own_helpers: ``own_helpers(*args)`` is what a right ``student`` returns when it calls
            the student's own (perhaps wrong) functions of earlier parts; an answer equal to
            it passes, so that a bug costs only the part where it is.
    """
    for args in cases:
        args = [_snapshot(a) for a in args]
        with quiet():
            want = reference(*[_snapshot(a) for a in args])
        want = _array(want, dtype=_float64) if isinstance(want, _ndarray) else float(want)
        what = _case_name(name, args)
        got = call(student, *args, what=what, forbid=forbid, names=arg_names)
        got = _coerce(got, want, what, kind, unstable)
        first = next((a for a in args if type(a) is _ndarray and a.ndim), None)
        batch = first.shape[batch_axis] if first is not None and batch_axis is not None else None
        if own_helpers is not None and _same_as_own_helpers(got, want, own_helpers, args, rtol):
            continue
        with quiet():
            wrong = list(hints(*[_snapshot(a) for a in args])) if hints else []
        assert_close(got, want, what, batch=batch, hints=wrong, rtol=rtol)


def _same_as_own_helpers(
    got: object, want: object, own_helpers: Callable[..., object], args: list, rtol: float
) -> bool:
    """``got`` is wrong, but exactly what a right implementation built on the student's own
    earlier functions returns."""
    if matches(_array(got, dtype=_float64), _array(want, dtype=_float64), rtol):
        return False
    try:
        with quiet():
            theirs = _array(own_helpers(*[_snapshot(a) for a in args]), dtype=_float64)
    except Exception:
        return False
    return matches(_array(got, dtype=_float64), theirs, rtol)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` in float64.

    Args:
        f: scalar function of an array.
        x: the point, any shape (not modified: each poked value is restored).

    Returns:
        float64 array of ``x``'s shape.
    """
    x = _array(x, dtype=_float64, copy=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def _verify_reference(want: np.ndarray, numeric: np.ndarray, what: str) -> None:
    """The reference itself must agree with central differences: an instructor-side check."""
    scale = max(float(np.max(np.abs(numeric))), 1.0)
    if not np.allclose(want, numeric, rtol=1e-4, atol=1e-6 * scale):
        raise RuntimeError(
            f"grader bug: the reference gradient for {what} disagrees with central "
            "differences; this is not the student's fault"
        )


def check_gradient(
    student_grad: Callable[..., object],
    loss: Callable[..., float],
    cases: Iterable[Sequence[object]],
    name: str,
    *,
    reference_grad: Callable[..., object] | None = None,
    wrt: int = 0,
    forbid: Forbid = (),
    arg_names: Sequence[str] = (),
    hints: Callable[..., Sequence[Hint]] | None = None,
    unstable: bool = False,
    own_helpers: Callable[..., object] | None = None,
) -> None:
    """Compare ``student_grad(*args)`` with the gradient of ``loss(*args)`` w.r.t. ``args[wrt]``.

    The expected gradient is ``reference_grad(*args)`` when given (after verifying it against
    central differences of ``loss``), else the central differences themselves (compared with
    a tolerance that suits them). ``own_helpers`` as in :func:`check_function`.
    """
    for args in cases:
        args = [_snapshot(a) for a in args]
        what = _case_name(name, args)
        with quiet():

            def f(x: np.ndarray, args: list = args) -> float:
                poked = [_snapshot(a) for a in args]
                poked[wrt] = x
                return float(loss(*poked))

            numeric = numerical_gradient(f, args[wrt])
            if reference_grad is not None:
                want = _array(reference_grad(*[_snapshot(a) for a in args]), dtype=_float64)
                _verify_reference(want, numeric, what)
                rtol = RTOL
            else:
                want, rtol = numeric, 1e-5
        got = call(student_grad, *args, what=what, forbid=forbid, names=arg_names)
        got = as_result(got, what, want.shape, unstable_hint=unstable)
        if own_helpers is not None and _same_as_own_helpers(got, want, own_helpers, args, rtol):
            continue
        with quiet():
            wrong = list(hints(*[_snapshot(a) for a in args])) if hints else []
        batch = args[wrt].shape[0] if args[wrt].ndim else None
        assert_close(got, want, what, batch=batch, hints=wrong, rtol=rtol)


def _parameters(layer: object, what: str) -> dict[str, object]:
    try:
        return dict(layer.named_parameters())  # type: ignore[attr-defined]
    except Exception as exc:
        raise GradingError(
            f"{what}: the layer must be an nnlib Module whose trainable arrays are Parameter "
            f"attributes; named_parameters() failed with {type(exc).__name__}: {exc}"
        ) from exc


def check_layer(
    make_student: Callable[[], object],
    make_reference: Callable[[], object],
    X: np.ndarray,
    name: str,
    *,
    seed: int,
    params: dict[str, np.ndarray] | None = None,
    training: bool = True,
    backward: bool = True,
    forbid: Forbid = (),
    forward_hints: Callable[[np.ndarray], Sequence[Hint]] | None = None,
    backward_hints: Callable[[np.ndarray, np.ndarray], Sequence[Hint]] | None = None,
    numerical: bool = True,
    unstable: bool = False,
    repeat: int = 1,
    forward: bool = True,
    backward_error_hint: ErrorHint | None = None,
    subjects: Sequence[str] | None = None,
) -> None:
    """Forward and backward of a student layer against nnlib's, on the same parameters.

    Both layers get the parameters ``params`` (name -> value, names as ``named_parameters``
    gives them, e.g. ``"weight"``, ``"0.bias"``) and a random non-zero initial gradient, so
    ``backward`` must *add* to ``.grad``. The upstream gradient is random normal (never all
    ones, which would hide a transposed or mis-summed product). The reference's gradients are
    verified against central differences of its forward pass.

    Args:
        make_student: builds the student's layer (a :class:`nnlib.modules.Module`).
        make_reference: builds the reference layer.
        X: input batch, float64.
        name: the layer's name for messages, e.g. ``"Linear(4, 3)"``.
        seed: seed of the upstream gradient and the initial parameter gradients.
        params: parameter values to install in both layers.
        training: call ``train()`` (True) or ``eval()`` (False) on both before forward.
        backward: also check backward.
        forbid: references the student must not call.
        forward_hints: ``forward_hints(X)`` -> likely wrong outputs.
        backward_hints: ``backward_hints(X, grad_out)`` -> likely wrong input gradients.
        numerical: verify the reference against central differences.
        unstable: X contains extreme values.
        forward: compare forward's output (``False``: a backward check; forward still runs,
            to fill the cache, but a wrong output is the forward part's business).
        backward_error_hint: names the likely bug behind an exception raised by backward.
        subjects: the student code this part is about, for attributing a reference call
            (default: the method called); ``()`` for a stack of parts checked elsewhere.
        repeat: run forward and backward this many times on the same layers (new random
            inputs of X's shape and scale after the first), e.g. to see a new dropout mask.
    """
    rng = _default_rng(seed)
    X = _array(X, dtype=_float64, copy=True)
    scale = float(np.std(X)) or 1.0
    student = call(make_student, what=f"creating {name}", forbid=forbid)
    reference = make_reference()
    s_params = _parameters(student, name)
    r_params = dict(reference.named_parameters())
    if sorted(s_params) != sorted(r_params):
        raise GradingError(
            f"{name}: parameter check failed: expected Parameters named {sorted(r_params)}, "
            f"got {sorted(s_params)}"
        )
    initial: dict[str, np.ndarray] = {}
    for key, ref_param in r_params.items():
        value = (params or {}).get(key, ref_param.value)
        value = _array(value, dtype=_float64, copy=True)
        ref_param.value = _array(value, copy=True)
        s_params[key].value = _array(value, copy=True)
        initial[key] = rng.standard_normal(value.shape)
        ref_param.grad = _array(initial[key], copy=True)
        s_params[key].grad = _array(initial[key], copy=True)
    for layer in (student, reference):
        layer.train(training)
    mode = "train" if training else "eval"

    for round_ in range(repeat):
        X = _array(X if round_ == 0 else rng.standard_normal(X.shape) * scale, dtype=_float64)
        with quiet():
            want = _array(reference.forward(_array(X, copy=True)), dtype=_float64)
        what = f"{name}.forward(X) in {mode} mode, X of shape {shape_str(X.shape)}"
        if forward:
            got = call(
                student.forward,
                _array(X, copy=True),
                what=what,
                forbid=forbid,
                names=["X"],
                subjects=subjects,
            )
            got = as_result(got, what, want.shape, unstable_hint=unstable)
            with quiet():
                wrong = list(forward_hints(_array(X, copy=True))) if forward_hints else []
            assert_close(got, want, what, batch=X.shape[0], hints=wrong)
        else:
            try:
                # only to fill the cache (a reference call in forward fails this too, named)
                call(student.forward, _array(X, copy=True), what=what, forbid=forbid, subjects=())
            except GradingError as exc:
                raise forward_fails(
                    name, exc, lambda shape=want.shape: student.backward(rng.standard_normal(shape))
                ) from None
        if not backward:
            continue

        G = rng.standard_normal(want.shape)
        with quiet():
            want_dX = _array(reference.backward(_array(G, copy=True)), dtype=_float64)
        what = f"{name}.backward(grad_out) in {mode} mode, grad_out of shape {shape_str(G.shape)}"
        got = call(
            student.backward,
            _array(G, copy=True),
            what=what,
            forbid=forbid,
            names=["grad_out"],
            error_hint=backward_error_hint,
            subjects=subjects,
        )
        got = as_result(got, f"{what}, the returned dL/dX", want_dX.shape, unstable_hint=unstable)
        with quiet():
            wrong = (
                list(backward_hints(_array(X, copy=True), _array(G, copy=True)))
                if backward_hints
                else []
            )
        assert_close(got, want_dX, f"{what}, the returned dL/dX", batch=X.shape[0], hints=wrong)
        for key, ref_param in r_params.items():
            grad_what = f"{what}, the gradient {key}.grad"
            s_grad = as_result(s_params[key].grad, grad_what, ref_param.grad.shape)
            fresh = ref_param.grad - initial[key]
            grad_hints: list[Hint] = [
                ("overwrote .grad instead of adding to it (use +=)", fresh),
                ("sign flipped (the gradient points the wrong way)", initial[key] - fresh),
                (
                    "an extra 1/N (the loss already averages over the batch)",
                    initial[key] + fresh / X.shape[0],
                ),
            ]
            if fresh.ndim == 2 and fresh.shape[0] == fresh.shape[1]:
                grad_hints.append(
                    ("transposed (X.T @ grad_out, not grad_out.T @ X)", initial[key] + fresh.T)
                )
            if fresh.ndim == 1:
                grad_hints += [
                    (
                        "summed over everything: sum over the batch only, axis=0",
                        initial[key] + float(np.sum(G)),
                    ),
                ]
            assert_close(s_grad, ref_param.grad, grad_what, batch=X.shape[0], hints=grad_hints)
    if numerical and backward and repeat == 1:
        _verify_layer_reference(make_reference, reference, X, G, r_params, initial, training)


def _verify_layer_reference(make_reference, reference, X, G, r_params, initial, training) -> None:
    """Central differences of ``sum(G * reference.forward(X))`` against its backward."""
    values = {k: _array(p.value, copy=True) for k, p in r_params.items()}

    def loss_at(x: np.ndarray, key: str | None = None, value: np.ndarray | None = None) -> float:
        layer = make_reference()
        for k, p in dict(layer.named_parameters()).items():
            p.value = _array(value if k == key else values[k], copy=True)
        layer.train(training)
        return float(np.sum(G * layer.forward(_array(x, copy=True))))

    # A fresh layer per probe: a seeded Dropout replays the same mask every time.
    with quiet():
        want_dX = _array(_reference_backward(make_reference, values, X, G, training))
        _verify_reference(want_dX, numerical_gradient(loss_at, X), "dL/dX")
        for key in values:
            numeric = numerical_gradient(lambda v, key=key: loss_at(X, key, v), values[key])
            _verify_reference(r_params[key].grad - initial[key], numeric, f"{key}.grad")


def _reference_backward(make_reference, values, X, G, training) -> np.ndarray:
    layer = make_reference()
    for k, p in dict(layer.named_parameters()).items():
        p.value = _array(values[k], copy=True)
    layer.train(training)
    layer.forward(_array(X, copy=True))
    return layer.backward(_array(G, copy=True))


def check_loss(
    make_student: Callable[[], object],
    make_reference: Callable[[], object],
    pred: np.ndarray,
    target: np.ndarray,
    name: str,
    *,
    forbid: Forbid = (),
    forward_hints: Callable[..., Sequence[Hint]] | None = None,
    backward_hints: Callable[..., Sequence[Hint]] | None = None,
    unstable: bool = False,
    forward: bool = True,
    backward: bool = True,
) -> None:
    """A loss object's ``forward(pred, target) -> float`` and ``backward() -> dL/dpred``.

    ``forward=False`` (a backward check) still calls forward, to fill the cache, but leaves
    its value to the forward check; ``backward=False`` checks forward alone.
    """
    pred = _array(pred, dtype=_float64, copy=True)
    target = _array(target, copy=True)
    student = call(make_student, what=f"creating {name}", forbid=forbid)
    reference = make_reference()
    with quiet():
        want = float(reference.forward(_array(pred, copy=True), _array(target, copy=True)))
        want_grad = _array(reference.backward(), dtype=_float64)
    what = f"{name}.forward(pred, target), pred of shape {shape_str(pred.shape)}"
    try:
        got = call(
            student.forward,
            _array(pred, copy=True),
            _array(target, copy=True),
            what=what,
            forbid=forbid,
            names=["pred", "target"],
            subjects=None if forward else (),
        )
    except GradingError as exc:
        if forward:
            raise
        raise forward_fails(name, exc, student.backward) from None
    if forward:
        got = as_scalar(got, what, unstable_hint=unstable)
        with quiet():
            wrong = list(forward_hints(pred, target)) if forward_hints else []
        assert_close(np.float64(got), np.float64(want), what, batch=pred.shape[0], hints=wrong)
    if not backward:
        return
    what = f"{name}.backward(), pred of shape {shape_str(pred.shape)}"
    got = call(student.backward, what=what, forbid=forbid)
    got = as_result(got, what, want_grad.shape, unstable_hint=unstable)
    with quiet():
        wrong = list(backward_hints(pred, target)) if backward_hints else []
    assert_close(got, want_grad, what, batch=pred.shape[0], hints=wrong)
    # A second backward must give the same answer: it catches an in-place edit of the cache.
    again = call(student.backward, what=f"{what} called a second time", forbid=forbid)
    again = as_result(again, f"{what} called a second time", want_grad.shape)
    assert_close(
        again,
        want_grad,
        f"{what} called a second time",
        note="likely bug: backward modified what forward cached (an in-place -= on the "
        "cached probabilities); compute the gradient in a new array (probs.copy())",
    )
    if not unstable:
        with quiet():

            def f(z: np.ndarray) -> float:
                return float(make_reference().forward(z, _array(target, copy=True)))

            _verify_reference(want_grad, numerical_gradient(f, pred), f"{name} dL/dpred")
