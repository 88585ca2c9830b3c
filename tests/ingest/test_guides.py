"""Interview guides: shipped YAML, validation with located problems, tolerant matching."""

import filecmp
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.errors import CityQDAError
from pipeline.ingest.guides import (
    default_guides_dir,
    guide_for,
    heading_key,
    load_guides,
    validate_guides,
)
from pipeline.study import DEFAULT_VOCABULARIES

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_GUIDES = REPO_ROOT / "interview_guides"

STUDY_SECTIONS = {
    "policy_makers": ["Introduction", "Institutional", "Policies and programmes",
                      "Partnerships", "Businesses", "Future perspectives", "Closure"],
    "practitioners": ["Introduction", "Policy/Programme/Service", "Partnerships",
                      "Future perspectives", "Closure"],
    "businesses": ["Introduction", "Institutional", "Services", "Partnerships", "Cities",
                   "Future perspectives", "Closure"],
    "third_actors": ["Introduction", "Policies and programmes", "Partnerships", "Cities",
                     "Businesses", "Future perspectives", "Closure"],
}


@pytest.fixture(scope="module")
def guides():
    return load_guides(REPO_GUIDES, DEFAULT_VOCABULARIES)


@pytest.fixture
def guide_folder(tmp_path):
    """A writable copy of the shipped guides."""
    folder = tmp_path / "guides"
    shutil.copytree(REPO_GUIDES, folder)
    return folder


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_guides_repository_copies_equal_package_defaults():
    names = sorted(p.name for p in REPO_GUIDES.glob("*.yaml"))
    assert names == ["businesses.yaml", "policy_makers.yaml", "practitioners.yaml",
                     "third_actors.yaml"]
    assert names == sorted(p.name for p in default_guides_dir().glob("*.yaml"))
    match, mismatch, errors = filecmp.cmpfiles(REPO_GUIDES, default_guides_dir(), names,
                                               shallow=False)
    assert match == names and not mismatch and not errors


def test_guides_shipped_guides_validate_cleanly():
    assert validate_guides(REPO_GUIDES, DEFAULT_VOCABULARIES) == []


def test_guides_keep_the_study_section_names_in_order(guides):
    assert list(guides) == ["policy_makers", "practitioners", "businesses", "third_actors"]
    for guide_id, titles in STUDY_SECTIONS.items():
        assert [s.title for s in guides[guide_id].sections] == titles
        assert all(section.questions for section in guides[guide_id].sections)


def test_guides_each_category_has_exactly_one_guide(guides):
    for category in DEFAULT_VOCABULARIES["categories"]:
        owners = [g.id for g in guides.values() if category in g.categories]
        assert len(owners) == 1, category
    assert guide_for(guides, "international_organization").id == "third_actors"
    assert guide_for(guides, "journalist") is None


def test_guides_to_dict_round_trips_through_the_loader(guides, tmp_path):
    for guide in guides.values():
        (tmp_path / f"{guide.id}.yaml").write_text(
            yaml.safe_dump(guide.to_dict(), sort_keys=False), encoding="utf-8")
    assert load_guides(tmp_path, DEFAULT_VOCABULARIES) == guides


# --- tolerant section matching -----------------------------------------------------------------

@pytest.mark.parametrize("heading, expected", [
    ("Policies and programmes", "Policies and programmes"),
    ("3. Policies and Programmes", "Policies and programmes"),
    ("POLICIES AND PROGRAMMES:", "Policies and programmes"),
    ("Policies & programmes", "Policies and programmes"),
    ("Policies and programs", "Policies and programmes"),
    ("Polices and programmes ", "Policies and programmes"),
    ("Future perspective", "Future perspectives"),
    ("Section 2 – Institutional", "Institutional"),
    ("Section 2: Institutional", "Institutional"),
    ("II. Institutional", "Institutional"),
    ("Part IV - Partnerships", "Partnerships"),
    ("4) Partnership", "Partnerships"),
    ("1.2 Introduction", "Introduction"),
    ("A. Introduction", "Introduction"),
    ("Intro:", "Introduction"),
    ("Closing remarks", "Closure"),
    ("Institutional [skip if respondent is a relocation company]", "Institutional"),
    ("Businesses (private sector initiatives)", "Businesses"),
])
def test_guides_match_section_tolerates_variants(guides, heading, expected):
    section = guides["policy_makers"].match_section(heading)
    assert section is not None and section.title == expected


@pytest.mark.parametrize("guide_id, heading", [
    ("policy_makers", "Partnership challenges in the city"),
    ("third_actors", "Partnership challenges in the city"),
    ("third_actors", "Partnerships with businesses"),
    ("policy_makers", "Future perspectives and closure"),
    ("businesses", "Civil society"),
    ("policy_makers", "Cities"),
    ("practitioners", "Institutional"),
    ("policy_makers", "Summary of the interview"),
    ("policy_makers", "3."),
    ("policy_makers", ""),
])
def test_guides_match_section_refuses_near_misses(guides, guide_id, heading):
    assert guides[guide_id].match_section(heading) is None


