"""Initiatives, Actors and Partnerships sheets: written into a real workbook, edited as a
coder would in openpyxl, read back with calamine, checked, and applied to a real store."""

from __future__ import annotations

import json

import pytest
from entity_review_helpers import EntityTagger, build_study, entity_id, with_store
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline.errors import CityQDAError
from pipeline.review.entity_sheets import ActorsSheet, InitiativesSheet, PartnershipsSheet
from pipeline.review.sheets import ExportContext, ImportContext
from pipeline.review.workbook import new_workbook, read_sheet_rows, save_workbook
from pipeline.store.schema import (
    actors,
    entity_decisions,
    events,
    initiatives,
    partnerships,
    segments,
)

FUND = "Lisbon City Council and Banco Amigo run the Night Shelter Fund."
PROGRAMME = "Caritas and Banco Amigo run the Night Shelter Programme."
PLUGINS = (InitiativesSheet(), ActorsSheet(), PartnershipsSheet())
ROLES = {"ana": "coder", "ben": "coder", "judge": "adjudicator"}


@pytest.fixture
def study(study_dir):
    return build_study(study_dir, {"LIS-PM-01.docx": [FUND], "LIS-PM-02.docx": [PROGRAMME]},
                       tagger_factory=EntityTagger)


def export(study, coder, path, export_id=None):
    """Write the three sheets for `coder`; returns {(sheet, row_key): export row dict}."""
    export_id = export_id or f"E-{coder}"

    def write(conn):
        scope = set(conn.execute(select(segments.c.id)).scalars())
        ctx = ExportContext(conn=conn, study=study, codebook=None, coder=coder,
                            role=ROLES[coder],
                            kind="adjudication" if ROLES[coder] == "adjudicator" else "review",
                            export_id=export_id, segment_ids=scope)
        wb = new_workbook()
        records = [r for plugin in PLUGINS for r in plugin.write(wb, ctx)]
        save_workbook(wb, path)
        return {(r.sheet, r.row_key): {"entity": r.entity, "entity_id": r.entity_id,
                                       "content_sha256": r.content_sha256,
                                       "state": json.loads(json.dumps(r.state, sort_keys=True))}
                for r in records}
    return with_store(study, write)


def edit(path, sheet, changes: dict[str, dict]):
    """Type values into cells as a coder would: {row_id: {column: value}}."""
    wb = load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        row_id = row[0].value
        for column, value in changes.get(row_id, {}).items():
            row[header.index(column)].value = value
    wb.save(path)


def import_sheets(study, coder, path, export_rows, *, apply=True, export_id=None):
    """Read every sheet first; apply only when no sheet had a problem (all or nothing)."""
    export_id = export_id or f"E-{coder}"

    def run(conn):
        ctx = ImportContext(conn=conn, study=study, codebook=None, coder=coder,
                            role=ROLES[coder], export_id=export_id,
                            source=f"workbook {path.name} export {export_id}",
                            export_rows=export_rows, file=str(path))
        read = [(plugin, *plugin.read(read_sheet_rows(path, plugin.sheet), ctx))
                for plugin in PLUGINS]
        problems = [p for _plugin, _changes, found in read for p in found]
        if problems or not apply:
            return problems, 0
        return [], sum(plugin.apply(changes, ctx) for plugin, changes, _ in read)
    return with_store(study, run)


def rows_of(path, sheet):
    return {row["row_id"]: row for row in read_sheet_rows(path, sheet)}


