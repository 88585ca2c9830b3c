"""The sample study: Word transcripts, register and answer key stay consistent and rebuildable.

The transcripts are read here with a small XML reader of our own (not the ingest package), so
the answer key is checked against the files independently of the code it helps to develop.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import docx
import openpyxl
import pytest
import yaml
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "transcripts_sample"
REGISTER = ROOT / "register.xlsx"
LABELS = ROOT / "tests" / "data" / "sample_labels.yaml"
BUILD_SCRIPT = ROOT / "scripts" / "build_sample_study.py"

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FILE_NAME = re.compile(r"^([A-Z]{3})-(PM|PR|BU|CS|IO)-(\d{2})\.docx$")
CATEGORIES = {"PM": "policy_maker", "PR": "practitioner", "BU": "business",
              "CS": "civil_society", "IO": "international_organization"}
DIMENSIONS = {"social", "cultural_religious", "economic", "political", "legal"}
CHALLENGES = {"language", "housing", "discrimination", "funding", "monitoring_evaluation",
              "knowledge_sharing", "terminology"}
PARTNERSHIP_TYPES = {"public_private", "third_actor_private", "third_actor_public", "other"}
OUTCOMES = {"no_reply", "declined", "replied_not_interviewed", "interviewed"}

TRANSCRIPT_FILES = sorted(TRANSCRIPTS.glob("*.docx"))


def paragraph_text(paragraph) -> str:
    """Text of a w:p as a reader sees it: tracked insertions in, tracked deletions out."""
    parts = []
    for node in paragraph.iter(f"{W}t"):
        if any(ancestor.tag == f"{W}del" for ancestor in node.iterancestors()):
            continue
        parts.append(node.text or "")
    return "".join(parts)


def body_blocks(path: Path) -> list[str]:
    """Paragraph and table-cell texts of the document body, in document order."""
    with zipfile.ZipFile(path) as package:
        root = etree.fromstring(package.read("word/document.xml"))
    body = root.find(f"{W}body")
    texts = []

    def walk(container):
        for child in container:
            if child.tag == f"{W}p":
                texts.append(paragraph_text(child))
            elif child.tag == f"{W}tbl":
                for row in child.iter(f"{W}tr"):
                    for cell in row.iter(f"{W}tc"):
                        walk(cell)

    walk(body)
    return texts


def package_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;:])\s+", text) if s]


def normalised(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.casefold()).split())


@pytest.fixture(scope="module")
def labels() -> list[dict]:
    return yaml.safe_load(LABELS.read_text(encoding="utf-8"))["segments"]


@pytest.fixture(scope="module")
def labels_by_file(labels) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for entry in labels:
        grouped[entry["file"]].append(entry)
    return grouped


@pytest.fixture(scope="module")
def register_rows() -> tuple[list[dict], list[dict]]:
    workbook = openpyxl.load_workbook(REGISTER, read_only=True)
    sheets = {}
    for name in ("register", "cities"):
        rows = list(workbook[name].iter_rows(values_only=True))
        header = rows[0]
        sheets[name] = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    workbook.close()
    return sheets["register"], sheets["cities"]


def test_sample_study_has_enough_files_cities_and_categories():
    names = [path.name for path in TRANSCRIPT_FILES]
    matches = [FILE_NAME.match(name) for name in names]
    assert all(matches), [n for n, m in zip(names, matches, strict=True) if not m]
    assert len(names) >= 18
    assert len({m.group(1) for m in matches}) >= 3
    assert {CATEGORIES[m.group(2)] for m in matches} == set(CATEGORIES.values())


@pytest.mark.parametrize("path", TRANSCRIPT_FILES, ids=lambda p: p.name)
def test_sample_study_transcript_opens_with_python_docx(path):
    document = docx.Document(str(path))
    assert document.paragraphs


@pytest.mark.parametrize("path", TRANSCRIPT_FILES, ids=lambda p: p.name)
def test_sample_study_transcript_length_is_600_to_1500_words(path):
    words = sum(len(text.split()) for text in body_blocks(path))
    assert 600 <= words <= 1500, f"{path.name}: {words} words"


def test_sample_study_every_label_text_is_a_segment_of_its_file(labels_by_file):
    assert set(labels_by_file) == {path.name for path in TRANSCRIPT_FILES}
    for name, entries in labels_by_file.items():
        blocks = body_blocks(TRANSCRIPTS / name)
        position = 0
        for entry in entries:
            assert entry["text"] in blocks, f"{name}: not a paragraph or cell: {entry['text']!r}"
            # the key follows document order
            position = blocks.index(entry["text"], position) + 1


def test_sample_study_key_keeps_insertions_and_drops_deletions(labels_by_file):
    files_with_revisions = 0
    for path in TRANSCRIPT_FILES:
        root = etree.fromstring(package_parts(path)["word/document.xml"])
        revised = [p for p in root.iter(f"{W}p")
                   if p.find(f".//{W}ins") is not None or p.find(f".//{W}del") is not None]
        if not revised:
            continue
        files_with_revisions += any(p.find(f".//{W}del") is not None for p in revised)
        key_texts = {entry["text"] for entry in labels_by_file[path.name]}
        for paragraph in revised:
            as_read = paragraph_text(paragraph)
            with_deletions = "".join(
                node.text or "" for node in paragraph.iter(f"{W}t", f"{W}delText"))
            without_insertions = "".join(
                node.text or "" for node in paragraph.iter(f"{W}t", f"{W}delText")
                if not any(a.tag == f"{W}ins" for a in node.iterancestors()))
            assert as_read in key_texts, f"{path.name}: {as_read!r}"
            if with_deletions != as_read:
                assert with_deletions not in key_texts
            if without_insertions != as_read:
                assert without_insertions not in key_texts
    assert files_with_revisions >= 2


def test_sample_study_no_two_files_share_a_sentence(labels_by_file):
    owner = {}
    for name, entries in sorted(labels_by_file.items()):
        for entry in entries:
            for sentence in sentences(entry["text"]):
                key = normalised(sentence)
                if len(key.split()) < 6:
                    continue
                assert owner.setdefault(key, name) == name, (
                    f"sentence shared by {owner[key]} and {name}: {sentence!r}")


def test_sample_study_labels_use_the_study_vocabularies(labels):
    types_seen, sizes = set(), set()
    for entry in labels:
        assert set(entry["dimensions"]) <= DIMENSIONS
        assert set(entry["challenges"]) <= CHALLENGES
        for key in ("negated", "hypothetical", "planned"):
            for phrase in entry[key]:
                assert phrase in entry["text"]
        for actor in entry["actors"]:
            assert actor["category"] in CATEGORIES.values()
            assert actor["sector"] in {"public", "private", "third"}
            assert actor["mention"] in entry["text"]
        for initiative in entry["initiatives"]:
            assert initiative["status"] in {"existing", "planned", "ended"}
            assert set(initiative["dimensions"]) <= DIMENSIONS
        for partnership in entry["partnerships"]:
            assert partnership["type"] in PARTNERSHIP_TYPES
            assert partnership["status"] in {"existing", "ended", "planned", "desired"}
            types_seen.add(partnership["type"])
            sizes.add(len(partnership["parties"]))
    assert types_seen == PARTNERSHIP_TYPES
    assert max(sizes) >= 3
    assert {d for entry in labels for d in entry["dimensions"]} == DIMENSIONS
    assert {c for entry in labels for c in entry["challenges"]} == CHALLENGES


def test_sample_study_uses_all_three_metadata_conventions():
    conventions = set()
    for path in TRANSCRIPT_FILES:
        parts = package_parts(path)
        root = etree.fromstring(parts["word/document.xml"])
        first = root.find(f"{W}body")[0]
        if first.tag == f"{W}tbl" and len(first.find(f"{W}tr").findall(f"{W}tc")) == 2:
            conventions.add("table")
        if any(re.match(r"^(Organi[sz]ation|City): \S", text) for text in body_blocks(path)):
            conventions.add("lines")
        core = docx.Document(str(path)).core_properties
        if re.search(r"City: [^;]+;", core.comments or ""):
            conventions.add("properties")
    assert conventions == {"table", "lines", "properties"}


def test_sample_study_has_comments_headers_footers_and_a_footnote():
    comments = headers = footnotes = 0
    for path in TRANSCRIPT_FILES:
        parts = package_parts(path)
        comments += "word/comments.xml" in parts
        footnotes += "word/footnotes.xml" in parts
        document = docx.Document(str(path))
        header = document.sections[0].header
        headers += not header.is_linked_to_previous and any(p.text for p in header.paragraphs)
    assert comments >= 2 and headers >= 2 and footnotes >= 1


def test_sample_study_register_matches_the_transcripts(register_rows):
    rows, cities = register_rows
    names = {path.name.casefold() for path in TRANSCRIPT_FILES}
    codes = {city["code"] for city in cities}
    interviewed = [row for row in rows if row["outcome"] == "interviewed"]
    listed = [row["transcript_file"].casefold() for row in interviewed]
    assert sorted(listed) == sorted(names)
    assert {row["outcome"] for row in rows} == OUTCOMES
    for row in rows:
        assert row["round"] is not None and row["city"] and row["category"]
        assert row["outcome"] in OUTCOMES
    for path in TRANSCRIPT_FILES:
        assert FILE_NAME.match(path.name).group(1) in codes
    for city in {row["city"] for row in rows}:
        contacted = [row for row in rows if row["city"] == city]
        assert len(contacted) > len([row for row in contacted if row["outcome"] == "interviewed"])


def test_sample_study_build_script_reproduces_the_committed_bytes(tmp_path):
    subprocess.run([sys.executable, str(BUILD_SCRIPT), "--out", str(tmp_path), "--quiet"],
                   check=True)

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    built = sorted((tmp_path / "transcripts_sample").glob("*.docx"))
    assert [p.name for p in built] == [p.name for p in TRANSCRIPT_FILES]
    for path in built:
        assert digest(path) == digest(TRANSCRIPTS / path.name), path.name
    assert digest(tmp_path / "register.xlsx") == digest(REGISTER)
    assert digest(tmp_path / "tests" / "data" / "sample_labels.yaml") == digest(LABELS)
