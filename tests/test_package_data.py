"""The package's data files are schema-checked once per package state, never a team's file."""

import pytest
import yaml

from pipeline import package_data
from pipeline.coding import section_context
from pipeline.coding.section_context import DATA_PATH, load_context_words
from pipeline.errors import CityQDAError
from pipeline.ingest import check_memo
from pipeline.vocabulary import check_variants, default_variants, load_variants, variants_path


@pytest.fixture
def fresh_process(monkeypatch):
    """As a new `cityqda run` process: no verdict yet, nothing loaded."""
    monkeypatch.setattr(package_data, "_VERDICT", [])
    default_variants.cache_clear()
    section_context._load_words.cache_clear()
    yield
    default_variants.cache_clear()
    section_context._load_words.cache_clear()


def _count_schema_checks(monkeypatch) -> list[str]:
    checked = []
    real_words = section_context._check_words
    monkeypatch.setattr(section_context, "_check_words",
                        lambda data, path: checked.append("words") or real_words(data, path))
    monkeypatch.setattr("pipeline.vocabulary.check_variants",
                        lambda data, file: checked.append("variants") or check_variants(data, file))
    return checked


@pytest.mark.parametrize("path", [variants_path(), DATA_PATH], ids=["variants", "words"])
def test_package_data_parse_yaml_reads_as_safe_load(path):
    text = path.read_text(encoding="utf-8")
    assert package_data.parse_yaml(text) == yaml.safe_load(text)


def test_package_data_verdict_kept_and_checks_skipped_in_the_next_run(
        tmp_path, monkeypatch, fresh_process):
    checked = _count_schema_checks(monkeypatch)
    assert package_data.trust_package_data(tmp_path) is True
    assert sorted(checked) == ["variants", "words"]
    assert check_memo.load_memo(tmp_path, "package-data",
                                check_memo.memo_key("package-data", (), None)) is True

    monkeypatch.setattr(package_data, "_VERDICT", [])  # the next run's process
    default_variants.cache_clear()
    section_context._load_words.cache_clear()
    checked.clear()
    assert package_data.trust_package_data(tmp_path) is True
    assert default_variants().values["categories"]["ngo"] == "civil_society"
    assert load_context_words().value_words
    assert checked == []


def test_package_data_other_package_state_checks_again(tmp_path, monkeypatch, fresh_process):
    package_data.trust_package_data(tmp_path)
    monkeypatch.setattr(package_data, "_VERDICT", [])
    monkeypatch.setattr(check_memo, "_code_state", lambda: "another package")
    default_variants.cache_clear()
    section_context._load_words.cache_clear()
    checked = _count_schema_checks(monkeypatch)
    assert package_data.trust_package_data(tmp_path) is True
    assert sorted(checked) == ["variants", "words"]


def test_package_data_broken_package_file_not_trusted(tmp_path, monkeypatch, fresh_process):
    broken = tmp_path / "variants.yaml"
    broken.write_text("vocabularies: {}\nlabels: {}\nextra: 1\n", encoding="utf-8")
    monkeypatch.setattr("pipeline.vocabulary.variants_path", lambda: broken)
    cache = tmp_path / "cache"
    assert package_data.trust_package_data(cache) is False
    assert package_data.package_data_checked() is False
    assert check_memo.load_memo(cache, "package-data",
                                check_memo.memo_key("package-data", (), None)) is None
    with pytest.raises(CityQDAError) as info:
        default_variants()
    assert info.value.code == "CQ915"


def test_package_data_team_files_checked_after_the_verdict(tmp_path, fresh_process):
    assert package_data.trust_package_data(tmp_path / "cache") is True
    words = tmp_path / "lists.yaml"
    words.write_text("version: 1\nvalue_words: [2009]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lists.yaml"):
        load_context_words(words)
    variants = tmp_path / "variants.yaml"
    variants.write_text("vocabularies: {}\nlabels: {}\nextra: 1\n", encoding="utf-8")
    with pytest.raises(CityQDAError) as info:
        load_variants(variants)
    assert info.value.code == "CQ915"
