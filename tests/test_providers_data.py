"""The provider knowledge is sourced data: every rule cites where its reply and policy come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from reputation.providers import ProviderDataError, load_providers

EXPECTED_IDS = {"gmail", "outlook", "yahoo", "icloud", "gmx", "t-online", "orange", "comcast",
                "mailru", "yandex", "qq", "netease", "sina"}  # fmt: skip


def test_every_provider_rule_has_a_source_url() -> None:
    providers = load_providers()
    for provider in providers:
        assert provider.sources, provider.id
        for rule in provider.rules:
            assert rule.source.startswith(("https://", "http://")), f"{provider.id}/{rule.id}"
            assert rule.confidence in ("documented", "widely_reported")


def test_the_major_providers_are_covered() -> None:
    assert {p.id for p in load_providers()} >= EXPECTED_IDS


def test_a_rule_without_source_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "providers.toml"
    broken.write_text(
        '[[provider]]\nid = "x"\nname = "X"\n[[provider.rule]]\nid = "r"\n'
        'when = ["finding:ptr_missing"]\noutcome = "reject"\nscope = "all"\nreply = ""\n'
        'confidence = "documented"\n'
    )
    with pytest.raises(ProviderDataError, match="source URL"):
        load_providers(broken)


def test_an_unknown_condition_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "providers.toml"
    broken.write_text(
        '[[provider]]\nid = "x"\nname = "X"\n[[provider.rule]]\nid = "r"\n'
        'when = ["finding:ptr_mising"]\noutcome = "reject"\nscope = "all"\nreply = ""\n'
        'source = "https://example.org"\nconfidence = "documented"\n'
    )
    with pytest.raises(ProviderDataError, match="ptr_mising"):
        load_providers(broken)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "providers.toml"
    broken.write_text("[[provider]\n")
    with pytest.raises(ProviderDataError, match=r"providers\.toml"):
        load_providers(broken)
