"""The compiled-data cache: a run may only get faster from it, never different."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reputation import compiled


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPUTATION_NO_CACHE", raising=False)
    return tmp_path / "cache"


def counting_build(value: str) -> tuple[list[str], Callable[[], str]]:
    built: list[str] = []

    def build() -> str:
        built.append(value)
        return value

    return built, build


def test_a_second_run_loads_what_the_first_built(cache_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.toml"
    source.write_text("a = 1\n")
    first, build = counting_build("parsed")
    assert compiled.cached("sample", [source], build) == "parsed"
    again, build_again = counting_build("parsed")
    assert compiled.cached("sample", [source], build_again) == "parsed"
    assert first == ["parsed"] and again == []
    assert len(list((cache_home / "reputation").glob("sample-*.pickle"))) == 1


def test_a_changed_source_is_parsed_again(cache_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "data.toml"
    source.write_text("a = 1\n")
    compiled.cached("sample", [source], lambda: "old")
    source.write_text("a = 22\n")
    assert compiled.cached("sample", [source], lambda: "new") == "new"
    assert len(list((cache_home / "reputation").glob("sample-*.pickle"))) == 1  # old one removed


def test_changed_code_changes_the_key(tmp_path: Path) -> None:
    package = tmp_path / "package"
    (package / "sub").mkdir(parents=True)
    module = package / "sub" / "module.py"
    module.write_text("x = 1\n")
    before = compiled._code_digest(str(package))
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    compiled._code_digest.cache_clear()
    assert compiled._code_digest(str(package)) != before


def test_a_missing_source_builds_without_caching(cache_home: Path, tmp_path: Path) -> None:
    assert compiled.cached("sample", [tmp_path / "absent.toml"], lambda: "built") == "built"
    assert not (cache_home / "reputation").exists()


def test_two_installations_keep_their_own_copies(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data.toml"
    source.write_text("a = 1\n")
    compiled.cached("sample", [source], lambda: "this one")
    elsewhere = tmp_path / "other-venv" / "reputation"  # another copy, with other code
    elsewhere.mkdir(parents=True)
    (elsewhere / "__init__.py").write_text('"""Another version."""\n')
    with monkeypatch.context() as other:
        other.setattr(compiled, "PACKAGE_ROOT", str(elsewhere))
        other.setattr(compiled, "INSTALLATION", "elsewhere")
        assert compiled.cached("sample", [source], lambda: "the other") == "the other"
    assert compiled.cached("sample", [source], lambda: "rebuilt") == "this one"
