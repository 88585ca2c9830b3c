"""The actor registry: shipped registries, validation with YAML paths, the writer, export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.errors import CityQDAError
from pipeline.nlp.registry import (
    CATEGORIES,
    Registry,
    RegistryActor,
    ReviewedActor,
    check_registry,
    default_registry_path,
    export_registry,
    fold_key,
    load_registry,
    registry_to_yaml,
    reviewed_actors_from_store,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_REGISTRY = REPO_ROOT / "codebooks" / "actors.yaml"
SAMPLE_ACTORS = REPO_ROOT / "scripts" / "sample_study" / "actors.yaml"
# Wordings of the sample study that a general registry must not carry: "Social Security"
# (the system as much as the institute) and "county government" (any county's).
SAMPLE_WORDINGS_LEFT_TO_CONTEXT = {"Social Security", "county government"}

VALID = """\
version: 1
actors:
  - id: city
    name: City of Testville
    category: policy_maker
    sector: public
    aliases: [Testville City Council, TCC]
    city: Testville
  - id: city.welcome
    name: Welcome Office
    category: policy_maker
    sector: public
    city: Testville
    parent: city
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "actors.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_actor_registry_package_default_is_valid_and_canonical():
    assert check_registry(default_registry_path()) == []
    registry = load_registry()
    assert len(registry.actors) > 100
    assert registry_to_yaml(registry) == default_registry_path().read_text(encoding="utf-8")


def test_actor_registry_repository_copy_extends_the_package_default():
    """The repository is the sample study: its registry is the package's, entry for entry and
    in order, followed by the sample study's own organisations."""
    default = load_registry()
    repo = load_registry(REPO_REGISTRY)
    assert check_registry(REPO_REGISTRY) == []
    assert repo.actors[:len(default.actors)] == default.actors
    extra = repo.actors[len(default.actors):]
    assert extra
    assert all(a.note == "organisation of the sample study" for a in extra)
    assert all(re.match(r"^(lis|sao|rot|nai)\.", a.id) for a in extra)
    assert registry_to_yaml(repo) == REPO_REGISTRY.read_text(encoding="utf-8")


def test_actor_registry_repository_copy_names_every_sample_organisation():
    repo = load_registry(REPO_REGISTRY)
    by_name = {}
    for actor in repo.actors:
        for name in actor.names:
            by_name.setdefault(fold_key(name), set()).add(actor.id)
    sample = yaml.safe_load(SAMPLE_ACTORS.read_text(encoding="utf-8"))["actors"]
    for name, info in sample.items():
        ids = by_name.get(fold_key(name))
        assert ids and len(ids) == 1, name
        actor = next(a for a in repo.actors if a.id in ids)
        assert (actor.category, actor.sector) == (info["category"], info["sector"]), name
        for alias in info.get("aliases", []):
            if alias not in SAMPLE_WORDINGS_LEFT_TO_CONTEXT:
                assert by_name.get(fold_key(alias)) == ids, alias


def test_actor_registry_default_follows_the_study_conventions():
    for actor in load_registry().actors:
        assert actor.category in CATEGORIES
        if actor.category == "international_organization":
            assert actor.sector == "third", actor.id


