"""`cityqda guides validate|show` through the real CLI."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main

REPO_GUIDES = Path(__file__).resolve().parents[2] / "interview_guides"


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def broken_folder(tmp_path):
    folder = tmp_path / "guides"
    shutil.copytree(REPO_GUIDES, folder)
    return folder


def edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_guides_cli_validate_passes_on_a_fresh_study(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "guides", "validate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "4 guide(s), 0 error(s), 0 warning(s)" in result.stderr


def test_guides_cli_validate_json(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "guides", "validate", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["guides"] == ["policy_makers", "practitioners", "businesses", "third_actors"]
    assert data["problems"] == []


def test_guides_cli_validate_uses_the_study_paths_guides(runner, study_dir):
    edit(study_dir / "interview_guides" / "businesses.yaml",
         lambda d: d["categories"].append("journalist"))
    result = invoke(runner, "--project", study_dir, "guides", "validate")
    assert result.exit_code == 1
    assert "CQ904" in result.stderr and "businesses.yaml" in result.stderr


@pytest.mark.parametrize("break_it, code, where", [
    (lambda f: edit(f / "practitioners.yaml",
                    lambda d: d["sections"][1]["questions"][0].update(probe=["x"])),
     "CQ902", "sections[1].questions[0].probe (line "),
    (lambda f: edit(f / "policy_makers.yaml",
                    lambda d: d["sections"][4].update(title="Partnerships", aliases=[])),
     "CQ907", "sections[4].title (line "),
    (lambda f: edit(f / "third_actors.yaml", lambda d: d["categories"].append("press")),
     "CQ904", "categories[2] (line "),
    (lambda f: edit(f / "third_actors.yaml", lambda d: d.update(categories=["civil_society"])),
     "CQ905", "international_organization"),
    (lambda f: (f / "businesses.yaml").write_text("id: businesses\ntitle: [\n"),
     "CQ901", "businesses.yaml"),
    (lambda f: edit(f / "businesses.yaml", lambda d: d["sections"][0].update(questions=[])),
     "CQ908", "sections[0] (line "),
])
def test_guides_cli_validate_reports_code_location_and_exit_code(runner, broken_folder,
                                                                   break_it, code, where):
    break_it(broken_folder)
    result = invoke(runner, "--project", broken_folder.parent, "guides", "validate",
                    "--folder", broken_folder)
    assert result.exit_code == 1
    assert f"error {code}: " in result.stderr
    assert where in result.stderr
    assert result.stdout == ""


def test_guides_cli_validate_lists_every_problem(runner, broken_folder):
    edit(broken_folder / "businesses.yaml", lambda d: d.update(colour="red"))
    edit(broken_folder / "policy_makers.yaml", lambda d: d.update(id="Policy Makers"))
    result = invoke(runner, "--project", broken_folder.parent, "guides", "validate",
                    "--folder", broken_folder, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["code"], Path(p["file"]).name) for p in problems] == [
        ("CQ902", "businesses.yaml"), ("CQ902", "policy_makers.yaml")]


def test_guides_cli_validate_warning_only_exits_zero(runner, broken_folder):
    (broken_folder / "businesses.yaml").rename(broken_folder / "companies.yaml")
    result = invoke(runner, "--project", broken_folder.parent, "guides", "validate",
                    "--folder", broken_folder)
    assert result.exit_code == 0
    assert "warning CQ950" in result.stderr


def test_guides_cli_validate_without_study_or_folder_is_a_usage_error(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "guides", "validate")
    assert result.exit_code == 2
    assert "CQ001" in result.stderr and "cityqda init" in result.stderr


def test_guides_cli_show_tree_falls_back_to_package_defaults(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "guides", "show", "businesses")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "businesses: Interview guide for businesses"
    headings = [line.strip() for line in lines if line.startswith("  ") and
                line.strip()[:2].rstrip(".").isdigit() and ". " in line.strip()[:4]]
    assert headings == ["1. Introduction", "2. Institutional", "3. Services",
                        "4. Partnerships", "5. Cities", "6. Future perspectives", "7. Closure"]
    assert "[Skip this section when the respondent is a relocation company.]" in result.stdout


def test_guides_cli_show_json_one_guide_and_all(runner, study_dir):
    one = invoke(runner, "--project", study_dir, "guides", "show", "third_actors", "--json")
    guide = json.loads(one.stdout)
    assert guide["id"] == "third_actors"
    assert guide["categories"] == ["civil_society", "international_organization"]
    every = json.loads(invoke(runner, "--project", study_dir, "guides", "show", "--json").stdout)
    assert [g["id"] for g in every["guides"]] == ["policy_makers", "practitioners",
                                                  "businesses", "third_actors"]


def test_guides_cli_show_unknown_guide_is_a_usage_error(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "guides", "show", "journalists")
    assert result.exit_code == 2
    assert "CQ911" in result.stderr and "policy_makers" in result.stderr


def test_guides_cli_show_broken_folder_fails_with_problems(runner, broken_folder):
    edit(broken_folder / "businesses.yaml", lambda d: d.update(colour="red"))
    result = invoke(runner, "--project", broken_folder.parent, "guides", "show",
                    "--folder", broken_folder)
    assert result.exit_code == 1
    assert "CQ902" in result.stderr and result.stdout == ""
