"""Self-check questions: their jupyterquiz format, the wait for MathJax, the text fallback."""

from __future__ import annotations

import json

import pytest

from nnlib.widgets import selfcheck
from nnlib.widgets.selfcheck import choice, number


def test_choice_marks_the_right_answers_and_keeps_each_explanation() -> None:
    q = choice("Which?", {"a": "No: a.", "b": True, "c": (True, "Also: c.")})
    assert q["type"] == "multiple_choice"
    assert [(a["answer"], a["correct"], a["feedback"]) for a in q["answers"]] == [
        ("a", False, "No: a."),
        ("b", True, selfcheck.RIGHT),
        ("c", True, "Also: c."),
    ]
    with pytest.raises(ValueError, match="no right answer"):
        choice("Which?", {"a": "No.", "b": "No."})


def test_number_is_checked_to_its_digits_with_a_hint_for_any_other_answer() -> None:
    q = number("sigma(0)?", 0.5, "Right.", "Put z = 0.", digits=2)
    assert q["type"] == "numeric" and q["precision"] == 2
    right, other = q["answers"]
    assert right == {"type": "value", "value": 0.5, "correct": True, "feedback": "Right."}
    assert other == {"type": "default", "feedback": "Put z = 0."}


def test_the_quiz_script_runs_only_once_mathjax_is_ready_and_never_loads_it() -> None:
    pytest.importorskip("jupyterquiz")
    container, script = selfcheck._quiz_outputs([choice("Which?", {"a": "No.", "b": True})])
    assert 'class="Quiz' in container.data or "<div id=" in container.data
    wrapped = selfcheck._WAIT_FOR_MATHJAX % json.dumps(script.data)
    # The quiz code is a function of a MathJax argument, which is undefined until MathJax is
    # ready: jupyterquiz then skips typesetting instead of fetching MathJax from a CDN.
    assert 'new Function("MathJax", ' in wrapped and "typeof mj.typeset" in wrapped
    assert "cdn.jsdelivr.net" in script.data  # the fallback that the wrapper keeps from running


def test_without_jupyterquiz_the_questions_are_printed(monkeypatch, capsys) -> None:
    def missing(questions):
        raise ImportError("no jupyterquiz")

    monkeypatch.setattr(selfcheck, "_quiz_outputs", missing)
    selfcheck.self_check(choice("Which?", {"a": "No.", "b": True}))
    out = capsys.readouterr().out
    assert "1. Which?" in out and "- a" in out and "- b" in out