@pytest.mark.parametrize("edit, code, yaml_path", [
    (lambda d: d["actors"].append(dict(d["actors"][0], name="Other")), "CQ303", "actors[2].id"),
    (lambda d: d["actors"][1].update(parent="nowhere"), "CQ304", "actors[1].parent"),
    (lambda d: d["actors"][0].update(parent="city.welcome"), "CQ305", "actors[0].parent"),
    (lambda d: d["actors"][1].update(parent="city.welcome"), "CQ305", "actors[1].parent"),
    (lambda d: d["actors"][1].update(aliases=["TCC"]), "CQ306", "actors[1].aliases[0]"),
    (lambda d: d["actors"][1].update(aliases=["testville city council!"]), "CQ306",
     "actors[1].aliases[0]"),
    (lambda d: d["actors"][1].update(category="journalist"), "CQ307", "actors[1].category"),
    (lambda d: d["actors"][1].pop("name"), "CQ302", "actors[1]"),
    (lambda d: d["actors"][1].update(id="Welcome Office"), "CQ302", "actors[1].id"),
    (lambda d: d["actors"][1].update(website="x"), "CQ302", "actors[1].website"),
    (lambda d: d["actors"][1].update(sector="state"), "CQ302", "actors[1].sector"),
    (lambda d: d.update(version=2), "CQ302", "version"),
])
def test_actor_registry_validation_failures_name_their_yaml_path(tmp_path, edit, code,
                                                                 yaml_path):
    data = yaml.safe_load(VALID)
    edit(data)
    path = write(tmp_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    problems = [p for p in check_registry(path) if p.code == code]
    assert problems, check_registry(path)
    assert problems[0].fields["yaml_path"] == yaml_path
    assert problems[0].fields["line"] >= 1
    with pytest.raises(CityQDAError) as error:
        load_registry(path)
    assert code in {p.code for p in error.value.problems}
    assert error.value.exit_code == 1


@pytest.mark.parametrize("edit, code", [
    (lambda d: d["actors"][1].update(category="business"), "CQ350"),
    (lambda d: d["actors"][0]["aliases"].append("Testville city council"), "CQ351"),
])
def test_actor_registry_warnings_do_not_stop_loading(tmp_path, edit, code):
    data = yaml.safe_load(VALID)
    edit(data)
    path = write(tmp_path, yaml.safe_dump(data, sort_keys=False))
    assert [p.code for p in check_registry(path)] == [code]
    assert len(load_registry(path).actors) == 2


def test_actor_registry_same_name_in_two_cities_is_allowed(tmp_path):
    data = yaml.safe_load(VALID)
    data["actors"].append({"id": "other.welcome", "name": "Welcome Office",
                           "category": "policy_maker", "sector": "public", "city": "Otherton"})
    assert check_registry(write(tmp_path, yaml.safe_dump(data))) == []


@pytest.mark.parametrize("content, code, problem", [
    (b"actors: [\n", "CQ301", "not valid YAML"),
    (b"version: 1\nversion: 1\nactors: []\n", "CQ301", "written twice"),
    (b"\xff\xfe\x00", "CQ301", "not UTF-8"),
    (b"just some text\n", "CQ302", "must be a mapping"),
])
def test_actor_registry_unreadable_files(tmp_path, content, code, problem):
    path = tmp_path / "actors.yaml"
    path.write_bytes(content)
    problems = check_registry(path)
    assert [p.code for p in problems] == [code]
    assert problem in problems[0].message


def test_actor_registry_missing_file(tmp_path):
    problems = check_registry(tmp_path / "none.yaml")
    assert [p.code for p in problems] == ["CQ301"]
    assert "file not found" in problems[0].message


def test_actor_registry_writer_quotes_what_yaml_needs(tmp_path):
    registry = Registry(actors=(RegistryActor(
        "x", "Fundação: Apoio #1", "civil_society", "third", aliases=("A, B", "yes", "'q'"),
        city="São Paulo", note="- dash"),))
    text = registry_to_yaml(registry)
    path = write(tmp_path, text)
    assert load_registry(path).actors == registry.actors


def _registry():
    return Registry(actors=(
        RegistryActor("city", "City of Testville", "policy_maker", "public", city="Testville"),
        RegistryActor("ngo", "Help Now", "civil_society", "third", city="Testville"),
    ))


def test_actor_registry_export_merges_review_decisions():
    reviewed = [
        ReviewedActor("1", "Help Now", "civil_society", "third", "confirmed", city="Testville",
                      registry_id="ngo", aliases=("HelpNow",)),
        ReviewedActor("2", "Bakery Sol Ltd", "business", "private", "confirmed",
                      city="Testville"),
        ReviewedActor("3", "Sol Bakery", "business", "private", "merged_into:2",
                      city="Testville"),
        ReviewedActor("4", "Welcome Desk", "policy_maker", "public", "confirmed",
                      city="Testville", parent="city"),
        ReviewedActor("5", "Mistaken Name", "civil_society", "third", "rejected"),
        ReviewedActor("6", "Undecided", "civil_society", "third", "suggested"),
        ReviewedActor("7", "City of Testville", "practitioner", "public", "confirmed",
                      city="Testville", registry_id="city"),
    ]
    exported = export_registry(_registry(), reviewed)
    by_id = {a.id: a for a in exported.actors}
    assert [a.id for a in exported.actors] == ["city", "ngo", "bakery_sol_ltd", "welcome_desk"]
    assert by_id["ngo"].aliases == ("HelpNow",)
    assert by_id["bakery_sol_ltd"].aliases == ("Sol Bakery",)
    assert by_id["welcome_desk"].parent == "city"
    assert by_id["city"].category == "practitioner"  # the reviewed category wins
    assert export_registry(_registry(), reversed(reviewed)) == exported  # order-independent
    assert export_registry(_registry(), []).actors == _registry().actors


def test_actor_registry_export_reads_the_store(study_dir):
    from sqlalchemy import insert

    from pipeline.store import open_store
    from pipeline.store.schema import actors

    store = open_store(study_dir / "cityqda.sqlite", warn_location=False)
    try:
        with store.write() as conn:
            conn.execute(insert(actors).values(
                id=1, city="", name="UNHCR", norm_name="unhcr",
                category="international_organization", sector="third", origin="registry",
                review_status="confirmed"))
            conn.execute(insert(actors).values(
                id=2, city="Testville", name="Casa Nova", norm_name="casa nova",
                category="civil_society", sector="third", origin="rule",
                aliases=json.dumps(["Casa"]), review_status="confirmed"))
        with store.read() as conn:
            reviewed = reviewed_actors_from_store(conn, load_registry())
    finally:
        store.close()
    assert [(r.key, r.registry_id, r.status) for r in reviewed] == [
        ("1", "unhcr", "confirmed"), ("2", None, "confirmed")]
    assert reviewed[1].aliases == ("Casa",) and reviewed[1].city == "Testville"
    exported = export_registry(load_registry(), reviewed)
    assert exported.actors[-1].name == "Casa Nova"
    assert exported.actors[:-1] == load_registry().actors


def test_actor_registry_entity_cues_are_checked(tmp_path):
    from pipeline.nlp.actors import default_cues_path, load_entity_cues

    cues = load_entity_cues()
    assert cues.kinds and cues.default == ("civil_society", "third")
    data = yaml.safe_load(default_cues_path().read_text(encoding="utf-8"))
    data["kinds"][0]["phrases"] = ["{unbalanced"]
    data["partnership_cues"][0]["kind"] = "sometimes"
    path = tmp_path / "cues.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CityQDAError) as error:
        load_entity_cues(path)
    assert {p.code for p in error.value.problems} == {"CQ311"}
    assert "partnership_cues[0].kind" in error.value.problems[0].fields["location"]


def test_actor_registry_common_words_match_their_source():
    from pipeline.nlp.actors import COMMON_WORDS_NAME, common_words_text

    shipped = (Path(default_registry_path()).parents[1] / COMMON_WORDS_NAME).read_text(
        encoding="utf-8")
    assert shipped == common_words_text()


@pytest.mark.parametrize("text, city, expected", [
    ("International Mobility and Integration Organisation (IMIO)", None,
     "lis.imio"),
    ("Lisbon City Council – Department of Social Development", "Lisbon",
     "lisbon_city_council"),
    ("UNHCR", None, "unhcr"),
    ("A bakery nobody knows", None, None),
    (None, None, None),
])
def test_actor_registry_finds_an_interviewee_organisation(text, city, expected):
    from pipeline.nlp.registry import find_actor

    found = find_actor(load_registry(REPO_REGISTRY), text, city)
    assert (found.id if found else None) == expected