def test_entity_sheets_export_shows_entities_with_segment_references(study, tmp_path):
    path = tmp_path / "ana.xlsx"
    export(study, "ana", path)
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    row = rows_of(path, "Initiatives")[f"I{fund}"]
    assert row["name"] == "the Night Shelter Fund" and row["city"] == "Lisbon"
    assert row["actors"] == "Banco Amigo (runs); Lisbon City Council (runs)"
    assert row["segments"] == "1" and row["mentioned_in"].startswith("LIS-PM-01 ¶")
    assert row["dimensions"] == "social" and row["status"] == "existing"
    assert row["decision"] is None and row["verdict"] is None
    bank = rows_of(path, "Actors")[f"A{entity_id(study, actors, 'Banco Amigo')}"]
    assert (bank["category"], bank["sector"], bank["segments"]) == ("business", "private", "2")
    partnership = next(iter(rows_of(path, "Partnerships").values()))
    assert partnership["type"] == "public private"
    workbook = load_workbook(path)
    assert workbook["_lists"].sheet_state == "hidden"
    validated = {str(v.sqref): v.formula1 for v in workbook["Initiatives"].data_validations
                 .dataValidation}
    assert "ratings" in validated.values() and "verdicts" in validated.values()


def test_entity_sheets_import_records_decisions_and_derives_state(study, tmp_path):
    path = tmp_path / "ana.xlsx"
    rows = export(study, "ana", path)
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    bank = entity_id(study, actors, "Banco Amigo")
    council = entity_id(study, actors, "Lisbon City Council")
    edit(path, "Initiatives", {
        f"I{fund}": {"decision": "confirm", "practicality": "met", "innovation": "partly",
                     "verdict": "good practice", "justification": "Flagship, evaluated.",
                     "dimensions": "social, economic", "comment": "-looks right"},
        f"I{programme}": {"decision": "merge", "merge_into": f"I{fund}"}})
    edit(path, "Actors", {f"A{bank}": {"decision": "confirm", "category": "civil society",
                                       "sector": "third", "parent": f"A{council}"}})
    problems, changed = import_sheets(study, "ana", path, rows)
    assert problems == [] and changed == 3
    found = with_store(study, lambda conn: conn.execute(select(initiatives).where(
        initiatives.c.id == fund)).one(), write=False)
    assert found.review_status == "confirmed"
    assert json.loads(found.ratings) == {"innovation": "partly", "practicality": "met"}
    assert (found.verdict, found.justification) == ("good_practice", "Flagship, evaluated.")
    assert json.loads(found.dimensions) == ["economic", "social"]
    merged = with_store(study, lambda conn: conn.execute(select(initiatives.c.review_status)
                        .where(initiatives.c.id == programme)).scalar_one(), write=False)
    assert merged == f"merged_into:{fund}"
    actor = with_store(study, lambda conn: conn.execute(select(actors).where(
        actors.c.id == bank)).one(), write=False)
    assert (actor.category, actor.sector, actor.parent_id) == ("civil_society", "third",
                                                              council)
    logged = with_store(study, lambda conn: conn.execute(select(events.c.source, events.c.new)
                        .where(events.c.kind == "entity_decision.set")).all(), write=False)
    assert len(logged) == 3 and all(s == "workbook ana.xlsx export E-ana" for s, _ in logged)
    comment = [json.loads(n)["comment"] for _s, n in logged if json.loads(n)["comment"]]
    assert comment == ["-looks right"]

    # the same workbook again changes nothing
    assert import_sheets(study, "ana", path, rows) == ([], 0)

    # ana's next workbook is pre-filled with her decisions; ben's shows none of them
    again = tmp_path / "ana2.xlsx"
    export(study, "ana", again)
    mine = rows_of(again, "Initiatives")[f"I{fund}"]
    assert (mine["decision"], mine["practicality"], mine["verdict"]) == \
        ("confirm", "met", "good practice")
    assert rows_of(again, "Initiatives")[f"I{programme}"]["merge_into"] == f"I{fund}"
    theirs_path = tmp_path / "ben.xlsx"
    export(study, "ben", theirs_path)
    theirs = rows_of(theirs_path, "Initiatives")
    assert theirs[f"I{fund}"]["decision"] is None and theirs[f"I{fund}"]["verdict"] is None
    assert theirs[f"I{fund}"]["dimensions"] == "social"
    assert f"I{programme}" in theirs  # merged by ana, still there for ben to decide
    ben_bank = rows_of(theirs_path, "Actors")[f"A{bank}"]
    assert (ben_bank["category"], ben_bank["found_category"]) == ("business", "business")


