"""`export qdpx` from a real store: statuses and coders, round trip of every selection,
cases, sets, notes, schema validity, byte-identical reruns, stable GUIDs."""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter

import pytest
from exchange_projects import PROJECT_XSD, schema
from lxml import etree
from sqlalchemy import select, update
from store_study import build_coded_study, segment_containing

from pipeline.cli import main
from pipeline.coding.decisions import add_manual_coding, coding_statuses, set_decision
from pipeline.exchange.from_store import (
    RULES_USER_NAME,
    UNREVIEWED_USER_NAME,
    export_qdpx,
    interview_variables,
    study_project,
)
from pipeline.exchange.qdpx_reader import read_qdpx
from pipeline.exchange.qdpx_writer import write_qdpx
from pipeline.store import open_study_store
from pipeline.store.schema import codings
from pipeline.study import load_study

# evidence -> [(coder, role, decision, comment)]
DECISIONS = {
    "night shelter": [("ana", "coder", "accept", "Runs all year."), ("ben", "coder", "accept",
                                                                      None)],
    "language courses": [("ana", "coder", "reject", "Only a plan; «não» yet.")],
    "legal aid": [("ana", "coder", "accept", None),
                  ("ben", "coder", "reject", "The NGO, not the city 🙂")],
    "affordable housing": [("ana", "coder", "reject", None), ("pi", "adjudicator", "accept",
                                                              "Clearly a challenge.")],
    "mentoring programme": [("ben", "coder", "discuss", "Mentoring or jobs?")],
    "classes in Portuguese": [("ben", "coder", "reject", None)],
}
# (coder, text the span starts with, text it ends with, code, comment)
MANUAL = [
    ("ben", "👩🏽‍💼", "We run", "social.connecting_people", "The whole offer,\r\nacross lines."),
    ("ana", "Q\u0303ue", "Z\u0327\u0301", "cultural_religious.intercultural", None),
]


def _review(study) -> dict[str, int]:
    """Decisions and manual codings as listed above; returns evidence -> coding id."""
    store = open_study_store(study)
    try:
        with store.write() as conn:
            rows = conn.execute(select(codings.c.id, codings.c.evidence_text)).all()
            by_evidence = {r.evidence_text: r.id for r in rows}
            missing = sorted(set(DECISIONS) - set(by_evidence))
            assert not missing, f"the coder no longer suggests {missing}; adapt the fixture"
            for evidence, decided in DECISIONS.items():
                for coder, role, decision, comment in decided:
                    set_decision(conn, by_evidence[evidence], coder, decision, comment,
                                 source="test", role=role)
            for coder, first, last, code, comment in MANUAL:
                seg = segment_containing(conn, first)
                start = seg.start + seg.text.index(first)
                end = seg.start + seg.text.index(last) + len(last)
                coding_id = add_manual_coding(conn, seg.id, code, coder, start, end,
                                              source="test", comment=comment)
                by_evidence[seg.text[start - seg.start:end - seg.start]] = coding_id
            return by_evidence
    finally:
        store.close()


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    study = build_coded_study(tmp_path_factory.mktemp("qdpx") / "study")
    ids = _review(study)
    return study, ids


@pytest.fixture
def study_copy(reviewed, tmp_path):
    study, ids = reviewed
    target = tmp_path / "study"
    shutil.copytree(study.root, target)
    return load_study(target), ids


def _export(study, path, **options):
    store = open_study_store(study)
    try:
        return export_qdpx(study, store, out=path, **options)
    finally:
        store.close()


def _statuses(study) -> dict[int, str]:
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return coding_statuses(conn)
    finally:
        store.close()


def _store_codings(study) -> dict[int, tuple]:
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return {r.id: r for r in conn.execute(select(codings))}
    finally:
        store.close()


@pytest.fixture(scope="module")
def exported(reviewed, tmp_path_factory):
    study, ids = reviewed
    path = tmp_path_factory.mktemp("out") / "study.qdpx"
    result = _export(study, path)
    return study, ids, path, result, read_qdpx(path)


