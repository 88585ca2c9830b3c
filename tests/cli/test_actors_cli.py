"""`cityqda actors validate|export` and `tag --actors` through the real CLI."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.cli import main

REGISTRY = """\
version: 1
actors:
  - id: hope
    name: Hope Foundation
    category: civil_society
    sector: third
    aliases: [HF]
    city: Lyon
"""


def invoke(runner, *args, input=None):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, input=input)


def test_actors_cli_validates_the_package_registry_outside_a_study(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "actors", "validate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["actors"] > 100 and data["problems"] == []
    assert "0 error(s)" in result.stderr


def test_actors_cli_validates_the_study_registry(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "actors", "validate")
    assert result.exit_code == 0
    assert str(study_dir / "codebooks" / "actors.yaml") in result.stderr


@pytest.mark.parametrize("edit, code, where", [
    (lambda d: d["actors"].append(dict(d["actors"][0], name="Other", aliases=[])), "CQ303",
     "actors[1].id"),
    (lambda d: d["actors"][0].update(parent="nobody"), "CQ304", "actors[0].parent"),
    (lambda d: d["actors"].append({"id": "b", "name": "HF", "category": "business",
                                   "sector": "private", "city": "Lyon"}), "CQ306",
     "actors[1].name"),
    (lambda d: d["actors"][0].update(category="press"), "CQ307", "actors[0].category"),
    (lambda d: d["actors"][0].pop("sector"), "CQ302", "actors[0]"),
])
def test_actors_cli_validate_reports_each_failure_with_its_place(runner, tmp_path, edit,
                                                                  code, where):
    data = yaml.safe_load(REGISTRY)
    edit(data)
    path = tmp_path / "actors.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "actors", "validate", path, "--json")
    assert result.exit_code == 1
    assert f"error {code}" in result.stderr and where in result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems if p["level"] == "error"] == [code]


def test_actors_cli_validate_warnings_exit_zero(runner, tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text(REGISTRY.replace("civil_society", "business"), encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "actors", "validate", path)
    assert result.exit_code == 0 and "warning CQ350" in result.stderr


def test_actors_cli_validate_missing_file(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "actors", "validate", tmp_path / "no.yaml")
    assert result.exit_code == 1 and "CQ006" in result.stderr


def test_actors_cli_export_needs_a_study(runner, tmp_path):
    result = invoke(runner, "--project", tmp_path, "actors", "export")
    assert result.exit_code == 2 and "CQ001" in result.stderr


def test_actors_cli_export_of_an_unreviewed_study_is_its_registry(runner, study_dir):
    result = invoke(runner, "--project", study_dir, "actors", "export")
    assert result.exit_code == 0
    registry = (study_dir / "codebooks" / "actors.yaml").read_text(encoding="utf-8")
    assert result.stdout == registry
    assert "warning CQ352" in result.stderr


def _confirm(study_dir, **values):
    from sqlalchemy import insert

    from pipeline.store import open_store
    from pipeline.store.schema import actors

    store = open_store(study_dir / "cityqda.sqlite", warn_location=False)
    try:
        with store.write() as conn:
            conn.execute(insert(actors).values(**values))
    finally:
        store.close()


def test_actors_cli_export_adds_confirmed_actors(runner, study_dir, tmp_path):
    _confirm(study_dir, city="Lyon", name="Maison des Solidarités",
             norm_name="maison des solidarites", category="civil_society", sector="third",
             origin="rule", review_status="confirmed")
    _confirm(study_dir, city="Lyon", name="Rejected Name", norm_name="rejected name",
             category="business", sector="private", origin="rule", review_status="rejected")
    out = tmp_path / "exported.yaml"
    result = invoke(runner, "--project", study_dir, "actors", "export", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    added = data["actors"][-1]
    assert (added["name"], added["city"], added["id"]) == (
        "Maison des Solidarités", "Lyon", "maison_des_solidarites")
    assert "Rejected Name" not in out.read_text(encoding="utf-8")
    check = invoke(runner, "--project", study_dir, "actors", "validate", out)
    assert check.exit_code == 0


def test_actors_cli_export_to_an_unwritable_place_writes_nothing(runner, study_dir, tmp_path):
    target = tmp_path / "missing" / "actors.yaml"
    result = invoke(runner, "--project", study_dir, "actors", "export", "--out", target)
    assert result.exit_code == 1 and "CQ310" in result.stderr
    assert not target.parent.exists()


def test_actors_cli_tag_uses_the_given_registry(runner, tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "tag", "--actors", path,
                    "--text", "HF works with Lyon City Council.")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    hope = [a for a in data["actors"] if a["name"] == "HF"][0]
    assert (hope["registry_id"], hope["canonical"]) == ("hope", "Hope Foundation")
    assert data["partnerships"][0]["parties"] == ["Hope Foundation", "Lyon City Council"]
    assert data["partnerships"][0]["type"] == "third_actor_public"


def test_actors_cli_tag_refuses_a_broken_registry(runner, tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text(REGISTRY.replace("id: hope", "id: Hope Foundation"), encoding="utf-8")
    result = invoke(runner, "--project", tmp_path, "tag", "--actors", path, "--text", "x")
    assert result.exit_code == 1
    assert "CQ302" in result.stderr and result.stdout == ""
