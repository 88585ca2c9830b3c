"""The synthetic study generator: complete, valid, varied and reproducible from its seed."""

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import docx
import pytest

from pipeline.ingest.guides import default_guides_dir, load_guides
from pipeline.ingest.register import load_register, validate_register
from pipeline.study import DEFAULT_VOCABULARIES, load_study
from pipeline.vocabulary import canonical, field_for_label, guide_for_category

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generate_study.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def study(generator, tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "study"
    summary = generator.generate_study(out, n=15, seed=7)
    return out, summary


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("cityqda.sqlite")}


def test_generate_study_same_seed_gives_identical_bytes(generator, tmp_path):
    generator.main(["--n", "8", "--seed", "3", "--out", str(tmp_path / "a")])
    generator.main(["--n", "8", "--seed", "3", "--out", str(tmp_path / "b")])
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert len([name for name in first if name.endswith(".docx")]) == 8
    assert first == second


def test_generate_study_other_seed_gives_other_texts(generator, tmp_path):
    generator.generate_study(tmp_path / "a", n=6, seed=1)
    generator.generate_study(tmp_path / "b", n=6, seed=2)
    a = (tmp_path / "a" / "transcripts" / "AKL-PM-01.docx").read_bytes()
    b = (tmp_path / "b" / "transcripts" / "AKL-PM-01.docx").read_bytes()
    assert a != b


def test_generate_study_refuses_an_existing_study(generator, study):
    from pipeline.errors import CityQDAError

    with pytest.raises(CityQDAError):
        generator.generate_study(study[0], n=2, seed=1)


def test_generate_study_is_a_study_with_a_valid_register(study):
    root, summary = study
    loaded = load_study(root)
    transcripts = sorted(p.name for p in (root / "transcripts").glob("*.docx"))
    assert len(transcripts) == summary["transcripts"] == 15
    assert validate_register(root / "register.xlsx", loaded.vocabularies,
                             transcripts_dir=root / "transcripts") == []
    register = load_register(root / "register.xlsx", loaded.vocabularies)
    interviewed = [r for r in register.rows if r.outcome == "interviewed"]
    assert sorted(r.transcript_file for r in interviewed) == transcripts
    outcomes = Counter(r.outcome for r in register.rows)
    assert set(outcomes) == set(DEFAULT_VOCABULARIES["outcomes"])
    assert {r.category for r in interviewed} == set(DEFAULT_VOCABULARIES["categories"])
    assert len(register.cities) == summary["cities"] >= 2
    assert all(register.canonical_city(r.city) for r in register.rows)
    for name in transcripts:
        assert name.startswith(register.city_code(register.row_for_file(name).city) + "-")


def test_generate_study_transcripts_follow_their_guide(study):
    root, _ = study
    register = load_register(root / "register.xlsx")
    guides = load_guides(default_guides_dir())
    for path in sorted((root / "transcripts").glob("*.docx")):
        document = docx.Document(path)
        row = register.row_for_file(path.name)
        guide = guides[guide_for_category(row.category)]
        table = document.tables[0]
        metadata = {field_for_label(r.cells[0].text): r.cells[1].text for r in table.rows}
        assert metadata["city"] == row.city
        assert canonical("categories", metadata["stakeholder_category"]) == row.category
        assert canonical("guides", metadata["interview_guide"]) == guide.id
        assert canonical("modes", metadata["mode"]) == row.mode

        sections, questions, words = [], 0, 0
        section = None
        for paragraph in document.paragraphs:
            words += len(paragraph.text.split())
            if paragraph.style.name == "Heading 1":
                section = guide.match_section(paragraph.text)
                assert section is not None, paragraph.text
                sections.append(section.title)
            elif paragraph.runs and all(run.bold for run in paragraph.runs):
                assert guide.match_question(paragraph.text, section) is not None, paragraph.text
                questions += 1
        assert sections == [s.title for s in guide.sections]
        assert questions == sum(len(s.questions) for s in guide.sections)
        assert 1500 < words < 2600
        assert len(document.tables) == 2  # metadata and one answer table
        assert document.core_properties.created.year == 2000


def test_generate_study_texts_are_varied(study):
    root, _ = study
    answers = Counter()
    corpus = []
    for path in sorted((root / "transcripts").glob("*.docx")):
        for paragraph in docx.Document(path).paragraphs:
            if paragraph.style.name == "Normal" and not all(r.bold for r in paragraph.runs):
                answers[paragraph.text] += 1
                corpus.append(paragraph.text)
    assert len(answers) / sum(answers.values()) > 0.95
    text = "\n".join(corpus)
    for pattern in (r"\bThere is no\b", r"\bplans to\b", r"\bshould\b", r"\bpartnership\b",
                    r"\bchallenge\b", r"\bwould like\b"):
        assert re.search(pattern, text), pattern
    bullets = [p for path in sorted((root / "transcripts").glob("*.docx"))
               for p in docx.Document(path).paragraphs if p.style.name == "List Bullet"]
    assert bullets


def test_generate_study_command_line_rejects_bad_n(generator, tmp_path):
    with pytest.raises(SystemExit) as info:
        generator.main(["--n", "0", "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    assert not (tmp_path / "x").exists()