@pytest.mark.parametrize(("sheet", "target", "cells", "code", "column"), [
    ("Initiatives", "FUND", {"decision": "approve"}, "CQ509", "decision"),
    ("Initiatives", "FUND", {"decision": "confirm", "verdict": "good practice"}, "CQ553",
     "justification"),
    ("Initiatives", "FUND", {"decision": "confirm", "practicality": "brilliant"}, "CQ553",
     "practicality"),
    ("Initiatives", "FUND", {"decision": "confirm", "dimensions": "social, sporty"}, "CQ553",
     "dimensions"),
    ("Initiatives", "FUND", {"practicality": "met"}, "CQ550", "decision"),
    ("Initiatives", "FUND", {"decision": "merge"}, "CQ552", "merge_into"),
    ("Initiatives", "FUND", {"decision": "merge", "merge_into": "FUND"}, "CQ552",
     "merge_into"),
    ("Initiatives", "FUND", {"decision": "merge", "merge_into": "I9999"}, "CQ552",
     "merge_into"),
    ("Initiatives", "FUND", {"decision": "confirm", "merge_into": "PROG"}, "CQ552",
     "merge_into"),
    ("Initiatives", "FUND", {"name": "Another name"}, "CQ508", "name"),
    ("Initiatives", "FUND", {"row_id": "I9999"}, "CQ507", "row_id"),
    ("Actors", "BANK", {"decision": "confirm", "sector": "fourth"}, "CQ553", "sector"),
    ("Actors", "BANK", {"decision": "confirm", "parent": "A9999"}, "CQ553", "parent"),
    ("Actors", "BANK", {"decision": "confirm", "parent": "BANK"}, "CQ553", "parent"),
    ("Partnerships", "PART", {"decision": "confirm", "parties": "A9999"}, "CQ553",
     "parties"),
    # a party typed by name (no row id) was silently left out of the corrected list
    ("Partnerships", "PART", {"decision": "confirm", "parties": "BANK; Nobody Inc"}, "CQ553",
     "parties"),
])
def test_entity_sheets_bad_rows_are_located_and_nothing_applies(study, tmp_path, sheet,
                                                                target, cells, code, column):
    path = tmp_path / "ana.xlsx"
    rows = export(study, "ana", path)
    ids = {"FUND": f"I{entity_id(study, initiatives, 'Night Shelter Fund')}",
           "PROG": f"I{entity_id(study, initiatives, 'Night Shelter Programme')}",
           "BANK": f"A{entity_id(study, actors, 'Banco Amigo')}",
           "PART": "P" + str(with_store(study, lambda conn: conn.execute(
               select(partnerships.c.id)).scalars().first(), write=False))}
    cells = {k: ids.get(v, v).replace("BANK", ids["BANK"]) for k, v in cells.items()}
    edit(path, sheet, {ids[target]: cells})
    # a good row elsewhere must not be applied either
    edit(path, "Initiatives" if sheet != "Initiatives" else "Actors",
         {ids["FUND"] if sheet != "Initiatives" else ids["BANK"]: {"decision": "reject"}})
    before = with_store(study, lambda conn: conn.execute(select(events)).all(), write=False)
    problems, changed = import_sheets(study, "ana", path, rows)
    assert changed == 0
    assert [(p.code, p.sheet, p.column) for p in problems] == [(code, sheet, column)]
    assert problems[0].row == 2 or problems[0].row == 3
    assert problems[0].file == str(path)
    assert with_store(study, lambda conn: conn.execute(select(events)).all(),
                      write=False) == before


