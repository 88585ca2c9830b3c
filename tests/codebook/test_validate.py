"""Codebook validation: every kind of problem, with its path in the YAML and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.codebook import check_codebook, default_codebook_path, load_codebook
from pipeline.errors import CityQDAError
from tests.codebook.conftest import MINIMAL_CODEBOOK

REPO_CODEBOOK = Path(__file__).resolve().parents[2] / "codebooks" / "integration_policy.yaml"


def test_validate_packaged_codebook_has_no_problems():
    assert check_codebook(default_codebook_path()) == []


def test_validate_repository_copy_equals_package_default():
    assert REPO_CODEBOOK.read_bytes() == default_codebook_path().read_bytes()


def test_validate_packaged_codebook_has_the_study_structure():
    codebook = load_codebook()
    assert [c.id for c in codebook.dimensions] == [
        "social", "cultural_religious", "economic", "political", "legal"]
    challenges = {c.id for c in codebook.challenges}
    assert challenges == {f"challenge.{name}" for name in (
        "language", "housing", "discrimination", "funding", "monitoring_evaluation",
        "knowledge_sharing", "terminology")}
    for code in codebook.codes:
        if code.kind == "subcode":
            assert code.patterns, code.id
            assert code.definition and code.include and code.exclude, code.id
            assert code.examples and code.counter_examples, code.id
    assert codebook.version.count(".") == 2
    assert codebook.changes == ()


def test_validate_minimal_codebook_loads(minimal_codebook):
    codebook = load_codebook(minimal_codebook)
    assert codebook.version == "0.1.0"
    assert codebook.dimension_of("social.housing") == "social"
    assert codebook.dimension_of("challenge.housing") is None
    assert len(codebook.sha256) == 64


BROKEN = {
    "unknown top-level key": (
        ("version: 0.1.0\n", "version: 0.1.0\ncolour: blue\n"),
        "CQ202", "colour", "unknown key 'colour'"),
    "unknown key in a code": (
        ("    label: Housing\n", "    label: Housing\n    colour: red\n"),
        "CQ202", "codes[1].colour", "unknown key 'colour'"),
    "bad version": (
        ("version: 0.1.0\n", "version: one\n"), "CQ202", "version", "does not match"),
    "pattern with phrases and tokens": (
        ('        phrases: ["housing shortage"]\n',
         '        phrases: ["housing shortage"]\n        tokens: [{LOWER: x}]\n'),
        "CQ202", "codes[8].patterns[0]", "exactly one"),
    "duplicate code id": (
        ("  - id: economic\n", "  - id: social.housing\n"),
        "CQ203", "codes[4].id", "already used at codes[1].id"),
    "duplicate pattern id": (
        ("      - id: cultural_religious.language.course\n",
         "      - id: social.housing.topic\n"),
        "CQ203", "codes[3].patterns[0].id", "social.housing.topic"),
    "duplicate rule id": (("  - id: R02\n", "  - id: R01\n"), "CQ203", "rules[1].id", "R01"),
    "rule names a missing code": (
        ("    to: cultural_religious.language\n", "    to: cultural_religious.dance\n"),
        "CQ204", "rules[0].to", "'cultural_religious.dance'"),
    "rule source missing": (
        ("    from: [social.housing]\n    to:", "    from: [social.shelter]\n    to:"),
        "CQ204", "rules[0].from[0]", "'social.shelter'"),
    "unknown parent": (
        ("    parent: social\n", "    parent: sozial\n"), "CQ204", "codes[1].parent", "sozial"),
    "parent of the wrong kind": (
        ("    parent: cultural_religious\n", "    parent: challenge\n"),
        "CQ206", "codes[3].parent", "must be a dimension"),
    "dimension not of the study": (
        ("  - id: political\n", "  - id: politics\n"), "CQ206", "codes[5].id",
        "not one of the study's dimensions"),
    "derive from a missing code": (
        ("        from: [social.housing]\n        when", "        from: [social.x]\n        when"),
        "CQ204", "codes[8].derive[0].from[0]", "social.x"),
    "unbalanced braces": (
        ('"{night|emergency} shelter"', '"{night|emergency shelter"'),
        "CQ205", "codes[1].patterns[0].phrases[0]", "unbalanced braces"),
    "token pattern spaCy refuses": (
        ("tokens: [{LEMMA: {IN: [housing, accommodation]}}]",
         "tokens: [{LEMMA: {FOO: [housing]}}]"),
        "CQ205", "codes[1].patterns[1].tokens", "not valid for spaCy"),
    "subcode pattern without role": (
        ("        role: service\n        phrases: [\"{english",
         "        phrases: [\"{english"),
        "CQ202", "codes[3].patterns[0]", "needs `role`"),
    "split without unless": (
        ('    context: ["language"]\n', '    context: ["language"]\n    split: true\n'),
        "CQ202", "rules[0]", "'unless' is required here"),
    "unless on a rule that neither moves nor names a venue": (
        ('    phrases: ["legal obligation"]\n',
         '    phrases: ["legal obligation"]\n    unless: ["duty"]\n'),
        "CQ202", "rules[1].type", "is not one of ['reassign', 'venue']"),
    "unless phrase with unbalanced braces": (
        ('    context: ["language"]\n', '    context: ["language"]\n    unless: ["{school"]\n'),
        "CQ205", "rules[0].unless[0]", "unbalanced braces"),
    "refer_back without heads": (
        ("    type: suppress\n", "    type: refer_back\n"),
        "CQ202", "rules[1]", "'heads' is required here"),
    "cue with an unknown type": (
        ("      type: pseudo\n", "      type: sarcasm\n"), "CQ202", "context.cues[3].type",
        "is not one of"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_reports_problem_with_path_and_line(tmp_path, case):
    (old, new), code, path, message = BROKEN[case]
    assert old in MINIMAL_CODEBOOK, case
    text = MINIMAL_CODEBOOK.replace(old, new, 1)
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    problems = check_codebook(file)
    matching = [p for p in problems if p.code == code and p.fields["yaml_path"] == path]
    assert matching, [p.render() for p in problems]
    problem = matching[0]
    assert message in problem.message
    assert problem.file == str(file)
    line = problem.fields["line"]
    assert isinstance(line, int) and 1 <= line <= text.count("\n") + 1
    assert f"(line {line})" in problem.render()
    with pytest.raises(CityQDAError) as caught:
        load_codebook(file)
    assert caught.value.exit_code == 1


def test_validate_lists_every_problem_not_only_the_first(tmp_path):
    text = (MINIMAL_CODEBOOK.replace("version: 0.1.0\n", "version: 0.1.0\ncolour: blue\n")
            .replace("    to: cultural_religious.language\n", "    to: nowhere.at.all\n"))
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    codes = sorted(p.code for p in check_codebook(file))
    assert codes == ["CQ202", "CQ204"]


def test_validate_points_at_the_line_of_the_bad_value(tmp_path):
    text = MINIMAL_CODEBOOK.replace('"{night|emergency} shelter"', '"{night|emergency shelter"')
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    (problem,) = check_codebook(file)
    expected = next(i for i, line in enumerate(text.splitlines(), start=1)
                    if "{night|emergency shelter" in line)
    assert problem.fields["line"] == expected


@pytest.mark.parametrize("content, message", [
    (b"id: [unclosed\n", "not valid YAML"),
    (b"id: a\nid: b\n", "written twice"),
    (b"\xff\xfe not utf-8", "not UTF-8"),
])
def test_validate_unreadable_file(tmp_path, content, message):
    file = tmp_path / "bad.yaml"
    file.write_bytes(content)
    (problem,) = check_codebook(file)
    assert problem.code == "CQ201"
    assert message in problem.message


def test_validate_missing_file(tmp_path):
    (problem,) = check_codebook(tmp_path / "nope.yaml")
    assert problem.code == "CQ201" and "not found" in problem.message


def test_validate_missing_study_dimension(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    problems = check_codebook(file, dimensions=("social", "cultural_religious", "economic",
                                                "political", "legal", "digital"))
    assert [p.code for p in problems] == ["CQ206"]
    assert "'digital' is not defined" in problems[0].message


def test_validate_top_level_must_be_a_mapping(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("- just\n- a list\n", encoding="utf-8")
    (problem,) = check_codebook(file)
    assert problem.code == "CQ202"