def test_from_store_every_selection_is_its_coded_evidence(exported):
    study, _ids, _path, result, back = exported
    assert not back.problems
    texts = {s.key: s for s in back.project.sources}
    evidence = Counter(r.evidence_text for r in _store_codings(study).values())
    assert back.project.selections, "nothing was exported"
    for sel in back.project.selections:
        piece = texts[sel.source].text[sel.start:sel.end]
        assert evidence[piece] > 0, piece
    slices = {texts[s.source].text[s.start:s.end] for s in back.project.selections}
    # spans over emoji, stacked combining marks and a CR LF kept their exact characters
    assert any("👩🏽\u200d💼" in s and "\r\nWe run" in s for s in slices)
    assert "Q\u0303ue Z\u0327\u0301" in slices
    assert not result.problems


def test_from_store_sources_are_the_stored_plain_text(exported):
    study, _ids, path, _result, back = exported
    with zipfile.ZipFile(path) as archive:
        members = [n for n in archive.namelist() if n != "project.qde"]
        raw = [archive.read(n) for n in members]
    assert all(n.startswith("sources/") and n.endswith(".txt") for n in members)
    assert not any(data.startswith(b"\xef\xbb\xbf") for data in raw)  # no BOM
    assert any(b"\r\n" in data for data in raw)
    names = sorted(s.name for s in back.project.sources)
    assert names == ["LIS-PM-01", "SAO-CS-01"]


def test_from_store_users_and_who_holds_each_coding(exported):
    study, ids, _path, _result, back = exported
    project = back.project
    users = {u.key: u.name for u in project.users}
    assert sorted(users.values()) == sorted(["Ana Sousa", "Ben de Vries", "Pia Ilunga",
                                             RULES_USER_NAME, UNREVIEWED_USER_NAME])
    texts = {s.key: s.text for s in project.sources}
    held: dict[str, set[str]] = {}
    for sel in project.selections:
        held.setdefault(texts[sel.source][sel.start:sel.end], set()).add(users[sel.coder])
    assert held["night shelter"] == {"Ana Sousa", "Ben de Vries"}  # accepted by both
    assert held["legal aid"] == {"Ana Sousa"}  # disputed: under the coder who accepted
    assert held["affordable housing"] == {"Pia Ilunga"}  # the adjudicator's ruling
    assert held["mentoring programme"] == {UNREVIEWED_USER_NAME}  # only discussed
    assert held["job training"] == {UNREVIEWED_USER_NAME}  # nobody decided
    assert "language courses" not in held and "classes in Portuguese" not in held  # rejected
    manual = next(s for s in held if s.startswith("👩🏽"))
    assert held[manual] == {"Ben de Vries"}
    by_creator = {users[s.created_by] for s in project.selections
                  if texts[s.source][s.start:s.end] == "job training"}
    assert by_creator == {RULES_USER_NAME}


def test_from_store_counts_follow_the_derived_statuses(exported):
    study, _ids, _path, result, back = exported
    statuses = Counter(_statuses(study).values())
    assert result.codings == {k: statuses[k] for k in ("accepted", "disputed", "suggested")
                              if statuses[k]}
    assert result.left_out == {"rejected": statuses["rejected"]}
    # one selection per accepting coder of accepted codings
    assert result.selections == len(back.project.selections)
    assert result.selections > sum(result.codings.values())


def test_from_store_notes_carry_evidence_flags_rules_and_comments(exported):
    _study, _ids, _path, _result, back = exported
    project = back.project
    users = {u.key: u.name for u in project.users}
    texts = {s.key: s.text for s in project.sources}
    notes = {}
    for sel in project.selections:
        notes.setdefault(texts[sel.source][sel.start:sel.end], []).extend(sel.notes)
    shelter = [n.text for n in notes["night shelter"]]
    assert any(t.startswith("Evidence: night shelter") and "Suggested by rule" in t
               and "Status: accepted" in t for t in shelter)
    comment = next(n for n in notes["night shelter"] if n.text == "Runs all year.")
    assert users[comment.created_by] == "Ana Sousa"
    legal = "\n".join(n.text for n in notes["legal aid"])
    assert "Status: disputed" in legal and "ben (coder) reject" in legal
    assert "The NGO, not the city 🙂" in legal
    manual = next(v for k, v in notes.items() if k.startswith("👩🏽"))
    assert any("Coded by hand by ben" in n.text for n in manual)
    # a comment's CR LF survives (written escaped, read back as is)
    assert any(n.text == "The whole offer,\r\nacross lines." for n in manual)


