"""Self-check questions with instant feedback, for the end of a chapter.

The questions are shown by jupyterquiz (a maintained Jupyter/Jupyter Book quiz package): plain
HTML and JavaScript with no kernel and no network behind them, so they work in the built book as
in a notebook. A multiple-choice answer is a radio button (Tab to the question, arrows to choose)
and a number is typed and checked with Enter; every answer shows its own explanation.

Build the questions with :func:`choice` and :func:`number` and show them with
:func:`self_check`::

    self_check(
        choice("Which gate needs two layers?", {"AND": "No: ...", "XOR": True, "OR": "No: ..."}),
        number("sigmoid(0)?", sigmoid(0.0), "Right: e^0 = 1.", "sigma(0) = 1 / (1 + 1)."),
    )

Without jupyterquiz (a bare notebook) the questions are printed as text.
"""

from __future__ import annotations

from typing import Any

__all__ = ["choice", "number", "self_check"]

RIGHT = "Right."


def choice(question: str, answers: dict[str, str | bool | tuple[bool, str]]) -> dict[str, Any]:
    """A multiple-choice question.

    Args:
        question: the question (Markdown and ``$...$`` math allowed).
        answers: ``{answer: explanation}`` for wrong answers; a right one maps to ``True`` (the
            explanation "Right.") or to ``(True, explanation)``. In display order.

    Returns:
        The question in jupyterquiz's format.

    Raises:
        ValueError: no answer, or no right answer.
    """
    if not answers:
        raise ValueError(f"question {question!r} needs answers, got none")
    out = []
    for text, verdict in answers.items():
        if verdict is True:
            correct, feedback = True, RIGHT
        elif isinstance(verdict, tuple):
            correct, feedback = bool(verdict[0]), str(verdict[1])
        else:
            correct, feedback = False, str(verdict)
        out.append({"answer": text, "correct": correct, "feedback": feedback})
    if not any(a["correct"] for a in out):
        raise ValueError(f"question {question!r} has no right answer among {list(answers)}")
    return {"question": question, "type": "multiple_choice", "answers": out}


def number(
    question: str, value: float, right: str, wrong: str, *, digits: int = 3
) -> dict[str, Any]:
    """A question answered with a number, checked to ``digits`` significant digits.

    Args:
        question: the question.
        value: the right answer (compute it with nnlib in the cell that asks).
        right: the explanation shown for the right answer.
        wrong: the explanation shown for any other answer (say how to get it).
        digits: significant digits that must agree.

    Returns:
        The question in jupyterquiz's format.
    """
    return {
        "question": question,
        "type": "numeric",
        "precision": int(digits),
        "answers": [
            {"type": "value", "value": float(value), "correct": True, "feedback": right},
            {"type": "default", "feedback": wrong},
        ],
    }


# jupyterquiz typesets its math with the page's MathJax, and when MathJax 3 is still loading it
# fetches a second copy from a CDN (a request that leaves the site and breaks the first copy).
# So its script runs once MathJax is ready (or absent), and sees a MathJax only if it is ready.
_WAIT_FOR_MATHJAX = """
(function () {
  var start = Date.now();
  function go() {
    var mj = window.MathJax, ready = typeof mj === "undefined" || typeof mj.typeset === "function";
    if (!ready && Date.now() - start < 15000) { setTimeout(go, 100); return; }
    (new Function("MathJax", %s))(ready ? mj : undefined);
  }
  go();
})();
"""


def _quiz_outputs(questions: list[dict[str, Any]]) -> tuple[Any, Any]:
    """jupyterquiz's two outputs for ``questions``: the HTML container and its script."""
    import jupyterquiz.dynamic.display as quiz_display

    shown: list[Any] = []
    original = quiz_display.display
    quiz_display.display = shown.append  # collect instead of displaying
    try:
        quiz_display.display_quiz(questions, shuffle_answers=False, max_width=760, colors="fdsp")
    finally:
        quiz_display.display = original
    return shown[0], shown[1]


def self_check(*questions: dict[str, Any]) -> None:
    """Show the questions with instant feedback (jupyterquiz), or as text without it."""
    try:
        import json

        from IPython.display import Javascript, display

        container, script = _quiz_outputs(list(questions))
    except ImportError:
        lines = []
        for i, q in enumerate(questions, 1):
            lines.append(f"{i}. {q['question']}")
            lines += [f"   - {a['answer']}" for a in q["answers"] if "answer" in a]
        print("\n".join(lines) + "\n(pip install jupyterquiz for instant feedback)")
        return
    display(container)
    display(Javascript(_WAIT_FOR_MATHJAX % json.dumps(script.data)))
