"""Review export and import through the real CLI, with workbooks edited as coders edit them."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from review_helpers import build_study, edit_workbook, query, store_dump
from sqlalchemy import select

from pipeline.cli import main
from pipeline.coding.decisions import coding_statuses
from pipeline.review.workbook import read_sheet_rows
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, memos
from pipeline.study import load_study


@pytest.fixture(scope="module")
def coded_template(tmp_path_factory):
    return build_study(tmp_path_factory.mktemp("review") / "study").root


@pytest.fixture
def study(coded_template, tmp_path):
    root = tmp_path / "study"
    shutil.copytree(coded_template, root)
    return load_study(root)


def cli(runner, study, *args):
    return runner.invoke(main, ["--project", str(study.root), *args])


def export(runner, study, coder="ana", *extra):
    out = study.root / f"{coder}-{len(list(study.root.glob('*.xlsx')))}.xlsx"
    result = cli(runner, study, "review", "export", "--coder", coder, "--out", str(out),
                 *extra)
    assert result.exit_code == 0, result.stderr
    return out


NAMES = {("LIS", "social.housing"): "shelter", ("LIS", "legal.legal_aid"): "aid",
         ("LIS", "economic.employment"): "fair", ("ROT", "legal.legal_aid"): "rot_aid"}


def coding_ids(study) -> dict[str, int]:
    """shelter, aid, fair (Lisbon), rot_aid (Rotterdam) -> rule coding id."""
    from pipeline.store.schema import interviews

    rows = query(study, select(codings.c.id, codings.c.code, interviews.c.file)
                 .join(interviews, interviews.c.id == codings.c.interview_id)
                 .where(codings.c.coder == ""))
    return {NAMES[(r.file[:3], r.code)]: r.id for r in rows}


def my_decisions(study, coder="ana") -> dict[int, tuple]:
    return {r.coding_id: (r.decision, r.corrected_code, r.comment) for r in query(
        study, select(decisions).where(decisions.c.coder == coder))}


def statuses(study) -> dict[int, str]:
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return coding_statuses(conn)
    finally:
        store.close()


def test_review_export_writes_every_sheet_in_document_order(runner, study):
    path = export(runner, study)
    rows = read_sheet_rows(path, "Codings")
    ids = coding_ids(study)
    assert [r["row_id"] for r in rows] == [f"C{ids[k]}" for k in ("shelter", "aid", "fair",
                                                                 "rot_aid")]
    first = rows[0]
    assert first["segment"].startswith("LIS-PM-01 ¶")
    assert first["city"] == "Lisbon" and first["code"] == "social.housing"
    assert first["dimension"] == "social" and first["rule"] == "social.housing.p0"
    assert first["next"].startswith("A job fair")
    assert first["decision"] is None
    segments = read_sheet_rows(path, "Segments")
    assert any(r["text"] == "=SUM(A1) is how she wrote it, and @home too." for r in segments)
    meta = {r["key"]: r["value"] for r in read_sheet_rows(path, "_meta")}
    assert meta["coder"] == "ana" and meta["study"] == study.name
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames[:5] == ["Instructions", "Codings", "Segments", "Interviews",
                                 "Codebook"]
    assert wb["_meta"].sheet_state == "hidden" and wb["_lists"].sheet_state == "hidden"
    ws = wb["Codings"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert {str(v.sqref) for v in ws.data_validations.dataValidation} == {"N2:N5", "O2:O5",
                                                                       "P2:P5"}
    assert not ws.protection.sheet
    formula_text = next(c for c in wb["Segments"]["G"] if str(c.value).startswith("=SUM"))
    assert formula_text.data_type == "s"



def test_review_export_failed_record_leaves_no_workbook_and_no_record(runner, study,
                                                                     monkeypatch):
    """The record is written beside the save: a failure of either leaves neither."""
    from pipeline.review import export as export_module

    def failing(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "_record_rows", failing)
    before = store_dump(study)
    result = cli(runner, study, "review", "export", "--coder", "ana", "--out",
                 str(study.root / "failed.xlsx"))
    assert result.exit_code != 0
    assert not (study.root / "failed.xlsx").exists()
    assert store_dump(study) == before
    from pipeline.store.schema import review_exports
    assert query(study, select(review_exports)) == []

def test_review_export_and_log_to_an_unwritable_place_name_it(runner, study):
    """A file where the --out folder should be: CQ524 naming the target, exit 1, no
    traceback, no export recorded, no log file."""
    blocker = study.root / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    before = store_dump(study)
    for args in (["export", "--coder", "ana"], ["log", "--format", "jsonl"]):
        out = blocker / f"out-{args[0]}.xlsx"
        result = cli(runner, study, "review", *args, "--out", str(out))
        assert result.exit_code == 1, result.stderr
        assert f"error CQ524: {out}: " in result.stderr
        assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert store_dump(study) == before


@pytest.mark.parametrize("name", ["ana.csv", "ana.xls", "ana"])
def test_review_export_refuses_a_name_excel_would_not_open_as_a_workbook(runner, study,
                                                                        name):
    before = store_dump(study)
    result = cli(runner, study, "review", "export", "--coder", "ana", "--out",
                 str(study.root / name))
    assert result.exit_code == 2 and "error CQ525" in result.stderr
    assert not (study.root / name).exists() and store_dump(study) == before


def test_review_log_file_equals_the_printed_log(runner, study, tmp_path):
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(sheets["Codings"].ids()[0], decision="reject", comment="é ✓")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    out = tmp_path / "log folder é" / "log.jsonl"
    out.parent.mkdir()
    written = cli(runner, study, "review", "log", "--format", "jsonl", "--out", str(out))
    assert written.exit_code == 0 and "wrote 2 event(s)" in written.stderr, written.stderr
    printed = cli(runner, study, "review", "log", "--format", "jsonl")
    assert out.read_text(encoding="utf-8") == printed.stdout
    assert '"comment": "é ✓"' in printed.stdout


def test_review_import_records_accept_reject_change_discuss(runner, study):
    path = export(runner, study)
    ids = coding_ids(study)
    shelter, aid, fair, rot_aid = (f"C{ids[k]}" for k in ("shelter", "aid", "fair",
                                                          "rot_aid"))
    with edit_workbook(path) as sheets:
        codings_sheet = sheets["Codings"]
        codings_sheet.set(shelter, decision="accept", comment="clear case")
        codings_sheet.set(aid, decision="reject")
        # typed with a capital (Excel's autocorrect): code ids are lower case
        codings_sheet.set(fair, decision="change", corrected_code="Economic")
        codings_sheet.set(rot_aid, decision="discuss", comment="is this the council?")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "4 decision(s), 0 added coding(s)" in result.stderr
    got = my_decisions(study)
    assert got[int(shelter[1:])] == ("accept", None, "clear case")
    assert got[int(aid[1:])] == ("reject", None, None)
    assert got[int(fair[1:])] == ("change", "economic", None)
    assert got[int(rot_aid[1:])] == ("discuss", None, "is this the council?")
    linked = query(study, select(decisions.c.linked_coding_id)
                   .where(decisions.c.coding_id == int(fair[1:])))[0][0]
    manual = query(study, select(codings).where(codings.c.id == linked))[0]
    assert (manual.code, manual.evidence_text, manual.origin) == ("economic", "job fair",
                                                                 "coder:ana")
    status = statuses(study)
    assert status[int(shelter[1:])] == "accepted" and status[int(fair[1:])] == "rejected"
    assert status[int(rot_aid[1:])] == "disputed" and status[linked] == "accepted"
    # a re-export pre-fills this coder's decisions and comments
    again = read_sheet_rows(export(runner, study), "Codings")
    by_id = {r["row_id"]: r for r in again}
    assert by_id[shelter]["decision"] == "accept" and by_id[shelter]["comment"] == "clear case"
    assert by_id[fair]["corrected_code"] == "economic"


def test_review_import_adds_codings_from_segments_and_copied_rows(runner, study):
    path = export(runner, study)
    shelter = f"C{coding_ids(study)['shelter']}"
    segs = {r["text"]: r["row_id"] for r in read_sheet_rows(path, "Segments")}
    formula_seg = segs["=SUM(A1) is how she wrote it, and @home too."]
    aid_seg = segs["The council offers legal aid in two districts."]
    with edit_workbook(path) as sheets:
        sheets["Segments"].set(formula_seg, add_code="cultural_religious",
                               comment="whole segment")
        sheets["Segments"].set(aid_seg, add_code="POLITICAL", add_evidence="two districts",
                               add_flags="planned")
        sheets["Codings"].copy_row(shelter, code="social", comment="also social in general")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    manual = {(r.code, r.evidence_text): r for r in query(
        study, select(codings).where(codings.c.coder == "ana"))}
    assert set(manual) == {
        ("cultural_religious", "=SUM(A1) is how she wrote it, and @home too."),
        ("political", "two districts"), ("social", "night shelter")}
    assert manual[("political", "two districts")].planned == 1
    comments = {r.coding_id: r.comment for r in query(study, select(decisions))}
    assert comments[manual[("social", "night shelter")].id] == "also social in general"
    assert my_decisions(study).get(int(shelter[1:])) is None  # the original stays undecided


def test_review_import_ignores_row_order_filters_and_hidden_rows(runner, study):
    path = export(runner, study)
    ids = sorted(coding_ids(study).values())
    with edit_workbook(path) as sheets:
        sheet = sheets["Codings"]
        for coding_id, decision in zip(ids, ["accept", "reject", "accept", "discuss"],
                                       strict=True):
            sheet.set(f"C{coding_id}", decision=decision)
        sheet.reverse()
        sheet.ws.row_dimensions[3].hidden = True  # a filter hides rows; they still count
        sheet.ws.auto_filter.ref = "A1:Q5"
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert [my_decisions(study)[i][0] for i in ids] == ["accept", "reject", "accept",
                                                        "discuss"]


def test_review_import_deleted_rows_are_no_decision(runner, study):
    path = export(runner, study)
    ids = sorted(coding_ids(study).values())
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="accept")
        sheets["Codings"].delete(f"C{ids[1]}")
        sheets["Codings"].delete(f"C{ids[2]}")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "CQ530" in result.stderr and f"C{ids[1]}" in result.stderr
    assert "2 row(s) deleted (no decision)" in result.stderr
    assert my_decisions(study) == {ids[0]: ("accept", None, None)}


def test_review_import_corrects_a_flag(runner, study):
    path = export(runner, study)
    coding_id = coding_ids(study)["shelter"]
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{coding_id}", corrected_flags="hypothetical")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    row = query(study, select(decisions).where(decisions.c.coding_id == coding_id))[0]
    assert row.decision == "change"
    assert json.loads(row.corrected_flags) == {"hypothetical": True, "negated": False,
                                               "planned": False}
    manual = query(study, select(codings).where(codings.c.id == row.linked_coding_id))[0]
    assert (manual.code, manual.hypothetical, manual.counts) == ("social.housing", 1, 0)


def test_review_import_twice_changes_nothing(runner, study, tmp_path):
    path = export(runner, study)
    coding_id = coding_ids(study)["aid"]
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{coding_id}", decision="reject", comment="no")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    before = store_dump(study)
    again = cli(runner, study, "review", "import", str(path))
    assert again.exit_code == 0 and "already imported" in again.stderr
    assert store_dump(study) == before
    # a copy saved again (other bytes, same content) finds every row already so
    copy = tmp_path / "copy.xlsx"
    with edit_workbook(path, copy) as sheets:
        sheets["Codings"].ws.column_dimensions["Q"].width = 80  # a wider comment column
    third = cli(runner, study, "review", "import", str(copy))
    assert third.exit_code == 0, third.stderr
    assert "changed 0 decision(s)" in third.stderr
    assert store_dump(study)[:3] == before[:3]


@pytest.mark.parametrize("decision, exit_code, said", [
    ("reject", 0, "would change 1 decision(s)"),
    ("maybe", 1, "CQ509"),  # refused: its problems are printed, no problems file written
])
def test_review_import_dry_run_writes_nothing(runner, study, decision, exit_code, said):
    path = export(runner, study)
    coding_id = coding_ids(study)["aid"]
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{coding_id}", decision=decision)
    before = study.store_path.read_bytes()
    files_before = sorted(p.name for p in path.parent.iterdir())
    result = cli(runner, study, "review", "import", "--dry-run", str(path))
    assert result.exit_code == exit_code, result.stderr
    assert said in result.stderr
    assert study.store_path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == files_before


def _formula(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", decision="=IF(1,\"accept\")")
    return "Codings", "decision", "CQ513"


def _unknown_code(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", decision="change", corrected_code="social.shelters")
    return "Codings", "corrected_code", "CQ510"


def _edited_text(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", text="The city runs nothing.", decision="accept")
    return "Codings", "text", "CQ508"


def _duplicate_id(sheets, ids):
    sheets["Codings"].copy_row(f"C{ids[0]}")
    return "Codings", "row_id", "CQ506"


def _unknown_id(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", row_id="C99999")
    return "Codings", "row_id", "CQ507"


def _bad_decision(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", decision="maybe")
    return "Codings", "decision", "CQ509"


def _bad_flags(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", corrected_flags="negated, perhaps")
    return "Codings", "corrected_flags", "CQ511"


def _bad_evidence(sheets, ids):
    row_id = sheets["Segments"].ids()[0]
    sheets["Segments"].set(row_id, add_code="social", add_evidence="not in the text")
    return "Segments", "add_evidence", "CQ515"


def _other_study(sheets, ids):
    sheets["_meta"].ws["B3"] = "another-study"
    return "_meta", None, "CQ503"


def _other_coder(sheets, ids):
    sheets["_meta"].ws["B5"] = "ben"
    return "_meta", None, "CQ505"


def _comment_only(sheets, ids):
    sheets["Codings"].set(f"C{ids[0]}", comment="what is this?")
    return "Codings", "comment", "CQ518"


def _change_to_same_code(sheets, ids):
    codings_sheet = sheets["Codings"]
    codings_sheet.set(f"C{ids[0]}", decision="change",
                      corrected_code=codings_sheet.get(f"C{ids[0]}", "code"))
    return "Codings", "corrected_code", "CQ519"


def _cleared_id_of_copy(sheets, ids):
    codings_sheet = sheets["Codings"]
    row = codings_sheet.copy_row(f"C{ids[0]}", code="legal.legal_aid")
    codings_sheet.ws.cell(row, codings_sheet.columns["row_id"]).value = None
    return "Codings", "row_id", "CQ507"


@pytest.mark.parametrize("edit", [_formula, _unknown_code, _edited_text, _duplicate_id,
                                  _unknown_id, _bad_decision, _bad_flags, _bad_evidence,
                                  _other_study, _other_coder, _comment_only,
                                  _change_to_same_code, _cleared_id_of_copy],
                         ids=lambda f: f.__name__.strip("_"))
def test_review_import_refuses_a_bad_workbook_and_changes_nothing(runner, study, edit):
    path = export(runner, study)
    ids = sorted(coding_ids(study).values())
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[-1]}", decision="accept")  # a good row too
        sheet, column, code = edit(sheets, ids)
    before = study.store_path.read_bytes()
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 1, result.stderr
    assert code in result.stderr and f"sheet {sheet}" in result.stderr
    if column:
        assert f"column {column}" in result.stderr
    assert "nothing was imported" in result.stderr
    assert study.store_path.read_bytes() == before
    with open(path.with_name(f"{path.stem}.problems.csv"), encoding="utf-8-sig") as handle:
        listed = list(csv.DictReader(handle))
    assert [(p["code"], p["sheet"]) for p in listed if p["level"] == "error"] == [
        (code, sheet)]  # that error alone
    assert "clear the row_id" not in result.stderr  # CQ507 once advised what it refuses


@pytest.mark.parametrize("sheet", ["Codings", "Segments", "Interviews", "Initiatives",
                                   "Actors", "Partnerships"])
def test_review_import_skips_a_row_of_spaces_below_the_table(runner, study, sheet):
    path = export(runner, study)
    ids = sorted(coding_ids(study).values())
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="reject")
        ws = sheets[sheet].ws
        ws.cell(ws.max_row + 2, 3).value = "  "  # a space typed two rows below the data
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "changed 1 decision(s)" in result.stderr
    assert my_decisions(study)[ids[0]][0] == "reject"


@pytest.mark.parametrize("second, options, outcome", [
    ("discuss", [], "refused"),
    ("discuss", ["--skip-stale"], "first kept"),
    ("reject", [], "once"),
])
def test_review_import_two_workbooks_of_one_coder_deciding_one_coding(runner, study, second,
                                                                      options, outcome):
    """Together they must not silently overwrite each other: imported one by one, the
    later one would be stale."""
    first_path, second_path = export(runner, study), export(runner, study)
    target = f"C{sorted(coding_ids(study).values())[0]}"
    for path, decision in ((first_path, "reject"), (second_path, second)):
        with edit_workbook(path) as sheets:
            sheets["Codings"].set(target, decision=decision)
    before = study.store_path.read_bytes()
    result = cli(runner, study, "review", "import", *options, str(first_path),
                 str(second_path))
    decided = my_decisions(study).get(int(target[1:]), (None,))[0]
    if outcome == "refused":
        assert result.exit_code == 1
        assert f"error CQ514: {second_path}, sheet Codings, row " in result.stderr
        assert f"decides it reject in {first_path.name}" in result.stderr
        assert study.store_path.read_bytes() == before
        return
    assert result.exit_code == 0, result.stderr
    assert decided == "reject"
    assert ("1 stale row(s) skipped" in result.stderr) == (outcome == "first kept")
    from pipeline.store.schema import events
    logged = query(study, select(events.c.source).where(
        events.c.kind == "decision.set", events.c.actor == "ana",
        events.c.entity_key == target[1:]))
    assert [row.source.split()[1] for row in logged] == [first_path.name]  # written once


def test_review_import_refuses_another_coders_workbook_by_option(runner, study):
    path = export(runner, study)
    result = cli(runner, study, "review", "import", "--coder", "ben", str(path))
    assert result.exit_code == 1 and "CQ505" in result.stderr


def test_review_import_stale_rows_stop_the_import_unless_skipped(runner, study):
    ids = sorted(coding_ids(study).values())
    old = export(runner, study)
    new = export(runner, study)
    with edit_workbook(new) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="reject")
    assert cli(runner, study, "review", "import", str(new)).exit_code == 0
    # ben deciding another row never makes ana's rows stale
    ben = export(runner, study, "ben")
    with edit_workbook(ben) as sheets:
        sheets["Codings"].set(f"C{ids[1]}", decision="reject")
    assert cli(runner, study, "review", "import", str(ben)).exit_code == 0
    with edit_workbook(old) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="accept")
        sheets["Codings"].set(f"C{ids[1]}", decision="accept")
    refused = cli(runner, study, "review", "import", str(old))
    assert refused.exit_code == 1 and "CQ514" in refused.stderr
    assert f"C{ids[0]}" in refused.stderr and f"C{ids[1]}:" not in refused.stderr
    skipped = cli(runner, study, "review", "import", "--skip-stale", str(old))
    assert skipped.exit_code == 0, skipped.stderr
    assert "1 stale row(s) skipped" in skipped.stderr
    got = my_decisions(study)
    assert got[ids[0]][0] == "reject" and got[ids[1]][0] == "accept"
    assert statuses(study)[ids[1]] == "disputed"


def test_review_import_same_workbook_edited_again_is_not_stale(runner, study):
    """What an earlier import of this export wrote is not a decision made "after the
    export": the coder's second pass over the same workbook is imported."""
    target = f"C{sorted(coding_ids(study).values())[0]}"
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(target, decision="accept")
        sheets["Interviews"].set(sheets["Interviews"].ids()[0], memo="First pass.")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(target, decision="reject", comment="on second thoughts")
        sheets["Interviews"].set(sheets["Interviews"].ids()[0], memo="Second pass.")
    again = cli(runner, study, "review", "import", str(path))
    assert again.exit_code == 0, again.stderr
    assert "changed 1 decision(s), 0 added coding(s), 1 memo(s)" in again.stderr
    assert my_decisions(study)[int(target[1:])] == ("reject", None, "on second thoughts")
    assert [r.text for r in query(study, select(memos))] == ["Second pass."]


