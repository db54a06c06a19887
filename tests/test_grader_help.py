"""Every option of every ``python -m nngrader`` command says what it does (issue 19, item 8)."""

from __future__ import annotations

import argparse

from nngrader.__main__ import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_has_a_help_text_of_a_few_words():
    commands = _commands()
    assert {"grade", "feedback", "report", "export", "similarity", "gradebook"} <= set(commands)
    for name, command in commands.items():
        assert command.description, name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            words = (action.help or "").split()
            assert len(words) >= 3, (name, action.dest, action.help)


def test_roster_help_says_it_also_turns_variants_on():
    (roster,) = [a for a in _commands()["grade"]._actions if a.dest == "roster"]
    assert "variant" in roster.help and "--export" in roster.help
