"""`cityqda codebook validate|show|export` through the real CLI."""

import json
from pathlib import Path

from pipeline.cli import main
from tests.codebook.conftest import MINIMAL_CODEBOOK


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_codebook_cli_validate_packaged_default_outside_a_study(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "codebook", "validate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "integration_policy.yaml: 0 problem(s)" in result.stderr


def test_codebook_cli_validate_the_study_codebook(runner, study_dir):
    (study_dir / "codebooks" / "integration_policy.yaml").write_text(
        MINIMAL_CODEBOOK.replace("version: 0.1.0", "version: x"), encoding="utf-8")
    result = invoke(runner, "--project", study_dir, "codebook", "validate")
    assert result.exit_code == 1
    assert "error CQ202" in result.stderr and "version (line 3)" in result.stderr


def test_codebook_cli_validate_lists_problems_with_path_and_line(runner, tmp_path):
    file = tmp_path / "broken.yaml"
    file.write_text(MINIMAL_CODEBOOK.replace("    to: cultural_religious.language\n",
                                             "    to: nowhere\n")
                    .replace("  - id: R02\n", "  - id: R01\n"), encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "codebook", "validate", file, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    found = {(p["code"], p["path"]) for p in report["problems"]}
    assert found == {("CQ204", "rules[0].to"), ("CQ203", "rules[1].id")}
    assert all(isinstance(p["line"], int) for p in report["problems"])
    assert "rules[0].to (line" in result.stderr


def test_codebook_cli_validate_json_when_valid(runner, tmp_path):
    file = tmp_path / "ok.yaml"
    file.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "codebook", "validate", file, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"file": str(file), "valid": True, "problems": []}


def test_codebook_cli_show_tree_and_json(runner, tmp_path):
    file = tmp_path / "ok.yaml"
    file.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    tree = invoke(runner, "--project", tmp_path, "codebook", "show", "--codebook", file)
    assert tree.exit_code == 0
    assert "    social.housing: Housing  [2 patterns]" in tree.stdout.splitlines()
    data = invoke(runner, "--project", tmp_path, "codebook", "show", "--codebook", file,
                  "--json")
    assert json.loads(data.stdout)["id"] == "mini"


def test_codebook_cli_show_refuses_a_broken_codebook(runner, tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text(MINIMAL_CODEBOOK.replace("parent: social\n", "parent: sozial\n"),
                    encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "codebook", "show", "--codebook", file)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "CQ204" in result.stderr


def test_codebook_cli_export_formats(runner, tmp_path):
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"codebook.{fmt}"
        result = invoke(runner, "--project", tmp_path, "codebook", "export", "--format", fmt,
                        "--out", out)
        assert result.exit_code == 0, result.stderr
        assert out.stat().st_size > 1000
        assert result.stdout == ""


def test_codebook_cli_export_into_missing_folder(runner, tmp_path):
    out = Path(tmp_path) / "no" / "codebook.csv"
    result = invoke(runner, "--project", tmp_path, "codebook", "export", "--format", "csv",
                    "--out", out)
    assert result.exit_code == 1
    assert "CQ212" in result.stderr