def test_entity_sheets_parent_cycle_in_one_workbook_is_refused(study, tmp_path):
    """Two rows each making the other actor its parent would write a registry that
    `cityqda actors export` cannot load back (CQ305); the import stops, nothing applied."""
    path = tmp_path / "ana.xlsx"
    rows = export(study, "ana", path)
    bank = f"A{entity_id(study, actors, 'Banco Amigo')}"
    caritas = f"A{entity_id(study, actors, 'Caritas')}"
    edit(path, "Actors", {bank: {"decision": "confirm", "parent": caritas},
                          caritas: {"decision": "confirm", "parent": bank}})
    before = with_store(study, lambda conn: conn.execute(select(actors)).all(), write=False)
    with pytest.raises(CityQDAError) as raised:
        import_sheets(study, "ana", path, rows)
    [problem] = raised.value.problems
    assert (problem.code, problem.sheet, problem.file) == ("CQ553", "Actors", str(path))
    assert "cannot be the actor itself or one of its own children" in problem.message
    assert with_store(study, lambda conn: conn.execute(select(actors)).all(),
                      write=False) == before


def test_entity_sheets_older_workbook_does_not_undo_a_later_decision(study, tmp_path):
    """A row left as pre-filled is no decision to re-apply: importing an older workbook
    once reverted what the coder decided since. A row changed in it is stale (CQ514)."""
    fund = f"I{entity_id(study, initiatives, 'Night Shelter Fund')}"
    first = tmp_path / "first.xlsx"
    first_rows = export(study, "ana", first, "E-1")
    edit(first, "Initiatives", {fund: {"decision": "reject"}})
    assert import_sheets(study, "ana", first, first_rows, export_id="E-1") == ([], 1)
    older, newer = tmp_path / "older.xlsx", tmp_path / "newer.xlsx"
    older_rows = export(study, "ana", older, "E-2")  # pre-filled: reject
    newer_rows = export(study, "ana", newer, "E-3")
    edit(newer, "Initiatives", {fund: {"decision": "confirm"}})
    assert import_sheets(study, "ana", newer, newer_rows, export_id="E-3") == ([], 1)

    def decision():
        return with_store(study, lambda conn: conn.execute(
            select(entity_decisions.c.decision).where(
                entity_decisions.c.coder == "ana")).scalar_one(), write=False)

    assert import_sheets(study, "ana", older, older_rows, export_id="E-2") == ([], 0)
    assert decision() == "confirm"
    edit(older, "Initiatives", {fund: {"decision": "discuss"}})
    problems, changed = import_sheets(study, "ana", older, older_rows, export_id="E-2")
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("CQ514", "Initiatives", 2, "decision")] and changed == 0
    assert "ana decided it confirm" in problems[0].message
    assert decision() == "confirm"
    # the newer workbook edited again and re-imported is the coder's later word, not stale
    edit(newer, "Initiatives", {fund: {"decision": "discuss"}})
    assert import_sheets(study, "ana", newer, newer_rows, export_id="E-3") == ([], 1)
    assert decision() == "discuss"


def test_entity_sheets_repeated_row_id(study, tmp_path):
    path = tmp_path / "ana.xlsx"
    rows = export(study, "ana", path)
    wb = load_workbook(path)
    ws = wb["Actors"]
    ws.append([c.value for c in ws[2]])
    wb.save(path)
    problems, _ = import_sheets(study, "ana", path, rows, apply=False)
    assert [p.code for p in problems] == ["CQ506"]


