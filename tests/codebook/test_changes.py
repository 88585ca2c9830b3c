"""The codebook's `changes` entries: shape per kind, references, ids never reused."""

from __future__ import annotations

import pytest
import yaml

from pipeline.codebook import check_codebook
from pipeline.codebook.changes import change_key, ended_codes, ordered_changes, semver_key


def _with(minimal_codebook, changes, version="0.2.0", retire=None, drop=None):
    data = yaml.safe_load(minimal_codebook.read_text(encoding="utf-8"))
    data["version"] = version
    data["changes"] = changes
    for code in data["codes"]:
        if code["id"] == retire:
            code["retired"] = True
    if drop:
        data["codes"] = [c for c in data["codes"] if c["id"] != drop]
    minimal_codebook.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return [p for p in check_codebook(minimal_codebook) if p.code == "CQ410"]


@pytest.mark.parametrize("changes, retire, drop", [
    ([{"version": "0.2.0", "kind": "renamed", "from": ["social.shelter"],
       "to": ["social.housing"]}], None, None),
    ([{"version": "0.2.0", "kind": "merged", "from": ["social.a", "social.b"],
       "to": ["social.housing"]}], None, None),
    ([{"version": "0.2.0", "kind": "merged", "from": ["social.a", "social.housing"],
       "to": ["social.housing"]}], None, None),  # merged into one of its own
    ([{"version": "0.2.0", "kind": "split", "from": ["social.old"],
       "to": ["social.housing", "cultural_religious.language"]}], None, None),
    ([{"version": "0.2.0", "kind": "retired", "codes": ["social.housing"]}],
     "social.housing", None),
    ([{"version": "0.1.1", "kind": "renamed", "from": ["social.a"], "to": ["social.b"]},
      {"version": "0.2.0", "kind": "renamed", "from": ["social.b"],
       "to": ["social.housing"]}], None, None),  # renamed twice
    ([{"version": "0.2.0", "kind": "added", "codes": ["social.housing"]}], None, None),
])
def test_changes_valid_entries(minimal_codebook, changes, retire, drop):
    assert _with(minimal_codebook, changes, retire=retire, drop=drop) == []


@pytest.mark.parametrize("entry, message", [
    ({"version": "0.2.0", "kind": "renamed", "from": ["social.a", "social.b"],
      "to": ["social.housing"]}, "one code in `from` and one in `to`"),
    ({"version": "0.2.0", "kind": "renamed", "from": ["social.housing"],
      "to": ["social.housing"]}, "renamed to itself"),
    ({"version": "0.2.0", "kind": "merged", "from": ["social.a"],
      "to": ["social.housing", "social.b"]}, "one code they become"),
    ({"version": "0.2.0", "kind": "split", "from": ["social.a"], "to": ["social.housing"]},
     "the codes it becomes"),
    ({"version": "0.2.0", "kind": "retired", "codes": []}, "lists the retired codes"),
    ({"version": "0.2.0", "kind": "renamed", "from": ["social.a"], "to": ["social.nothing"]},
     "'social.nothing' is not defined"),
    ({"version": "0.2.0", "kind": "retired", "codes": ["social.housing"]},
     "still an active code"),
    ({"version": "0.2.0", "kind": "renamed", "from": ["cultural_religious.language"],
      "to": ["social.housing"]}, "ids are never reused"),
    ({"version": "0.3.0", "kind": "retired", "codes": ["social.gone"]},
     "newer than the codebook's own version"),
    ({"version": "soon", "kind": "retired", "codes": ["social.gone"]},
     "not MAJOR.MINOR.PATCH"),
])
def test_changes_wrong_entries_are_located(minimal_codebook, entry, message):
    problems = _with(minimal_codebook, [entry])
    assert problems, entry
    assert any(message in p.message for p in problems), [p.message for p in problems]
    assert all("changes[0]" in p.message for p in problems)
    assert all(p.fields["line"] for p in problems)


@pytest.mark.parametrize("lower, higher", [
    ("1.0.0", "1.0.1"), ("1.9.0", "1.10.0"), ("2.0.0-rc.1", "2.0.0"),
    ("2.0.0-alpha", "2.0.0-beta"), ("2.0.0-rc.2", "2.0.0-rc.10"),
])
def test_changes_semver_order(lower, higher):
    assert semver_key(lower) < semver_key(higher)


def test_changes_helpers():
    merge = {"version": "1.1.0", "kind": "merged", "from": ["a", "b", "c"], "to": ["c"],
             "note": "why"}
    assert ended_codes(merge) == ["a", "b"]
    assert change_key(merge) == change_key(dict(merge, note="another note"))
    assert change_key(merge) != change_key(dict(merge, version="1.2.0"))
    entries = [{"version": "1.10.0", "kind": "added", "codes": ["x"]},
               {"version": "1.2.0", "kind": "added", "codes": ["y"]}]
    assert [e["version"] for e in ordered_changes(entries)] == ["1.2.0", "1.10.0"]
