"""What changed between two codebooks, and what decides codings (matching content)."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipeline.codebook.diff import diff_codebooks, diff_files, matching_sha256


@pytest.fixture
def old(minimal_codebook):
    return yaml.safe_load(minimal_codebook.read_text(encoding="utf-8"))


def _code(data, code_id):
    return next(c for c in data["codes"] if c["id"] == code_id)


@pytest.mark.parametrize("edit", [
    lambda d: _code(d, "social.housing").update(label="Housing and shelter"),
    lambda d: _code(d, "social.housing").update(definition="Another definition."),
    lambda d: _code(d, "social.housing").update(examples=["Another example."]),
    lambda d: d.update(title="Another title", version="9.9.9"),
    lambda d: d["rules"][0].update(label="Another label"),
])
def test_diff_wording_is_not_matching_content(old, edit):
    new = copy.deepcopy(old)
    edit(new)
    assert matching_sha256(new) == matching_sha256(old)
    assert not diff_codebooks(old, new).matching_changed


@pytest.mark.parametrize("edit", [
    lambda d: _code(d, "social.housing")["patterns"][0]["phrases"].append("hostel"),
    lambda d: _code(d, "social.housing").update(parent="legal"),
    lambda d: _code(d, "social.housing").update(retired=True),
    lambda d: d["rules"][0].update(reason="another reason"),  # shown in codings
    lambda d: d["context"]["cues"][0]["phrases"].append("never"),
    lambda d: d["context"]["terminators"].append("although"),
    lambda d: d.update(lemmatizer={"overrides": {"housing": "housing"}}),
])
def test_diff_matching_content_changes(old, edit):
    new = copy.deepcopy(old)
    edit(new)
    result = diff_codebooks(old, new)
    assert result.matching_changed
    assert result.problems == [f"matching content changed ({result.summary()}) but the "
                               f"version is still {old['version']}"]


def test_diff_lists_declared_changes_codes_patterns_rules(old):
    new = copy.deepcopy(old)
    new["version"] = "0.2.0"
    housing = _code(new, "social.housing")
    housing["id"] = "social.shelter"
    for pattern in housing["patterns"]:
        pattern["id"] = pattern["id"].replace("housing", "shelter")
    new["rules"][0]["from"] = ["social.shelter"]
    _code(new, "challenge.housing")["derive"][0]["from"] = ["social.shelter"]
    _code(new, "cultural_religious.language")["patterns"][0]["phrases"].append("german class")
    new["rules"] = [r for r in new["rules"] if r["id"] != "R02"]
    new["changes"] = [{"version": "0.2.0", "kind": "renamed", "from": ["social.housing"],
                       "to": ["social.shelter"], "note": "clearer name"}]
    result = diff_codebooks(old, new)
    assert result.declared == new["changes"]
    assert (result.added, result.removed) == (["social.shelter"], ["social.housing"])
    assert result.undeclared_removals == [] and result.problems == []
    assert result.patterns["cultural_religious.language"]["changed"] == [
        "cultural_religious.language.course"]
    assert result.rules == {"removed": ["R02"], "changed": ["R01"]}
    lines = result.lines()
    assert lines[0] == "codebook mini: 0.1.0 -> 0.2.0"
    assert "renamed    social.housing -> social.shelter  [0.2.0]  (clearer name)" in lines
    assert "rule       removed R02" in lines
    assert result.as_dict()["codes_added"] == ["social.shelter"]


def test_diff_undeclared_removal_is_a_problem(old):
    new = copy.deepcopy(old)
    new["version"] = "0.2.0"
    new["codes"] = [c for c in new["codes"] if c["id"] != "cultural_religious.language"]
    result = diff_codebooks(old, new)
    assert result.problems == ["codes removed without a `changes` entry: "
                               "cultural_religious.language"]


def test_diff_files_refuses_a_broken_codebook(minimal_codebook, tmp_path):
    from pipeline.errors import CityQDAError

    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [", encoding="utf-8")
    with pytest.raises(CityQDAError) as info:
        diff_files(minimal_codebook, broken)
    assert info.value.code == "CQ201"
