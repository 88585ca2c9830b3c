"""`cityqda tag` through the real CLI: input forms, malformed lines, stdout purity."""

import json

import pytest

from pipeline.cli import main
from tests.codebook.conftest import MINIMAL_CODEBOOK

LINES = [
    {"id": "a", "text": "The city council runs free Portuguese classes for refugees."},
    {"id": 2, "text": "There is no housing programme for refugees."},
    {"id": None, "text": "The NGO offers legal aid and a job fair."},
]


def invoke(runner, *args, input=None):
    return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def jsonl(items) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def results(stdout: str) -> list[dict]:
    """Every stdout line is one JSON object (stdout carries data only)."""
    lines = stdout.splitlines()
    assert stdout == "" or stdout.endswith("\n")
    return [json.loads(line) for line in lines]


def test_tag_stdin_one_line_per_input_line_in_order(runner, tmp_path):
    text = jsonl(LINES[:1]) + "\n   \n" + jsonl(LINES[1:])
    result = invoke(runner, "--project", tmp_path, "tag", input=text)
    assert result.exit_code == 0, result.stderr
    out = results(result.stdout)
    assert [o["id"] for o in out] == ["a", 2, None]
    assert [o["dimensions"] for o in out] == [["cultural_religious"], [], ["economic", "legal"]]
    assert set(out[0]) >= {"id", "dimensions", "codes", "actors", "initiatives",
                           "partnerships"}


def test_tag_input_file_equals_stdin(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(LINES), encoding="utf-8")
    from_file = invoke(runner, "--project", tmp_path, "tag", "--input", path)
    from_stdin = invoke(runner, "--project", tmp_path, "tag", input=jsonl(LINES))
    assert from_file.exit_code == 0
    assert from_file.stdout == from_stdin.stdout


def test_tag_text_option(runner, tmp_path):
    text = "Les réfugiés\u00a0\U0001f44b: the NGO offers legal aid."
    result = invoke(runner, "--project", tmp_path, "tag", "--text", text)
    assert result.exit_code == 0
    (out,) = results(result.stdout)
    assert out["id"] is None and out["dimensions"] == ["legal"]
    code = out["codes"][0]
    assert text[code["start"]:code["end"]] == code["text"] == "legal aid"
    assert "Les réfugiés" in result.stdout  # UTF-8, not escaped


def test_tag_python_api_gives_the_same_objects(runner, tmp_path):
    from pipeline.nlp import Tagger

    result = invoke(runner, "--project", tmp_path, "tag", input=jsonl(LINES))
    expected = Tagger().tag_texts([line["text"] for line in LINES],
                                  ids=[line["id"] for line in LINES])
    assert results(result.stdout) == json.loads(json.dumps(expected))


@pytest.mark.parametrize("bad, message", [
    ("not json", "line 2: not valid JSON"),
    ('["a list"]', "line 2: expected a JSON object, got list"),
    ('{"id": 1}', 'line 2: the object has no "text"'),
    ('{"id": 1, "text": 5}', 'line 2: "text" must be a string, got int'),
    ('{"text": "no id"}', 'line 2: the object has no "id"'),
])
def test_tag_malformed_line_stops_everything(runner, tmp_path, bad, message):
    text = jsonl(LINES[:1]) + bad + "\n" + jsonl(LINES[1:])
    result = invoke(runner, "--project", tmp_path, "tag", input=text)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "CQ210" in result.stderr and message in result.stderr


def test_tag_keep_going_answers_the_rest(runner, tmp_path):
    text = jsonl(LINES[:1]) + "{broken\n" + "\n" + jsonl(LINES[1:]) + "[1]\n"
    result = invoke(runner, "--project", tmp_path, "tag", "--keep-going", input=text)
    assert result.exit_code == 1
    assert [o["id"] for o in results(result.stdout)] == ["a", 2, None]
    assert "line 2:" in result.stderr and "line 6:" in result.stderr
    assert "2 malformed line(s) skipped; 3 tagged" in result.stderr


def test_tag_text_and_input_together_is_a_usage_error(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "tag", "--text", "x", "--input", "y")
    assert result.exit_code == 2
    assert "CQ211" in result.stderr and result.stdout == ""


def test_tag_missing_input_file(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "tag", "--input", tmp_path / "none.jsonl")
    assert result.exit_code == 1
    assert "CQ006" in result.stderr and result.stdout == ""


def test_tag_codebook_option(runner, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "tag", "--codebook", path, "--text",
                    "The city runs a night shelter.")
    (out,) = results(result.stdout)
    assert out["codes"][0]["rule"] == "social.housing.service"
    assert out["codes"][0]["codebook_version"] == "0.1.0"


def test_tag_uses_the_study_codebook(runner, study_dir):
    (study_dir / "codebooks" / "integration_policy.yaml").write_text(
        MINIMAL_CODEBOOK, encoding="utf-8")
    result = invoke(runner, "--project", study_dir, "tag", "--text",
                    "The city runs a night shelter.")
    (out,) = results(result.stdout)
    assert out["codes"][0]["codebook_version"] == "0.1.0"


def test_tag_with_a_broken_codebook_codes_nothing(runner, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL_CODEBOOK.replace("    to: cultural_religious.language\n",
                                             "    to: missing.code\n"), encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "tag", "--codebook", path,
                    input=jsonl(LINES))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "CQ204" in result.stderr and "rules[0].to" in result.stderr


def test_tag_accepts_an_actors_file_option(runner, tmp_path):
    actors = tmp_path / "actors.yaml"
    actors.write_text("version: 1\nactors: []\n", encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "tag", "--actors", actors, "--text",
                    "The NGO offers legal aid.")
    assert result.exit_code == 0, result.stderr
    assert isinstance(results(result.stdout)[0]["actors"], list)


def test_tag_needs_no_study_and_writes_no_file(runner, tmp_path):
    before = sorted(tmp_path.iterdir())
    result = invoke(runner, "--project", tmp_path, "tag", input=jsonl(LINES))
    assert result.exit_code == 0
    assert sorted(tmp_path.iterdir()) == before