def test_entity_sheets_adjudication_lists_disputes_with_each_decision(study, tmp_path):
    fund = entity_id(study, initiatives, "Night Shelter Fund")
    for coder, decision in (("ana", "confirm"), ("ben", "reject")):
        path = tmp_path / f"{coder}.xlsx"
        rows = export(study, coder, path)
        cells = {"decision": decision, "comment": f"{coder} says so"}
        if coder == "ana":
            cells.update(verdict="promising practice", justification="New idea.")
        edit(path, "Initiatives", {f"I{fund}": cells})
        assert import_sheets(study, coder, path, rows)[0] == []
    status = with_store(study, lambda conn: conn.execute(select(initiatives.c.review_status)
                        .where(initiatives.c.id == fund)).scalar_one(), write=False)
    assert status == "disputed"

    path = tmp_path / "judge.xlsx"
    rows = export(study, "judge", path)
    listed = rows_of(path, "Initiatives")
    assert list(listed) == [f"I{fund}"]
    row = listed[f"I{fund}"]
    assert row["ana: decision"] == "confirm; verdict = promising practice; " \
                                   "justification = New idea."
    assert (row["ben: decision"], row["ben: comment"]) == ("reject", "ben says so")
    assert row["review_status"] == "disputed"
    assert rows_of(path, "Actors") == {}
    edit(path, "Initiatives", {f"I{fund}": {"decision": "reject"}})
    assert import_sheets(study, "judge", path, rows) == ([], 1)
    settled = with_store(study, lambda conn: conn.execute(select(initiatives.c.review_status)
                         .where(initiatives.c.id == fund)).scalar_one(), write=False)
    assert settled == "rejected"


def test_entity_sheets_through_review_export_and_import_cli(study, runner, tmp_path):
    from pipeline.cli import main

    fund = entity_id(study, initiatives, "Night Shelter Fund")
    bank = entity_id(study, actors, "Banco Amigo")
    path = tmp_path / "ana.xlsx"
    project = ["--project", str(study.root)]
    result = runner.invoke(main, [*project, "review", "export", "--coder", "ana", "--out",
                                  str(path)])
    assert result.exit_code == 0, result.output
    assert {"Initiatives", "Actors", "Partnerships"} <= set(load_workbook(path).sheetnames)

    # one bad entity row refuses the whole workbook: the good actor row is not applied
    edit(path, "Actors", {f"A{bank}": {"decision": "reject"}})
    edit(path, "Initiatives", {f"I{fund}": {"decision": "confirm",
                                            "verdict": "good practice"}})
    refused = runner.invoke(main, [*project, "review", "import", str(path)])
    assert refused.exit_code == 1
    assert "CQ553" in refused.stderr and "sheet Initiatives" in refused.stderr
    assert "column justification" in refused.stderr
    status = with_store(study, lambda conn: conn.execute(select(actors.c.review_status)
                        .where(actors.c.id == bank)).scalar_one(), write=False)
    assert status == "suggested"

    edit(path, "Initiatives", {f"I{fund}": {"justification": "Runs well, copied elsewhere."}})
    accepted = runner.invoke(main, [*project, "review", "import", str(path)])
    assert accepted.exit_code == 0, accepted.stderr
    found = with_store(study, lambda conn: conn.execute(
        select(initiatives.c.review_status, initiatives.c.verdict)
        .where(initiatives.c.id == fund)).one(), write=False)
    assert tuple(found) == ("confirmed", "good_practice")
    assert with_store(study, lambda conn: conn.execute(select(actors.c.review_status)
                      .where(actors.c.id == bank)).scalar_one(), write=False) == "rejected"


@pytest.mark.parametrize("options", [[], ["--skip-stale"]])
def test_entity_sheets_two_workbooks_of_one_coder_in_one_import(study, runner, tmp_path,
                                                                 options):
    """Deciding one entity differently, the later must not silently win (as one by one
    it would be stale); --skip-stale keeps the first."""
    from pipeline.cli import main

    fund = f"I{entity_id(study, initiatives, 'Night Shelter Fund')}"
    project = ["--project", str(study.root)]
    paths = [tmp_path / "one.xlsx", tmp_path / "two.xlsx"]
    for path, decision in zip(paths, ("confirm", "reject"), strict=True):
        assert runner.invoke(main, [*project, "review", "export", "--coder", "ana", "--out",
                                    str(path)]).exit_code == 0
        edit(path, "Initiatives", {fund: {"decision": decision}})
    result = runner.invoke(main, [*project, "review", "import", *options,
                                  *map(str, paths)])
    status = with_store(study, lambda conn: conn.execute(select(initiatives.c.review_status)
                        .where(initiatives.c.id == int(fund[1:]))).scalar_one(), write=False)
    if options:
        assert result.exit_code == 0, result.stderr
        assert "1 stale row(s) skipped" in result.stderr and status == "confirmed"
    else:
        assert result.exit_code == 1
        assert f"CQ514: {paths[1]}, sheet Initiatives, row 2" in result.stderr
        assert status == "suggested"