def test_review_import_superseded_coding_is_stale(runner, study):
    path = export(runner, study)
    coding_id = coding_ids(study)["aid"]
    store = open_study_store(study)
    try:
        with store.write() as conn:
            conn.execute(codings.update().where(codings.c.id == coding_id)
                         .values(produced=0))
    finally:
        store.close()
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{coding_id}", decision="accept")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 1 and "superseded" in result.stderr


def test_review_import_translates_renamed_codes(runner, study):
    from review_helpers import CODES, codebook_text, recode

    path = export(runner, study)
    coding_id = coding_ids(study)["aid"]
    codes = {("social.shelter" if k == "social.housing" else k): v for k, v in CODES.items()}
    study.path("codebook").write_text(codebook_text("1.1.0", codes, [
        {"version": "1.1.0", "kind": "renamed", "from": ["social.housing"],
         "to": ["social.shelter"]}]), encoding="utf-8")
    recode(study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{coding_id}", decision="change",
                              corrected_code="social.housing")
    result = cli(runner, study, "review", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert my_decisions(study)[coding_id] == ("change", "social.shelter", None)


def test_review_import_records_memos(runner, study):
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        interview = sheets["Interviews"].ids()[0]
        sheets["Interviews"].set(interview, memo="Long interview, mostly about housing.")
        segment = sheets["Segments"].ids()[0]
        sheets["Segments"].set(segment, comment="Check the date.")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    found = {(r.entity, r.text) for r in query(study, select(memos))}
    assert found == {("interviews", "Long interview, mostly about housing."),
                     ("segments", "Check the date.")}
    again = read_sheet_rows(export(runner, study), "Interviews")
    assert again[0]["memo"] == "Long interview, mostly about housing."


@pytest.mark.parametrize("sheet, column, entity", [("Interviews", "memo", "interviews"),
                                                   ("Segments", "comment", "segments")])
def test_review_import_memo_written_since_the_export_is_not_overwritten(runner, study,
                                                                       sheet, column, entity):
    older, newer = export(runner, study), export(runner, study)
    with edit_workbook(newer) as sheets:
        sheets[sheet].set(sheets[sheet].ids()[0], **{column: "Written second."})
    assert cli(runner, study, "review", "import", str(newer)).exit_code == 0
    with edit_workbook(older) as sheets:
        sheets[sheet].set(sheets[sheet].ids()[0], **{column: "Typed in the old copy."})
    before = study.store_path.read_bytes()
    refused = cli(runner, study, "review", "import", str(older))
    assert refused.exit_code == 1
    assert f"CQ514: {older}, sheet {sheet}, row 2, column {column}" in refused.stderr
    assert study.store_path.read_bytes() == before
    skipped = cli(runner, study, "review", "import", "--skip-stale", str(older))
    assert skipped.exit_code == 0 and "1 stale row(s) skipped" in skipped.stderr
    assert [r.text for r in query(study, select(memos).where(memos.c.entity == entity))] \
        == ["Written second."]


def test_review_import_one_workbook_given_twice_is_imported_once(runner, study):
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        segment = sheets["Segments"].ids()[0]
        sheets["Segments"].set(segment, add_code="social")
    copy = path.with_name("copy of the workbook é.xlsx")
    shutil.copyfile(path, copy)
    result = cli(runner, study, "review", "import", str(path), str(copy), str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning CQ526") == 2
    assert "changed 0 decision(s), 1 added coding(s)" in result.stderr
    assert result.stderr.count("already imported, nothing to do") == 2
    from pipeline.store.schema import review_imports
    assert len(query(study, select(review_imports))) == 1


def test_review_import_second_pass_counts_an_added_coding_once(runner, study):
    path = export(runner, study)
    coding_id = coding_ids(study)["aid"]
    with edit_workbook(path) as sheets:
        sheets["Segments"].set(sheets["Segments"].ids()[0], add_code="social")
    first = cli(runner, study, "review", "import", str(path))
    assert "changed 0 decision(s), 1 added coding(s)" in first.stderr, first.stderr
    with edit_workbook(path) as sheets:  # the coder goes on in the same workbook
        sheets["Codings"].set(f"C{coding_id}", decision="reject")
    second = cli(runner, study, "review", "import", str(path))
    assert second.exit_code == 0, second.stderr
    assert "changed 1 decision(s), 0 added coding(s)" in second.stderr
    from pipeline.store.schema import codings
    assert len(query(study, select(codings).where(codings.c.origin == "coder:ana"))) == 1


def test_review_import_two_workbooks_with_two_memos_for_one_interview(runner, study):
    paths = [export(runner, study), export(runner, study)]
    for path, text in zip(paths, ("First memo.", "Second memo."), strict=True):
        with edit_workbook(path) as sheets:
            sheets["Interviews"].set(sheets["Interviews"].ids()[0], memo=text)
    before = study.store_path.read_bytes()
    result = cli(runner, study, "review", "import", *map(str, paths))
    assert result.exit_code == 1
    assert f"CQ514: {paths[1]}, sheet Interviews, row 2, column memo" in result.stderr
    assert study.store_path.read_bytes() == before


def test_review_adjudication_shows_coders_and_settles_disputes(runner, study):
    ids = sorted(coding_ids(study).values())
    for coder, decision in (("ana", "accept"), ("ben", "reject")):
        path = export(runner, study, coder)
        with edit_workbook(path) as sheets:
            sheets["Codings"].set(f"C{ids[0]}", decision=decision, comment=f"{coder} says")
        assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    # blind double coding: ana never sees ben's decision or comment
    ana_rows = read_sheet_rows(export(runner, study, "ana"), "Codings")
    assert all("ben" not in str(v) for r in ana_rows for v in r.values())
    assert statuses(study)[ids[0]] == "disputed"
    path = export(runner, study, "pi")
    rows = read_sheet_rows(path, "Codings")
    assert [r["row_id"] for r in rows] == [f"C{ids[0]}"]
    assert rows[0]["ana: decision"] == "accept" and rows[0]["ben: comment"] == "ben says"
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids[0]}", decision="reject")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    role = query(study, select(decisions.c.role).where(decisions.c.coder == "pi"))
    assert role == [("adjudicator",)]
    assert statuses(study)[ids[0]] == "rejected"


@pytest.mark.parametrize("args, expected", [
    (["--city", "Rotterdam"], 1),
    (["--code", "legal"], 2),
    (["--sample", "1", "--seed", "3"], None),
    (["--status", "accepted"], 0),
])
def test_review_export_filters(runner, study, args, expected):
    path = export(runner, study, "ana", *args)
    rows = read_sheet_rows(path, "Codings")
    if expected is None:
        segments = read_sheet_rows(path, "Segments")
        assert len(segments) == 1
        again = read_sheet_rows(export(runner, study, "ben", *args), "Segments")
        assert [r["row_id"] for r in again] == [r["row_id"] for r in segments]
    else:
        assert len(rows) == expected


def test_review_export_refuses_unknown_filter_values(runner, study):
    result = cli(runner, study, "review", "export", "--coder", "ana", "--city", "Atlantis")
    assert result.exit_code == 2 and "CQ523" in result.stderr and "Lisbon" in result.stderr
    unknown = cli(runner, study, "review", "export", "--coder", "zoe")
    assert unknown.exit_code == 2 and "CQ005" in unknown.stderr


def test_review_export_protect_allows_filtering_only(runner, study):
    from openpyxl import load_workbook

    path = export(runner, study, "ana", "--protect")
    ws = load_workbook(path)["Codings"]
    assert ws.protection.sheet and not ws.protection.autoFilter
    assert ws.protection.sort and ws.protection.deleteRows
    assert ws["N2"].protection.locked is False and ws["G2"].protection.locked is not False


def test_review_export_only_unreviewed_leaves_out_my_decided_rows(runner, study):
    ids = coding_ids(study)
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids['shelter']}", decision="accept")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    mine = read_sheet_rows(export(runner, study, "ana", "--only-unreviewed"), "Codings")
    assert f"C{ids['shelter']}" not in {r["row_id"] for r in mine} and len(mine) == 3
    theirs = read_sheet_rows(export(runner, study, "ben", "--only-unreviewed"), "Codings")
    assert len(theirs) == 4


