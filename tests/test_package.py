"""The package's public names, loaded on first use, are the session API's own objects."""

from __future__ import annotations

import pytest

import reputation
from reputation import BadInput, Report, Session, check, check_async, inputs, report, session


def test_public_names_are_the_api() -> None:
    assert (BadInput, Report, Session) == (inputs.BadInput, report.Report, session.Session)
    assert (check, check_async) == (session.check, session.check_async)
    assert all(hasattr(reputation, name) for name in reputation.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Sesion'"):
        reputation.Sesion  # noqa: B018