def test_from_store_cases_variables_and_sets(exported):
    _study, _ids, _path, _result, back = exported
    project = back.project
    cases = {c.name: c for c in project.cases}
    assert sorted(cases) == ["LIS-PM-01", "SAO-CS-01"]
    sao = cases["SAO-CS-01"].variables
    assert sao["city"] == "São Paulo" and sao["stakeholder_category"] == "civil_society"
    assert sao["file"] == "SAO-CS-01.docx" and sao["transcript_version"] == 1
    sources = {s.key: s.name for s in project.sources}
    assert [sources[k] for k in cases["SAO-CS-01"].sources] == ["SAO-CS-01"]
    sets = {s.name: sorted(sources[k] for k in s.sources) for s in project.sets}
    assert sets == {"City: Lisbon": ["LIS-PM-01"], "City: São Paulo": ["SAO-CS-01"],
                    "Category: policy_maker": ["LIS-PM-01"],
                    "Category: civil_society": ["SAO-CS-01"]}


def test_from_store_code_tree_has_dimensions_and_a_challenge_branch(exported):
    _study, _ids, _path, _result, back = exported
    roots = {c.name: c for c in back.project.codes}
    assert list(roots)[:5] == ["Social", "Cultural and religious", "Economic", "Political",
                               "Legal"]
    challenges = roots["Common challenges"]
    assert not challenges.codable
    assert "Housing" in [c.name for c in challenges.children]
    assert "Housing and accommodation" in [c.name for c in roots["Social"].children]