def _flag(study, coding_id: int, reason: str) -> None:
    """What a codebook split or a changed paragraph does to a decided coding."""
    store = open_study_store(study)
    try:
        with store.write() as conn:
            conn.execute(codings.update().where(codings.c.id == coding_id)
                         .values(needs_review=1, review_reason=reason))
    finally:
        store.close()


def test_review_flagged_coding_is_asked_again_and_confirming_it_clears_the_flag(runner, study):
    shelter = coding_ids(study)["shelter"]
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{shelter}", decision="accept", comment="clear case")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    _flag(study, shelter, "code social.housing was split in 2.0.0")
    again = export(runner, study)
    row = {r["row_id"]: r for r in read_sheet_rows(again, "Codings")}[f"C{shelter}"]
    assert row["decision"] is None and row["comment"] == "clear case"
    assert "needs review: code social.housing was split" in row["flags"]
    # left blank: nothing changes, the flag stays
    assert cli(runner, study, "review", "import", str(again)).exit_code == 0
    assert query(study, select(codings.c.needs_review)
                 .where(codings.c.id == shelter)) == [(1,)]
    # the same decision entered again is a confirmation: the flag is cleared, not stale
    with edit_workbook(again) as sheets:
        sheets["Codings"].set(f"C{shelter}", decision="accept")
    result = cli(runner, study, "review", "import", str(again))
    assert result.exit_code == 0, result.stderr
    assert query(study, select(codings.c.needs_review, codings.c.review_reason)
                 .where(codings.c.id == shelter)) == [(0, None)]
    assert my_decisions(study)[shelter] == ("accept", None, "clear case")