def test_guides_match_section_none_heading(guides):
    assert guides["policy_makers"].match_section(None) is None


@pytest.mark.parametrize("heading, expected", [
    ("Section 3 – Policies and programmes", "policies and programmes"),
    ("III. Cities", "cities"),
    ("Civil society", "civil society"),
    ("Partnerships", "partnerships"),
    ("2013 budget", "budget"),
])
def test_guides_heading_key_strips_numbering_only(heading, expected):
    assert heading_key(heading) == expected


def test_guides_match_section_refuses_a_tie(guide_folder):
    """A heading equally close to two sections is not guessed."""
    edit(guide_folder / "policy_makers.yaml",
         lambda d: d["sections"].insert(1, {"title": "Institutional framing",
                                            "questions": [{"text": "Anything?"}]}))
    guide = load_guides(guide_folder)["policy_makers"]
    assert guide.match_section("Institutional framework") is not None  # alias, exact
    assert guide.match_section("Institutional framin") is not None
    assert guide.match_section("Institutional frame") is None


# --- tolerant question matching ------------------------------------------------------------------

def question_text(guides, guide_id, section, index):
    return guides[guide_id].section(section).questions[index].text


@pytest.mark.parametrize("asked, section, index", [
    ("Which migration trends characterise your city, and which integration needs come "
     "with them?", "Introduction", 1),
    ("Q: Which migration trends characterize your city and which integration needs come "
     "with them?", "Introduction", 1),
    ("Q3. How visible are these policies to their target groups and to the general "
     "population?", "Policies and programmes", 3),
    ("- Is there anything else you would like to add?", "Closure", 0),
    ("What are the main integration policies and programmes for migrants and refugees "
     "currently in place in your city?", "Policies and programmes", 0),
    ("Type of partnership: contracts, funding, working together", "Partnerships", 0),
    ("What role does decentralization play in the municipality's ability to provide "
     "services for immigrants?", "Institutional", 1),
])
def test_guides_match_question_tolerates_rewording(guides, asked, section, index):
    guide = guides["policy_makers"]
    expected = question_text(guides, "policy_makers", section, index)
    assert guide.match_question(asked).text == expected
    assert guide.match_question(asked, guide.section(section)).text == expected


@pytest.mark.parametrize("asked", [
    "With whom?",
    "And then?",
    "The interviewee described the local food bank run with volunteers.",
    "Tell me about the weather in your city this summer.",
])
def test_guides_match_question_refuses_unrelated_text(guides, asked):
    assert guides["policy_makers"].match_question(asked) is None


def test_guides_match_question_uses_the_section_for_repeated_questions(guides):
    guide = guides["third_actors"]
    asked = "Do these initiatives overlap with the provision of existing services?"
    for title in ("Cities", "Businesses"):
        section = guide.section(title)
        assert guide.match_question(asked, section) in section.questions
    assert guide.match_question(asked) is not None


def test_guides_match_question_outside_the_given_section_is_none(guides):
    guide = guides["policy_makers"]
    asked = question_text(guides, "policy_makers", "Closure", 1)
    assert guide.match_question(asked, guide.section("Introduction")) is None


# --- validation problems, each located ----------------------------------------------------------

def problems_for(folder, vocabularies=DEFAULT_VOCABULARIES):
    return validate_guides(folder, vocabularies)


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, [p.render() for p in problems]
    return found


def test_guides_unknown_key_is_located(guide_folder):
    edit(guide_folder / "businesses.yaml",
         lambda d: d["sections"][2]["questions"][0].update(prob="typo for probes"))
    [problem] = only(problems_for(guide_folder), "CQ902")
    assert problem.file.endswith("businesses.yaml")
    assert problem.fields["location"].startswith("sections[2].questions[0].prob (line ")
    assert "probes" in problem.fields["problem"]


def test_guides_schema_error_names_path_and_line(guide_folder):
    path = guide_folder / "practitioners.yaml"
    edit(path, lambda d: d["sections"][1].update(title=""))
    problem = only(problems_for(guide_folder), "CQ902")[0]
    assert problem.fields["location"].startswith("sections[1].title (line ")
    line = int(problem.fields["location"].split("line ")[1].rstrip(")"))
    assert path.read_text().splitlines()[line - 1].strip().startswith("- title: ''")


def test_guides_duplicate_section_title(guide_folder):
    edit(guide_folder / "policy_makers.yaml",
         lambda d: d["sections"][4].update(title="PARTNERSHIPS ", aliases=[]))
    [problem] = only(problems_for(guide_folder), "CQ907")
    assert problem.file.endswith("policy_makers.yaml")
    assert problem.fields["location"].startswith("sections[4].title (line ")
    assert problem.fields["other"].startswith("sections[3].title (line ")


def test_guides_alias_clashing_with_another_section(guide_folder):
    edit(guide_folder / "policy_makers.yaml",
         lambda d: d["sections"][0]["aliases"].append("Closure"))
    [problem] = only(problems_for(guide_folder), "CQ907")
    assert problem.fields["location"].startswith("sections[6].title")
    assert problem.fields["other"].startswith("sections[0].aliases[6]")