def test_from_store_export_validates_against_the_official_schema(exported, runner):
    _study, _ids, path, _result, _back = exported
    with zipfile.ZipFile(path) as archive:
        document = etree.fromstring(archive.read("project.qde"))
    project_schema = schema(PROJECT_XSD)
    assert project_schema.validate(document), project_schema.error_log
    result = runner.invoke(main, ["qdpx", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_from_store_accepted_only_keeps_accepted_codings(study_copy, tmp_path):
    study, _ids = study_copy
    result = _export(study, tmp_path / "accepted.qdpx", accepted_only=True)
    back = read_qdpx(tmp_path / "accepted.qdpx").project
    texts = {s.key: s.text for s in back.sources}
    held = {texts[s.source][s.start:s.end] for s in back.selections}
    assert "night shelter" in held and "affordable housing" in held
    assert "legal aid" not in held and "job training" not in held
    assert set(result.codings) == {"accepted"}
    assert UNREVIEWED_USER_NAME not in {u.name for u in back.users
                                        if any(s.coder == u.key for s in back.selections)}


def test_from_store_cli_default_path_and_byte_identical_reruns(study_copy, runner):
    study, _ids = study_copy
    args = ["--project", str(study.root), "export", "qdpx"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    path = study.root / "outputs" / "study.qdpx"
    data = path.read_bytes()
    second = runner.invoke(main, args)
    assert second.exit_code == 0
    assert path.read_bytes() == data
    assert first.stdout == ""  # the report goes to stderr
    assert "wrote" in first.stderr


def _guids(path) -> dict[str, str]:
    """Selection GUID by (selected text, coder name)."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    ns = {"q": "urn:QDA-XML:project:1.0"}
    names = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:User", ns)}
    found = {}
    for sel in root.iterfind(".//q:PlainTextSelection", ns):
        coder = names[sel.find("q:Coding", ns).get("creatingUser")]
        found[(sel.get("name"), coder)] = sel.get("guid")
    return found


def test_from_store_guids_stay_when_the_store_changes(study_copy, tmp_path):
    study, ids = study_copy
    before = _guids(_export(study, tmp_path / "before.qdpx").path)
    store = open_study_store(study)
    try:
        with store.write() as conn:
            set_decision(conn, ids["job training"], "ana", "accept", source="test")
    finally:
        store.close()
    after = _guids(_export(study, tmp_path / "after.qdpx").path)
    assert ("job training", "Ana Sousa") in after
    assert ("job training", UNREVIEWED_USER_NAME) not in after
    unchanged = {k: v for k, v in before.items() if k[0] != "job training"}
    assert unchanged and all(after[k] == v for k, v in unchanged.items())


def test_from_store_coding_off_its_text_is_left_out_with_a_warning(study_copy, tmp_path):
    study, ids = study_copy
    store = open_study_store(study)
    try:
        with store.write() as conn:  # as if the transcript moved under an unreviewed coding
            conn.execute(update(codings).where(codings.c.id == ids["job training"])
                         .values(start=codings.c.start + 1, end=codings.c.end + 1))
    finally:
        store.close()
    result = _export(study, tmp_path / "stale.qdpx")
    assert [p.code for p in result.problems] == ["CQ852"]
    assert result.problems[0].fields["coding"] == ids["job training"]
    assert result.problems[0].file == "transcripts/SAO-CS-01.docx"
    back = read_qdpx(tmp_path / "stale.qdpx").project
    texts = {s.key: s.text for s in back.sources}
    assert all(texts[s.source][s.start:s.end] != "ob training " for s in back.selections)
    assert result.left_out["not placeable"] == 1


@pytest.mark.parametrize("value, expected", [
    ({"interview_date": {"value": "2013-06-14"}}, {"interview_date": "date"}),
    ({"interview_date": {"value": "June 2013"}}, {"interview_date": "str"}),
    ({"city": {"value": None}}, {}),
    ({"city": {"value": "Málaga"}}, {"city": "str"}),
])
def test_from_store_interview_variables_typed(value, expected):
    import json

    variables = interview_variables(json.dumps(value), "X.docx", 2)
    assert variables["file"] == "X.docx" and variables["transcript_version"] == 2
    types = {k: type(v).__name__ for k, v in variables.items()
             if k not in ("file", "transcript_version")}
    assert types == expected


def test_from_store_cli_refuses_a_folder_without_a_study(tmp_path, runner):
    result = runner.invoke(main, ["--project", str(tmp_path), "export", "qdpx"])
    assert result.exit_code == 2
    assert "CQ001" in result.output
    assert not (tmp_path / "outputs").exists()


def test_from_store_study_without_interviews_exports_a_valid_project(study_dir, runner,
                                                                     tmp_path):
    out = tmp_path / "empty.qdpx"
    result = runner.invoke(main, ["--project", str(study_dir), "export", "qdpx", "--out",
                                  str(out)])
    assert result.exit_code == 0, result.output
    assert "0 source(s)" in result.stderr
    assert runner.invoke(main, ["qdpx", "check", str(out)]).exit_code == 0
    assert read_qdpx(out).project.codes  # the code tree is there to start coding with


def test_from_store_unwritable_target_is_a_clear_error(study_dir, runner, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x", encoding="utf-8")
    result = runner.invoke(main, ["--project", str(study_dir), "export", "qdpx", "--out",
                                  str(blocked / "study.qdpx")])
    assert result.exit_code == 1
    assert "CQ814" in result.stderr


def test_from_store_streamed_export_is_the_whole_project_written_at_once(study_copy, tmp_path):
    from pipeline.code_study import load_study_codebook

    study, _ids = study_copy
    streamed = _export(study, tmp_path / "streamed.qdpx")
    store = open_study_store(study)
    try:
        with store.read() as conn:
            project, tally = study_project(study, conn, load_study_codebook(study))
    finally:
        store.close()
    whole = write_qdpx(project, tmp_path / "whole.qdpx")
    assert whole.read_bytes() == streamed.path.read_bytes()
    assert tally.lines()[1:] == streamed.lines()[1:]
    assert len(project.sources) == streamed.sources == 2