def test_review_adjudication_lists_decided_codings_that_need_review(runner, study):
    shelter, aid = (coding_ids(study)[k] for k in ("shelter", "aid"))
    path = export(runner, study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{shelter}", decision="accept")
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    _flag(study, shelter, "its paragraph changed")
    _flag(study, aid, "its paragraph changed")  # nobody decided it: the coders see it
    rows = read_sheet_rows(export(runner, study, "pi"), "Codings")
    assert [r["row_id"] for r in rows] == [f"C{shelter}"]
    assert rows[0]["ana: decision"] == "accept"


def _record_first_hash_format(study, path) -> int:
    """Rewrite the export record of `path` as exports made before `row_hash` recorded it
    (`content_hash` of the read-only cells as written); returns how many rows changed."""
    import sqlite3

    from pipeline.review import rows as R
    from pipeline.review.workbook import content_hash

    readonly = {R.CODINGS_SHEET: R.read_only(R.CODING_COLUMNS, R.CODER_COLUMNS),
                R.SEGMENTS_SHEET: R.read_only(R.SEGMENT_COLUMNS, R.SEGMENT_CODER_COLUMNS),
                R.INTERVIEWS_SHEET: R.read_only(R.INTERVIEW_COLUMNS,
                                                R.INTERVIEW_CODER_COLUMNS)}
    old = {(sheet, row["row_id"]): content_hash([row.get(c) for c in columns])
           for sheet, columns in readonly.items() for row in read_sheet_rows(path, sheet)}
    with sqlite3.connect(study.store_path) as conn:
        recorded = conn.execute("SELECT sheet, row_key, content_sha256 FROM "
                                "review_export_rows").fetchall()
        assert recorded and all(digest.startswith("2:") for _s, _k, digest in recorded)
        conn.executemany("UPDATE review_export_rows SET content_sha256 = ? "
                         "WHERE sheet = ? AND row_key = ?",
                         [(digest, sheet, key) for (sheet, key), digest in old.items()])
    conn.close()
    return len(old)


@pytest.mark.parametrize("edited", [False, True], ids=["as-exported", "edited-text"])
def test_review_import_checks_exports_recorded_with_the_first_hash_format(runner, study,
                                                                         edited):
    path = export(runner, study)
    assert _record_first_hash_format(study, path) > 0
    ids = coding_ids(study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids['aid']}", decision="reject")
        sheets["Codings"].set(f"C{ids['fair']}", decision="discuss", comment="why?")
        if edited:
            sheets["Codings"].set(f"C{ids['shelter']}", text="The city runs nothing.")
    before = study.store_path.read_bytes()
    result = cli(runner, study, "review", "import", str(path))
    if edited:
        assert result.exit_code == 1 and "CQ508" in result.stderr
        assert "column text" in result.stderr
        assert study.store_path.read_bytes() == before
        return
    assert result.exit_code == 0, result.stderr
    assert my_decisions(study) == {ids["aid"]: ("reject", None, None),
                                   ids["fair"]: ("discuss", None, "why?")}
    assert "2 decision(s)" in result.stderr


@pytest.mark.parametrize("edited_after_start", [False, True], ids=["same-file", "edited"])
def test_review_import_takes_the_sheets_a_command_began_parsing(runner, study,
                                                                edited_after_start):
    """`start_prefetch` (before a command's heavy imports) parses the big sheets early;
    the import uses them only while the file is the one that was parsed."""
    from pipeline.review import rows as R
    from pipeline.review import workbook as W
    from pipeline.review.importer import import_reviews

    assert W.REVIEW_BIG_SHEETS == (R.CODINGS_SHEET, R.SEGMENTS_SHEET)
    path = export(runner, study)
    ids = coding_ids(study)
    with edit_workbook(path) as sheets:
        sheets["Codings"].set(f"C{ids['aid']}", decision="reject")
    W.start_prefetch([path])
    assert path.resolve() in W._STARTED
    if edited_after_start:
        with edit_workbook(path) as sheets:
            sheets["Codings"].set(f"C{ids['fair']}", decision="accept")
    store = open_study_store(study)
    try:
        report = import_reviews(study, store, [path])
    finally:
        store.close()
    assert not W._STARTED
    expected = {ids["aid"]: ("reject", None, None)}
    if edited_after_start:
        expected[ids["fair"]] = ("accept", None, None)
    assert my_decisions(study) == expected
    assert report.changes[0].decisions == len(expected)


def _plain_only(sheets, ids):
    for coding_id, decision in zip(ids, ["accept", "reject", "discuss", "accept"],
                                   strict=True):
        sheets["Codings"].set(f"C{coding_id}", decision=decision,
                              comment="why?" if decision == "discuss" else None)


def _plain_and_an_added_coding(sheets, ids):
    _plain_only(sheets, ids)
    segment = sheets["Segments"].ids()[0]
    sheets["Segments"].set(segment, add_code="political")


def _capitalised_in_the_middle(sheets, ids):
    _plain_only(sheets, ids)
    sheets["Codings"].set(f"C{ids[1]}", decision="Reject")  # a check of its own


@pytest.mark.parametrize("edit, outcome", [(_plain_only, "keep"),
                                           (_plain_and_an_added_coding, "undo"),
                                           (_capitalised_in_the_middle, "keep")],
                         ids=lambda v: getattr(v, "__name__", v).strip("_"))
def test_review_import_early_decisions_write_what_the_import_would(runner, study, tmp_path,
                                                                  monkeypatch, edit, outcome):
    """Decisions written as the rows are read (EarlyDecisions) leave the store as the
    import without them does: kept when they are the first it writes, undone else."""
    from pipeline.review import importer
    from pipeline.review.bulk import EarlyDecisions

    path = export(runner, study)
    with edit_workbook(path) as sheets:
        edit(sheets, sorted(coding_ids(study).values()))
    shutil.copytree(study.root, tmp_path / "without")
    without = load_study(tmp_path / "without")
    ends = []
    for end in ("keep", "undo"):
        original = getattr(EarlyDecisions, end)
        monkeypatch.setattr(EarlyDecisions, end, lambda self, _o=original, _e=end: (
            ends.append(_e), _o(self))[1])
    assert cli(runner, study, "review", "import", str(path)).exit_code == 0
    assert ends == [outcome]
    validate = importer._validate
    monkeypatch.setattr(importer, "_validate",
                        lambda *args, **kwargs: validate(*args, **{**kwargs, "early": False}))
    result = cli(runner, without, "review", "import", str(without.root / path.name))
    assert result.exit_code == 0, result.stderr
    assert ends == [outcome]

    def timeless(study):
        return [[{k: v for k, v in row._mapping.items()
                  if k not in ("time", "created_at", "updated_at", "imported_at")}
                 for row in table]
                for table in store_dump(study)]
    assert timeless(study) == timeless(without)