def test_guides_unknown_category(guide_folder):
    edit(guide_folder / "third_actors.yaml", lambda d: d["categories"].append("journalist"))
    [problem] = only(problems_for(guide_folder), "CQ904")
    assert problem.fields["category"] == "journalist"
    assert problem.fields["location"].startswith("categories[2]")


def test_guides_category_in_no_guide(guide_folder):
    edit(guide_folder / "third_actors.yaml",
         lambda d: d.update(categories=["civil_society"]))
    [problem] = only(problems_for(guide_folder), "CQ905")
    assert problem.fields["category"] == "international_organization"


def test_guides_category_in_two_guides(guide_folder):
    edit(guide_folder / "businesses.yaml", lambda d: d["categories"].append("civil_society"))
    [problem] = only(problems_for(guide_folder), "CQ906")
    assert problem.fields["guides"] == "businesses, third_actors"


@pytest.mark.parametrize("text, fragment", [
    ("id: policy_makers\ntitle: [unclosed\n", "line"),
    ("id: a\nid: b\n", "written twice"),
    ("\tid: tabbed\n", "line"),
    ("", "the file is empty"),
    ("# only a comment\n\n", "the file is empty"),
])
def test_guides_malformed_yaml(guide_folder, text, fragment):
    (guide_folder / "policy_makers.yaml").write_text(text, encoding="utf-8")
    [problem] = only(problems_for(guide_folder), "CQ901")
    assert problem.file.endswith("policy_makers.yaml")
    assert fragment in problem.message


def test_guides_not_utf8(guide_folder):
    (guide_folder / "policy_makers.yaml").write_bytes("title: Gu\xeda".encode("latin-1"))
    [problem] = only(problems_for(guide_folder), "CQ901")
    assert "UTF-8" in problem.message


def test_guides_empty_section(guide_folder):
    edit(guide_folder / "businesses.yaml", lambda d: d["sections"][4].update(questions=None))
    [problem] = only(problems_for(guide_folder), "CQ908")
    assert problem.fields["title"] == "Cities"


def test_guides_duplicate_guide_id(guide_folder):
    shutil.copy(guide_folder / "businesses.yaml", guide_folder / "businesses_v2.yaml")
    problems = problems_for(guide_folder)
    [problem] = only(problems, "CQ903")
    assert problem.file.endswith("businesses_v2.yaml")
    assert problem.fields["other"].endswith("businesses.yaml")


def test_guides_id_outside_the_vocabulary_and_file_name(guide_folder):
    edit(guide_folder / "businesses.yaml", lambda d: d.update(id="companies"))
    problems = problems_for(guide_folder)
    assert only(problems, "CQ909")[0].fields["guide"] == "companies"
    assert only(problems, "CQ950")[0].fields["name"] == "businesses.yaml"


def test_guides_empty_and_missing_folders(tmp_path):
    assert [p.code for p in problems_for(tmp_path)] == ["CQ910"]
    assert [p.code for p in problems_for(tmp_path / "absent")] == ["CQ006"]


def test_guides_load_raises_every_error_at_once(guide_folder):
    edit(guide_folder / "businesses.yaml", lambda d: d.update(colour="red"))
    edit(guide_folder / "policy_makers.yaml", lambda d: d["sections"][1].update(questions=[]))
    with pytest.raises(CityQDAError) as info:
        load_guides(guide_folder, DEFAULT_VOCABULARIES)
    assert sorted(p.code for p in info.value.problems) == ["CQ902", "CQ908"]
    assert info.value.exit_code == 1


def test_guides_load_without_vocabularies_skips_study_checks(guide_folder):
    edit(guide_folder / "third_actors.yaml", lambda d: d["categories"].append("journalist"))
    assert "third_actors" in load_guides(guide_folder)
    with pytest.raises(CityQDAError):
        load_guides(guide_folder, DEFAULT_VOCABULARIES)


def test_guides_check_is_kept_for_the_same_bytes_only(tmp_path, monkeypatch):
    """`run` checks the guides, then ingest loads them: the second read is not parsed."""
    import pipeline.ingest.guides as guides_module

    folder = tmp_path / "guides"
    shutil.copytree(default_guides_dir(), folder)
    first = guides_module.check_guides(folder, DEFAULT_VOCABULARIES)
    reads = []
    real = guides_module._read_yaml
    monkeypatch.setattr(guides_module, "_read_yaml", lambda path: reads.append(path) or
                        real(path))
    assert guides_module.check_guides(folder, DEFAULT_VOCABULARIES) == first
    assert reads == []
    edited = sorted(folder.glob("*.yaml"))[0]
    edited.write_text(edited.read_text(encoding="utf-8").replace(
        "\nid:", "\nid: [", 1), encoding="utf-8")
    again = guides_module.check_guides(folder, DEFAULT_VOCABULARIES)
    assert reads and any(p.code == "CQ901" for p in again[1])