def test_entity_sheets_decisions_restored_from_the_review_log(study, runner, tmp_path):
    import shutil

    from entity_review_helpers import ingest_and_code

    from pipeline.cli import main
    from pipeline.study import load_study

    fund = entity_id(study, initiatives, "Night Shelter Fund")
    programme = entity_id(study, initiatives, "Night Shelter Programme")
    bank = entity_id(study, actors, "Banco Amigo")
    path = tmp_path / "ana.xlsx"
    rows = export(study, "ana", path)
    edit(path, "Initiatives", {
        f"I{fund}": {"decision": "confirm", "sustainability": "partly",
                     "verdict": "good practice", "justification": "Ten years running."},
        f"I{programme}": {"decision": "merge", "merge_into": f"I{fund}"}})
    edit(path, "Actors", {f"A{bank}": {"decision": "confirm", "sector": "third"}})
    assert import_sheets(study, "ana", path, rows) == ([], 3)

    log = tmp_path / "log.jsonl"
    result = runner.invoke(main, ["--project", str(study.root), "review", "log", "--format",
                                  "jsonl", "--out", str(log)])
    assert result.exit_code == 0, result.stderr
    rebuilt_root = tmp_path / "rebuilt"
    shutil.copytree(study.root, rebuilt_root, ignore=shutil.ignore_patterns("cityqda.sqlite*"))
    rebuilt = load_study(rebuilt_root)
    ingest_and_code(rebuilt)
    restored = runner.invoke(main, ["--project", str(rebuilt_root), "restore", str(log)])
    assert restored.exit_code == 0, restored.stderr

    def state(target):
        def read(conn):
            from pipeline.coding.entities import norm_name

            found = {}
            for table in (initiatives, actors):
                for row in conn.execute(select(table).order_by(table.c.norm_name)):
                    status = row.review_status
                    if status.startswith("merged_into:"):
                        into = conn.execute(select(table.c.norm_name).where(
                            table.c.id == int(status.split(":")[1]))).scalar_one()
                        status = f"merged into {into}"
                    extra = ((row.verdict, row.ratings) if table is initiatives
                             else (row.sector, row.category))
                    found[(table.name, row.norm_name)] = (status, *extra)
            assert norm_name("Banco Amigo") in {k[1] for k in found}
            return found
        return with_store(target, read, write=False)
    original = state(study)
    assert original[("initiatives", "night shelter programme")][0] == \
        "merged into night shelter fund"
    assert original[("actors", "banco amigo")][:2] == ("confirmed", "third")
    assert state(rebuilt) == original


@pytest.mark.parametrize("cell, ids, problem", [
    ("A3 Associação Acolher; A6 Lisbon City Council", [3, 6], None),
    ("A3, A4", [3, 4], None),
    ("A3, 4", [3, 4], None),  # a bare number after a comma is a row id too
    ("A3 Unit 2, 4th floor; A9", [3, 9], None),  # a name's number is not
    ("A5 Ministry of Labour, Social Security; A7", [5, 7], None),
    ("A3; Nobody Inc", [3], "'Nobody Inc' names no actor row id"),
])
def test_entity_sheets_parties_cell_names_every_party_by_row_id(cell, ids, problem):
    from pipeline.review.entity_sheets import Field

    problems = []
    assert Field("parties", "parties", "actors").parse(cell, problems) == ids
    assert (problems[0].startswith(problem) if problem else problems == [])
