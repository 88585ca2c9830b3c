"""A second year of the sample study, end to end, with nothing lost (issue 13).

One story (benchmarks/lifecycle_demo.py) on a copy of the sample study, through the real
CLI: run; ana and ben review overlapping samples in Excel and disagree; pi adjudicates;
round 2 adds a city, overrides a metadata value, fixes a typo and inserts a paragraph,
retires an interview, renames/merges/splits/retires codes, merges two initiatives and
corrects an actor's category; run again. The tests check the outcome against what the
story did and against counts made here straight from the store and the register.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "refi-qda"
_spec = importlib.util.spec_from_file_location("lifecycle_demo",
                                               REPO_ROOT / "benchmarks" / "lifecycle_demo.py")
demo = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("lifecycle_demo", demo)
_spec.loader.exec_module(demo)

TABLES = "tables-accepted-all-rounds"
RENAMES = {demo.RENAMED[0]: demo.RENAMED[1],
           **{code: demo.MERGED[1] for code in demo.MERGED[0] if code != demo.MERGED[1]}}
FLAGGED_CODES = {demo.SPLIT[0], demo.RETIRED_CODE}


# --- reading the store as it is, without the package -------------------------------------

def connect(root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(root / "cityqda.sqlite")
    conn.row_factory = sqlite3.Row
    return conn


def decision_snapshot(root: Path) -> dict[tuple, dict]:
    """Every current decision keyed by the identity of its coding: (coder, interview path,
    segment text, code, evidence, occurrence, who made the coding)."""
    with connect(root) as conn:
        rows = conn.execute("""
            SELECT d.coder, d.role, d.decision, d.corrected_code, d.comment,
                   c.code, c.evidence_text, c.occurrence, c.coder AS made_by,
                   c.needs_review, c.review_reason, s.text, i.path
            FROM decisions d JOIN codings c ON c.id = d.coding_id
            JOIN segments s ON s.id = c.segment_id JOIN interviews i ON i.id = s.interview_id
            WHERE c.merged_into IS NULL""").fetchall()
    found = {}
    for r in rows:
        key = (r["coder"], r["path"], r["text"], r["code"], r["evidence_text"],
               r["occurrence"], r["made_by"])
        assert key not in found, f"two decisions of {r['coder']} on one coding: {key}"
        found[key] = {"role": r["role"], "decision": r["decision"],
                      "corrected_code": r["corrected_code"], "comment": r["comment"],
                      "needs_review": r["needs_review"], "review_reason": r["review_reason"]}
    return found


def manual_codings(root: Path) -> set[tuple]:
    with connect(root) as conn:
        return {(r["coder"], r["path"], r["text"], r["code"], r["evidence_text"])
                for r in conn.execute("""
            SELECT c.coder, i.path, s.text, c.code, c.evidence_text FROM codings c
            JOIN segments s ON s.id = c.segment_id JOIN interviews i ON i.id = s.interview_id
            WHERE c.coder != '' AND c.merged_into IS NULL""")}


def entity_snapshot(root: Path) -> dict[tuple, dict]:
    """Entity decisions by (entity, city, normalised name, coder), merge targets by name."""
    found = {}
    with connect(root) as conn:
        names = {(t, r["id"]): r["norm_name"] for t in ("actors", "initiatives")
                 for r in conn.execute(f"SELECT id, norm_name FROM {t}")}  # noqa: S608
        for t in ("actors", "initiatives"):
            for r in conn.execute(f"""
                    SELECT e.coder, e.decision, e.merge_into, e.fields, x.city, x.norm_name,
                           x.review_status
                    FROM entity_decisions e JOIN {t} x ON x.id = e.entity_id
                    WHERE e.entity = ?""", (t,)):  # noqa: S608
                status = r["review_status"]
                if status.startswith("merged_into:"):
                    status = "merged_into:" + names[(t, int(status.split(":")[1]))]
                found[(t, r["city"], r["norm_name"], r["coder"])] = {
                    "decision": r["decision"],
                    "merge_into": names.get((t, r["merge_into"])),
                    "fields": json.loads(r["fields"]) if r["fields"] else None,
                    "status": status}
    return found


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def cell(value) -> str:
    return "" if value is None else str(value)


def status_of(decided: list[tuple[str, str]], produced: int) -> str:
    """The documented derived status (STORE_CODINGS.md), written out again here."""
    ruling = [d for role, d in decided if role == "adjudicator" and d != "discuss"]
    if ruling:
        return "accepted" if ruling[-1] == "accept" else "rejected"
    found = {"accepted" if d == "accept" else "rejected" if d in ("reject", "change")
             else "disputed" for _role, d in decided}
    if not found:
        return "suggested" if produced else "superseded"
    return found.pop() if len(found) == 1 else "disputed"


def coding_status_by_hand(conn) -> dict[int, str]:
    decided = defaultdict(list)
    for r in conn.execute("SELECT coding_id, role, decision FROM decisions "
                          "ORDER BY time, id"):
        decided[r["coding_id"]].append((r["role"], r["decision"]))
    return {r["id"]: ("merged" if r["merged_into"] else status_of(decided[r["id"]],
                                                                    r["produced"]))
            for r in conn.execute("SELECT id, produced, merged_into FROM codings")}


# --- the story, once for the module ---------------------------------------------------------

@pytest.fixture(scope="module")
def story(tmp_path_factory):
    base = tmp_path_factory.mktemp("lifecycle")
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYQDA_NO_LOCATION_WARNING", "1")
    if SHARED_SCHEMAS.is_dir():
        mp.setenv("CITYQDA_REFI_QDA_SCHEMAS", str(SHARED_SCHEMAS))

    def snapshot(story, stage):
        root = story.root
        with connect(root) as conn:
            last_event = conn.execute("SELECT MAX(id) FROM events").fetchone()[0]
        tables = {p.stem: read_csv(p) for p in (root / "outputs" / TABLES).glob("*.csv")}
        if stage == "round1":
            story.snapshots["decisions"] = decision_snapshot(root)
            story.snapshots["manual"] = manual_codings(root)
            story.snapshots["tables"] = tables
            story.snapshots["last_event"] = last_event
            with connect(root) as conn:
                story.snapshots["by_code"] = Counter(r["code"] for r in conn.execute(
                    "SELECT DISTINCT c.id, c.code FROM codings c "
                    "JOIN decisions d ON d.coding_id = c.id"))
        else:
            story.snapshots["round2_decisions"] = decision_snapshot(root)
            story.snapshots["round2_tables"] = tables
            story.snapshots["round2_last_event"] = last_event
            story.snapshots["round2_changes"] = (root / "outputs" / "changes.md").read_text(
                encoding="utf-8")

    try:
        yield demo.run_story(base, between=snapshot)
    finally:
        mp.undo()


# --- round 1 ----------------------------------------------------------------------------------

def test_lifecycle_coders_disagree_and_the_adjudicator_settles(story):
    before = story.snapshots["decisions"]
    ana = {k[1:]: v for k, v in before.items() if k[0] == "ana"}
    ben = {k[1:]: v for k, v in before.items() if k[0] == "ben"}
    pi = {k[1:]: v for k, v in before.items() if k[0] == "pi"}
    overlap = set(ana) & set(ben)
    disputed = {k for k in overlap if (ana[k]["decision"] == "accept")
                != (ben[k]["decision"] == "accept")}
    assert len(overlap) > 50 and len(disputed) > 10, "the samples must overlap and disagree"
    assert set(pi) == disputed, "pi's workbook holds exactly the disputed codings"
    assert all(v["role"] == "adjudicator" for v in pi.values())
    with connect(story.root) as conn:
        stored = {(r["coder"], f"C{r['coding_id']}"): r["decision"]
                  for r in conn.execute("SELECT coder, coding_id, decision FROM decisions")}
    later = set(story.filled["ana_split"])  # decided again after round 2
    for coder in ("ana", "ben", "pi"):
        filled = {k: v for k, v in story.filled[coder].items()
                  if coder != "ana" or k not in later}
        assert {row: stored.get((coder, row)) for row in filled} == filled, coder
    # the codings the codebook changes will touch were decided, so the test means something
    by_code = story.snapshots["by_code"]
    for code in [demo.RENAMED[0], *demo.MERGED[0], demo.SPLIT[0], demo.RETIRED_CODE]:
        assert by_code[code] > 0, f"no decided coding of {code}"
    assert any(v["decision"] == "change" and v["corrected_code"] == demo.RENAMED[0]
               for v in ana.values())
    assert any(demo.TYPO in key[1] for key in ana), \
        "the segment whose typo is fixed in round 2 carries decisions"


# --- no decision lost or moved ---------------------------------------------------------------

def test_lifecycle_keeps_every_decision_on_its_coding(story):
    before, after = story.snapshots["decisions"], story.snapshots["round2_decisions"]
    expected = {}
    for (coder, path, text, code, evidence, occurrence, made_by), state in before.items():
        key = (coder, path, text.replace(demo.TYPO, demo.FIXED), RENAMES.get(code, code),
               evidence.replace(demo.TYPO, demo.FIXED), occurrence, made_by)
        assert key not in expected, f"two decisions became one: {key}"
        expected[key] = dict(state, corrected_code=RENAMES.get(state["corrected_code"],
                                                               state["corrected_code"]))
    lost = sorted(set(expected) - set(after))
    assert not lost, f"{len(lost)} decision(s) lost or moved, e.g. {lost[:3]}"
    assert set(after) == set(expected), "decisions appeared on codings nobody decided"
    for key, state in expected.items():
        now = after[key]
        assert (now["decision"], now["role"], now["corrected_code"], now["comment"]) == \
            (state["decision"], state["role"], state["corrected_code"], state["comment"]), key
        if key[3] in FLAGGED_CODES:
            assert now["needs_review"] == 1, f"split/retired code not flagged: {key}"
            assert story.codebook_version in (now["review_reason"] or "")
        elif not state["needs_review"]:
            assert now["needs_review"] == 0, (key, now["review_reason"])
    manual = {(c, p, t.replace(demo.TYPO, demo.FIXED), RENAMES.get(code, code), e)
              for c, p, t, code, e in story.snapshots["manual"]}
    assert manual <= manual_codings(story.root)
    assert any(m[0] == "ben" and m[3] == demo.MERGED[1] for m in manual)


def test_lifecycle_entity_review_merges_and_corrects(story):
    edits = story.entity_edits
    with connect(story.root) as conn:
        merged = conn.execute("SELECT review_status FROM initiatives WHERE id = ?",
                              (int(edits["merged"][1:]),)).fetchone()[0]
        kept = conn.execute("SELECT review_status FROM initiatives WHERE id = ?",
                            (int(edits["into"][1:]),)).fetchone()[0]
        category = conn.execute("SELECT category, review_status FROM actors WHERE id = ?",
                                (int(edits["actor"][1:]),)).fetchone()
        mentions = conn.execute("SELECT COUNT(*) FROM initiative_mentions "
                                "WHERE initiative_id = ? AND produced = 1",
                                (int(edits["merged"][1:]),)).fetchone()[0]
        imported = conn.execute("SELECT COUNT(*) FROM review_imports").fetchone()[0]
    assert merged == f"merged_into:{int(edits['into'][1:])}" and kept == "confirmed"
    assert mentions == 0, "the merged initiative's mentions moved to the one kept"
    assert tuple(category) == (edits["category"], "confirmed")
    assert imported >= 4, "the workbook in reviews/inbox was imported by run"


# --- tables equal hand counts -----------------------------------------------------------------

def register_rows(root: Path) -> tuple[list[dict], dict[str, str]]:
    from openpyxl import load_workbook

    workbook = load_workbook(root / "register.xlsx", read_only=True)
    rows = list(workbook["register"].iter_rows(values_only=True))
    header = rows[0]
    canonical = {}
    for city, _country, _code, aliases in list(workbook["cities"].iter_rows(
            values_only=True))[1:]:
        canonical[city.casefold()] = city
        for alias in (aliases or "").split(";"):
            if alias.strip():
                canonical[alias.strip().casefold()] = city
    return [dict(zip(header, r, strict=True)) for r in rows[1:] if any(r)], canonical


def rate(a: int, b: int):
    return None if b == 0 else round(a / b, 4)


def expected_response_rates(root: Path) -> list[list]:
    rows, canonical = register_rows(root)
    counts = defaultdict(Counter)
    for row in rows:
        counts[canonical.get(row["city"].casefold(), row["city"])][row["outcome"]] += 1

    def line(label, c):
        replies = c["declined"] + c["replied_not_interviewed"] + c["interviewed"]
        contacted = sum(c.values())
        return [label, contacted, replies, c["declined"], c["no_reply"], c["interviewed"],
                rate(c["interviewed"], contacted), rate(c["interviewed"], replies)]

    total = sum(counts.values(), Counter())
    return [line(city, counts[city]) for city in sorted(counts, key=demo_city_key)] + \
        [line("Total", total)]


def demo_city_key(name: str):
    import unicodedata

    return (unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold(),
            name)


def expected_interviewees(root: Path, cities: list[str]) -> list[list]:
    _rows, canonical = register_rows(root)
    categories = ["policy_maker", "practitioner", "business", "civil_society",
                  "international_organization"]
    counts = {city: Counter() for city in cities}
    with connect(root) as conn:
        for r in conn.execute("SELECT metadata FROM interviews WHERE status = 'active'"):
            meta = json.loads(r["metadata"])
            city = meta["city"]["value"]
            counts[canonical.get(city.casefold(), city)][
                meta["stakeholder_category"]["value"]] += 1
    rows = [[city, *(counts[city][c] for c in categories), sum(counts[city].values())]
            for city in cities]
    return rows + [["Total", *(sum(r[i] for r in rows) for i in range(1, 7))]]


def expected_initiatives(root: Path, cities: list[str]) -> list[list]:
    dimensions = ["social", "cultural_religious", "economic", "political", "legal"]
    with connect(root) as conn:
        status = dict(conn.execute("SELECT id, review_status FROM actors").fetchall())

        def resolve(actor):
            while status[actor].startswith("merged_into:"):
                actor = int(status[actor].split(":")[1])
            return None if status[actor] == "rejected" else actor

        links = defaultdict(set)
        for r in conn.execute("SELECT initiative_id, actor_id FROM initiative_actors"):
            if resolve(r["actor_id"]) is not None:
                links[r["initiative_id"]].add(resolve(r["actor_id"]))
        per = {c: {"i": defaultdict(set), "a": defaultdict(set), "d": set(), "all": set()}
               for c in cities}
        for r in conn.execute("SELECT id, city, dimensions FROM initiatives WHERE "
                              "review_status = 'confirmed' AND status = 'existing'"):
            dims = [d for d in dimensions if d in json.loads(r["dimensions"] or "[]")]
            for d in dims:
                per[r["city"]]["i"][d].add(r["id"])
                per[r["city"]]["a"][d] |= links[r["id"]]
            if dims:
                per[r["city"]]["d"].add(r["id"])
                per[r["city"]]["all"] |= links[r["id"]]
    rows = []
    for city in cities:
        b = per[city]
        row = [city]
        for d in dimensions:
            row += [len(b["a"][d]), len(b["i"][d])]
        rows.append(row + [sum(len(b["i"][d]) for d in dimensions), len(b["d"]),
                           len(b["all"])])
    return rows + [["Total", *(sum(r[i] for r in rows) for i in range(1, len(rows[0])))]]


def expected_partnerships(root: Path, cities: list[str]) -> list[list]:
    types = ["public_private", "third_actor_private", "third_actor_public", "other"]
    counts = {city: Counter() for city in cities}
    with connect(root) as conn:
        for r in conn.execute("SELECT city, type FROM partnerships WHERE "
                              "review_status = 'confirmed' AND status = 'existing'"):
            counts[r["city"]][r["type"]] += 1
    rows = [[city, *(counts[city][t] for t in types), sum(counts[city][t] for t in types)]
            for city in cities]
    return rows + [["Total", *(sum(r[i] for r in rows) for i in range(1, 6))]]


def expected_planned(root: Path) -> list[list]:
    with connect(root) as conn:
        parties = defaultdict(list)
        for r in conn.execute("SELECT p.partnership_id, a.name FROM partnership_parties p "
                              "JOIN actors a ON a.id = p.actor_id"):
            parties[r["partnership_id"]].append(r["name"])
        rows = [[r["city"], " + ".join(sorted(parties[r["id"]], key=str.casefold)), r["type"],
                 r["status"], r["id"]] for r in conn.execute(
            "SELECT id, city, type, status FROM partnerships WHERE "
            "review_status = 'confirmed' AND status = 'planned'")]
    return sorted(rows, key=lambda r: (demo_city_key(r[0]), r[1].casefold(), r[4]))


def expected_coded_long(root: Path) -> list[list]:
    """(coding id, code, status) of accepted codings on current segments of active
    interviews."""
    with connect(root) as conn:
        statuses = coding_status_by_hand(conn)
        return sorted([[r["id"], r["code"], "accepted"] for r in conn.execute("""
            SELECT c.id, c.code FROM codings c JOIN segments s ON s.id = c.segment_id
            JOIN interviews i ON i.id = s.interview_id
            WHERE s.status = 'current' AND i.status = 'active'""")
            if statuses[r["id"]] == "accepted"])


def expected_challenges(root: Path) -> list[list]:
    with connect(root) as conn:
        statuses = coding_status_by_hand(conn)
        labels = {}
        for code in demo_codes(root):
            labels[code["id"]] = code.get("label") or code["id"]
        interviews, codings = defaultdict(set), Counter()
        for r in conn.execute("""
                SELECT c.id, c.code, c.interview_id, i.metadata FROM codings c
                JOIN segments s ON s.id = c.segment_id JOIN interviews i ON i.id = s.interview_id
                WHERE c.kind = 'challenge' AND c.negated = 0 AND s.status = 'current'
                AND i.status = 'active'"""):
            if statuses[r["id"]] == "accepted":
                key = (json.loads(r["metadata"])["city"]["value"], r["code"])
                interviews[key].add(r["interview_id"])
                codings[key] += 1
    return [[city, code, labels.get(code, code), len(interviews[(city, code)]),
             codings[(city, code)]]
            for city, code in sorted(codings, key=lambda k: (demo_city_key(k[0]), k[1]))]


def demo_codes(root: Path) -> list[dict]:
    import yaml

    return yaml.safe_load((root / "codebooks" / "integration_policy.yaml")
                          .read_text(encoding="utf-8"))["codes"]


def expected_practices(root: Path) -> tuple[list[list], list[list]]:
    dimensions = ["social", "cultural_religious", "economic", "political", "legal"]
    verdicts = {"good_practice": "good_practice", "good practice": "good_practice",
                "promising_practice": "promising_practice",
                "promising practice": "promising_practice"}
    counts = {d: Counter() for d in dimensions}
    distinct, overview = Counter(), []
    with connect(root) as conn:
        for r in conn.execute("SELECT id, city, name, status, verdict, dimensions FROM "
                              "initiatives WHERE review_status = 'confirmed'"):
            verdict = verdicts.get((r["verdict"] or "").casefold())
            if verdict is None:
                continue
            distinct[verdict] += 1
            dims = [d for d in dimensions if d in json.loads(r["dimensions"] or "[]")]
            for d in dims:
                counts[d][verdict] += 1
            overview.append([r["city"], r["name"], verdict, "; ".join(dims), r["status"],
                             r["id"]])
    rows = [[d, counts[d]["good_practice"], counts[d]["promising_practice"],
             sum(counts[d].values())] for d in dimensions]
    rows.append(["Total (distinct)", distinct["good_practice"],
                 distinct["promising_practice"], sum(distinct.values())])
    return rows, sorted(overview, key=lambda r: (demo_city_key(r[0]), r[2], r[1].casefold()))


def test_lifecycle_every_table_cell_equals_hand_counts(story):
    root = story.root
    folder = root / "outputs" / TABLES
    got = {p.stem: read_csv(p) for p in folder.glob("*.csv")}
    _rows, canonical = register_rows(root)
    cities = sorted(set(canonical.values()), key=demo_city_key)
    assert "Milan" in cities

    def table(name, expected):
        rows = got[name][1:]
        assert rows == [[cell(v) for v in row] for row in expected], name

    table("response_rates", expected_response_rates(root))
    table("interviewees", expected_interviewees(root, cities))
    table("initiatives_by_dimension", expected_initiatives(root, cities))
    table("partnerships_by_type", expected_partnerships(root, cities))
    table("challenges", expected_challenges(root))
    table("partnerships_planned", expected_planned(root))
    dataset = read_csv(root / "outputs" / "coded_long-accepted.csv")
    picked = [dataset[0].index(c) for c in ("coding_id", "code", "status")]
    assert sorted([int(r[picked[0]]), r[picked[1]], r[picked[2]]] for r in dataset[1:]) == \
        expected_coded_long(root)
    practices, overview = expected_practices(root)
    table("good_practices", practices)
    header = got["practice_overview"][0]
    picked = [header.index(c) for c in ("city", "name", "verdict", "dimensions", "status",
                                        "initiative_id")]
    assert [[row[i] for i in picked] for row in got["practice_overview"][1:]] == \
        [[cell(v) for v in row] for row in overview]
    # what the story changed, in the tables' own words
    interviewees = {row[0]: row for row in got["interviewees"][1:]}
    assert interviewees["Milan"][1:] == ["1", "0", "0", "1", "0", "2"]
    assert interviewees["Rotterdam"][-1] == "4", "the retired interview left the table"
    header = got["interviewees"][0]
    was = {row[0]: row for row in story.snapshots["tables"]["interviewees"][1:]}
    for column, step in (("civil_society", -1), ("international_organization", 1)):
        at = header.index(column)
        assert int(interviewees["São Paulo"][at]) == int(was["São Paulo"][at]) + step, \
            "the override moved one São Paulo interview to international_organization"
    challenges = {row[1] for row in got["challenges"][1:]}
    assert demo.MERGED[0][0] not in challenges, "the merged challenge code is gone"
    assert got["practice_overview"][1:], "the good practice rated in round 1 is listed"
    assert (root / "outputs" / "reports" / "milan.docx").is_file(), "the new city's report"


# --- the change report ------------------------------------------------------------------------

def moved_cells(old: dict[str, list[list[str]]], new: dict[str, list[list[str]]]
                ) -> set[str]:
    """'[key] column: a -> b' for every cell that differs, rows keyed by their leading text
    columns (at most two), as a reader of the two CSV files would pair them."""
    found = set()
    for name in set(old) | set(new):
        a, b = old.get(name) or [], new.get(name) or []
        header = (b or a)[0]
        rows = (a[1:] if a else []) + (b[1:] if b else [])
        width = 0
        while width < 2 and width < len(header) and all(
                not _is_number(r[width]) and r[width] != "" for r in rows if r):
            width += 1
        width = max(width, 1)

        ka, kb = (_keyed(table, header, width) for table in (a, b))
        for key in set(ka) | set(kb):
            for column in header[width:]:
                was, now = ka.get(key, {}).get(column, ""), kb.get(key, {}).get(column, "")
                if was != now:
                    found.add(f"[{', '.join(key)}] {column}: {was or 'blank'} -> "
                              f"{now or 'blank'}")
    return found


def _keyed(table: list[list[str]], header: list[str], width: int) -> dict:
    return {tuple(r[:width]): dict(zip(header[width:], r[width:], strict=True))
            for r in table[1:]} if table else {}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def change_lines(markdown: str) -> list[str]:
    return [line[2:] for line in markdown.splitlines() if line.startswith("- ")]


def test_lifecycle_change_report_names_every_change(story):
    root = story.root
    lines = change_lines(story.snapshots["round2_changes"])
    folder = f"{demo.TRANSCRIPTS}/"
    for interview in demo.MILAN:
        assert f"new interview: {folder}{interview['file']}" in lines
    assert any(line.startswith(f"changed interview: {folder}{demo.EDITED} (version 1 -> 2")
               for line in lines)
    assert f"retired interview: {folder}{demo.RETIRED}" in lines
    with connect(root) as conn:
        made = Counter((r["actor"], r["kind"]) for r in conn.execute(
            "SELECT actor, kind FROM events WHERE id <= ?",
            (story.snapshots["round2_last_event"],)))
    for coder in ("ana", "ben", "pi"):
        line = next(x for x in lines if x.startswith(f"new decisions by {coder}:"))
        assert f"{made[(coder, 'decision.set')]} coding decision(s)" in line
        if made[(coder, "entity_decision.set")]:
            assert f"{made[(coder, 'entity_decision.set')]} entity decision(s)" in line
    expected = moved_cells(story.snapshots["tables"], story.snapshots["round2_tables"])
    reported = {"[" + line.split(" [", 1)[1] for line in lines
                if line.startswith("cell moved:")}
    assert expected, "the story moves table cells"
    assert expected - reported == set(), "moved cells missing from the change report"
    assert reported - expected == set(), "the change report names cells that did not move"


def test_lifecycle_change_report_names_codebook_and_metadata_changes(story):
    text = story.snapshots["round2_changes"]
    assert story.codebook_version in text, "the new codebook version is not named"
    file, name, value = demo.OVERRIDE
    assert file in text and name in text and value in text, "the override is not named"


# --- a review of round 2 -----------------------------------------------------------------

def test_lifecycle_round_two_review_adds_exactly_its_decisions(story):
    edit = story.alias_edit
    before = {(k[0], k[1], k[2].replace(edit["old"], edit["new"]), *k[3:]): v
              for k, v in story.snapshots["round2_decisions"].items()}
    after = decision_snapshot(story.root)
    ben = story.filled["ben_round2"]
    ana = story.filled["ana_split"]
    assert ben and ana, "round 2 has codings for ben and flagged codings for ana"
    with connect(story.root) as conn:
        ids = {}
        for coder, filled in (("ben", ben), ("ana", ana)):
            for row_id in filled:
                r = conn.execute("""SELECT c.code, c.evidence_text, c.occurrence, c.coder,
                        c.needs_review, s.text, i.path FROM codings c
                        JOIN segments s ON s.id = c.segment_id
                        JOIN interviews i ON i.id = s.interview_id WHERE c.id = ?""",
                                 (int(row_id[1:]),)).fetchone()
                ids[(coder, r["path"], r["text"], r["code"], r["evidence_text"],
                     r["occurrence"], r["coder"])] = (row_id, r["needs_review"])
                assert r["path"].startswith(f"{demo.TRANSCRIPTS}/MIL-") or coder == "ana"
        linked = conn.execute("""SELECT c.code, c.coder, d.decision FROM decisions d0
            JOIN codings c ON c.id = d0.linked_coding_id
            JOIN decisions d ON d.coding_id = c.id AND d.coder = c.coder
            WHERE d0.coder = 'ana' AND d0.decision = 'change' AND d0.coding_id = ?""",
                              (int(next(iter(ana))[1:]),)).fetchall()
    assert [tuple(r) for r in linked] == [(demo.SPLIT[1][0], "ana", "accept")]
    def core(state):
        return state and {k: v for k, v in state.items() if k not in ("needs_review",
                                                                       "review_reason")}

    changed = {k for k in set(before) | set(after) if core(before.get(k)) != core(after.get(k))}
    made = {k for k in changed if k[3] == demo.SPLIT[1][0] and k[0] == "ana"}
    assert len(made) == 1, "the change made one coding of the new code, accepted by ana"
    assert changed - made == {k for k in ids if core(before.get(k)) != core(after.get(k))}
    for key, (row_id, needs_review) in ids.items():
        coder = key[0]
        filled = ben if coder == "ben" else ana
        assert after[key]["decision"] == filled[row_id], key
        assert needs_review == 0, "a decision clears the needs_review flag"
    lines = change_lines((story.root / "outputs" / "changes.md").read_text(encoding="utf-8"))
    for coder in ("ana", "ben"):
        assert any(line.startswith(f"new decisions by {coder}:") for line in lines)
    assert not any(line.startswith(("new interview", "retired interview", "codebook"))
                   for line in lines)
    now = {p.stem: read_csv(p) for p in (story.root / "outputs" / TABLES).glob("*.csv")}
    expected = moved_cells(story.snapshots["round2_tables"], now)
    assert any("[Milan, challenge." in cell for cell in expected), "ben's accepts count"
    assert {"[" + line.split(" [", 1)[1] for line in lines
            if line.startswith("cell moved:")} == expected


def test_lifecycle_merged_initiative_survives_recoding(story):
    """The paragraph naming the merged initiative was edited after the merge and coded
    again: its name finds the initiative it was merged into (an alias), nothing new."""
    edits, edit = story.entity_edits, story.alias_edit
    merged, kept = int(edits["merged"][1:]), int(edits["into"][1:])
    with connect(story.root) as conn:
        named = conn.execute("SELECT id, review_status FROM initiatives WHERE city = ? AND "
                             "name = ?", (edits["city"], edits["merged_name"])).fetchall()
        mentions = conn.execute("""SELECT m.initiative_id, m.text FROM initiative_mentions m
            JOIN segments s ON s.id = m.segment_id WHERE m.produced = 1
            AND s.status = 'current' AND s.text = ?""", (edit["new"],)).fetchall()
        version = conn.execute("SELECT version FROM interviews WHERE file = ?",
                               (edit["file"],)).fetchone()[0]
    assert version == 2, "the edited transcript was ingested again"
    assert [tuple(r) for r in named] == [(merged, f"merged_into:{kept}")]
    assert (kept, edits["merged_name"]) in [tuple(r) for r in mentions]
    assert all(r[0] != merged for r in mentions)


# --- replay and exchange ----------------------------------------------------------------------

def test_lifecycle_audit_log_replays_into_a_rebuilt_store(story):
    result = story.results["restore"]
    assert result.exit_code == 0, result.stderr
    original, rebuilt = decision_snapshot(story.root), decision_snapshot(story.rebuilt)
    strip = {"needs_review", "review_reason"}

    def core(snapshot):
        return {k: {f: v for f, v in state.items() if f not in strip}
                for k, state in snapshot.items()}

    assert core(rebuilt) == core(original)
    for key, state in original.items():
        if key[3] in FLAGGED_CODES:  # made again for the replay, flagged as in the original
            assert (rebuilt[key]["needs_review"], rebuilt[key]["review_reason"]) == \
                (state["needs_review"], state["review_reason"]), key
    assert manual_codings(story.rebuilt) == manual_codings(story.root)
    assert entity_snapshot(story.rebuilt) == entity_snapshot(story.root)


def test_lifecycle_audit_log_replays_overrides_and_retirements(story):
    """Overrides and retirements are human work too (DESIGN, invariant 1)."""
    from click.testing import CliRunner

    from pipeline.cli import main

    text = CliRunner().invoke(main, ["--project", str(story.root), "review", "log"])
    assert text.exit_code == 0, text.stderr
    file, name, value = demo.OVERRIDE
    assert f"interview.override {demo.TRANSCRIPTS}/{file} {name} set to {value!r}" in \
        text.stdout
    assert f"interview.retired {demo.TRANSCRIPTS}/{demo.RETIRED} ({demo.RETIRE_REASON})" \
        in text.stdout
    def state(root):
        with connect(root) as conn:
            return ({r["path"]: r["status"] for r in conn.execute(
                "SELECT path, status FROM interviews")},
                    {(r["path"], r["field"], r["value"]) for r in conn.execute(
                        "SELECT i.path, o.field, o.value FROM metadata_overrides o "
                        "JOIN interviews i ON i.id = o.interview_id")})

    assert state(story.rebuilt) == state(story.root)


def test_lifecycle_qdpx_export_validates(story):
    result = story.results["qdpx_check"]
    assert result.exit_code == 0, result.stderr + result.stdout
    import zipfile

    with zipfile.ZipFile(story.qdpx) as archive:
        project = archive.read("project.qde").decode("utf-8")
    with connect(story.root) as conn:
        active = conn.execute("SELECT COUNT(*) FROM interviews WHERE status = 'active'"
                              ).fetchone()[0]
    sample = len(list((REPO_ROOT / demo.TRANSCRIPTS).glob("*.docx")))
    assert project.count("<TextSource ") == active == sample - 1 + len(demo.MILAN)
    assert Path(demo.RETIRED).stem not in project, "a retired interview leaves the export"
    assert "MIL-PM-01" in project and "Financial services" in project
    # decided codings of the split code stay, under a code the codebook no longer defines
    assert f'name="{demo.SPLIT[0]}"' in project
