"""Colour is for people at terminals only, and never when NO_COLOR is set."""

from __future__ import annotations

import io

import pytest

from reputation.render import use_colour
from reputation.render.text import paint


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Terminal()) is True
    assert use_colour(io.StringIO()) is False


def test_no_color_wins_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "")
    assert use_colour(Terminal()) is False


def test_paint_wraps_status_words_only_when_asked() -> None:
    assert paint("fail", True) == "\x1b[31mfail\x1b[0m"
    assert paint("fail", False) == "fail"
