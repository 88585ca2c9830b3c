"""A second year of the sample study, end to end, on a temporary copy: what a PI will see.

    python benchmarks/lifecycle_demo.py [--keep DIR] [--pdf]

Round 1: `cityqda run`; coders ana and ben review overlapping random samples in Excel and
disagree on some codings; the adjudicator (pi) settles the disputes in the adjudication
workbook; ana confirms the initiatives, actors and partnerships she saw.
Round 2: a new city (Milan) with its register rows and two transcripts; a metadata override;
a typo fixed and a paragraph inserted in LIS-PM-01; ROT-CS-02 retired; the next codebook
version renames, merges, splits and retires codes; ana merges two initiatives and corrects an
actor's category in a workbook dropped into reviews/inbox/; `cityqda run` again.
Then: the change report, the audit log replayed into a store rebuilt from the transcripts
and the codebook, and the REFI-QDA export checked against the official schema.

Every step goes through the real CLI (click's CliRunner on `pipeline.cli.main`) and the
workbooks are filled with openpyxl as a coder's Excel would leave them. tests/test_lifecycle.py
runs this story and checks it against hand counts; this script prints it step by step.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY_PARTS = ("cityqda.toml", "register.xlsx", "transcripts_sample", "interview_guides",
               "codebooks")
TRANSCRIPTS = "transcripts_sample"

# Round 1 review: both coders see a random sample of segments; the samples overlap.
SAMPLE = 300
SEEDS = {"ana": 1, "ben": 2}

# The transcript edited in round 2: a transcriber's typo (made in round 1) is fixed, and a
# paragraph is inserted after ANCHOR, before the typo: that segment changes text and place.
EDITED = "LIS-PM-01.docx"
TYPO, FIXED = "Dialouge happens mainly", "Dialogue happens mainly"
ANCHOR = "She said there is no dedicated budget line"
INSERTED = ("Since last winter the council also runs a night shelter for refugee families "
            "in Arroios, with beds for forty people and a social worker on duty.")
# short enough for the paragraph to stay the same segment (at least 90% alike)
ALIAS_ADDITION = " It is still in force."
SPLIT_CITY = "São Paulo"  # where ana settles the codings of the split code after round 2
RETIRED = "ROT-CS-02.docx"
RETIRE_REASON = "Interviewee withdrew from the study's second round"
OVERRIDE = ("SAO-CS-02.docx", "stakeholder_category", "international_organization")

# The next codebook version (the next major one: renames and merges break old analyses)
RENAMED = ("economic.financial_inclusion", "economic.financial_services")
MERGED = (("challenge.knowledge_sharing", "challenge.monitoring_evaluation"),
          "challenge.monitoring_evaluation")
SPLIT = ("social.health_care", ("social.health_services", "social.health_information"))
RETIRED_CODE = "political.voting"


def codebook_changes(version: str) -> list[dict]:
    return [
        {"version": version, "kind": "renamed", "from": [RENAMED[0]], "to": [RENAMED[1]],
         "note": "the code covers banking, credit and insurance, not only inclusion"},
        {"version": version, "kind": "merged", "from": list(MERGED[0]), "to": [MERGED[1]],
         "note": "knowledge sharing is part of monitoring and evaluation"},
        {"version": version, "kind": "split", "from": [SPLIT[0]], "to": list(SPLIT[1]),
         "note": "services apart from information about health"},
        {"version": version, "kind": "retired", "codes": [RETIRED_CODE],
         "note": "voting rights are coded under participation from round 2"},
    ]


# The new city of round 2.
NEW_CITY = {"city": "Milan", "country": "Italy", "code": "MIL", "aliases": "Milano"}
NEW_ROUND = 2
MILAN = [
    {
        "file": "MIL-PM-01.docx", "guide": "policy_makers", "category": "policy_maker",
        "metadata": [("City", "Milan"), ("Country", "Italy"),
                     ("Organisation", "Municipality of Milan – Social Policies Department"),
                     ("Stakeholder category", "Policy maker"),
                     ("Position", "Head of the migrants' office"),
                     ("Interview date", "2014-03-11"), ("Mode", "Face-to-face"),
                     ("Language", "Italian"), ("Interviewer", "Giulia Ferri")],
        "sections": [
            ("Introduction", [
                ("Please introduce yourself and your organization.",
                 "The interviewee has led the migrants' office of the Municipality of Milan "
                 "since 2011 and coordinates the city's reception system."),
            ]),
            ("Policies and programmes", [
                ("Which policies and programmes does the city run?",
                 "The municipality runs emergency accommodation for asylum seekers in three "
                 "reception centres and offers free Italian language courses in every "
                 "district."),
                ("How are they funded?",
                 "Funding is the main problem: the national fund covers only one year, and "
                 "the office cannot plan beyond it."),
                ("Who else is involved?",
                 "The job centre places refugees in internships with local employers, and "
                 "the legal aid desk helps with residence permits."),
            ]),
            ("Closure", [
                ("Anything else?",
                 "Finding affordable housing is the biggest problem for refugees who leave "
                 "the reception centres."),
            ]),
        ],
    },
    {
        "file": "MIL-CS-01.docx", "guide": "third_actors", "category": "civil_society",
        "metadata": [("City", "Milan"), ("Country", "Italy"),
                     ("Organisation", "Naga Volunteer Association"),
                     ("Stakeholder category", "Civil society"),
                     ("Position", "Coordinator"), ("Interview date", "2014-03-18"),
                     ("Mode", "Telephone"), ("Language", "Italian"),
                     ("Interviewer", "Giulia Ferri")],
        "sections": [
            ("Introduction", [
                ("Please introduce yourself and your organization.",
                 "The coordinator runs a volunteer association that has offered free health "
                 "care to undocumented migrants since 1987."),
            ]),
            ("Policies and programmes", [
                ("What does your organisation offer?",
                 "Volunteer doctors run a free health clinic for migrants without papers, "
                 "and lawyers give legal aid on asylum claims twice a week."),
                ("What are the main difficulties?",
                 "Many patients face discrimination when they rent a flat, and there is no "
                 "interpreter at the public hospitals."),
            ]),
            ("Closure", [
                ("Anything else?",
                 "She would like the city to fund a mediation service in the hospitals."),
            ]),
        ],
    },
]
MILAN_CONTACTS = [
    {"organisation": "Caritas Ambrosiana", "category": "civil_society", "outcome": "declined",
     "contact_date": "2014-02-03"},
    {"organisation": "Assolombarda", "category": "business", "outcome": "no_reply",
     "contact_date": "2014-02-05"},
]


@dataclass
class Story:
    """What the story did, for the checks: paths, workbooks and the CLI's answers."""

    root: Path
    workbooks: dict[str, Path] = field(default_factory=dict)
    results: dict[str, object] = field(default_factory=dict)  # step name -> click Result
    seconds: dict[str, float] = field(default_factory=dict)  # step name -> wall time
    filled: dict[str, dict] = field(default_factory=dict)  # coder -> {row_id: decision}
    added: dict = field(default_factory=dict)  # ben's added coding: segment row id, code
    changed: dict = field(default_factory=dict)  # ana's change: row id, corrected code
    verdict: dict = field(default_factory=dict)  # initiative row id -> verdict given
    entity_edits: dict = field(default_factory=dict)  # merge and category correction
    snapshots: dict[str, object] = field(default_factory=dict)  # taken by the caller
    codebook_version: str = ""  # the version round 2 introduces
    alias_edit: dict = field(default_factory=dict)  # paragraph naming the merged initiative
    run_options: tuple[str, ...] = ()  # options of every `cityqda run` (e.g. --no-pdf)
    rebuilt: Path | None = None
    log: Path | None = None
    qdpx: Path | None = None


def cli(story: Story, name: str, *args: str, project: Path | None = None,
        expect: int | None = 0):
    """Run one cityqda command through click, as a user would; keep the result."""
    from click.testing import CliRunner

    from pipeline.cli import main

    started = time.perf_counter()
    result = CliRunner().invoke(main, ["--project", str(project or story.root), *args])
    story.seconds[name] = round(time.perf_counter() - started, 1)
    story.results[name] = result
    if expect is not None and result.exit_code != expect:
        raise AssertionError(
            f"`cityqda {' '.join(args)}` exited {result.exit_code}, expected {expect}\n"
            f"stderr:\n{result.stderr}\n{result.exception!r}")
    return result


def copy_study(target: Path, source: Path = REPO_ROOT) -> Path:
    """The study's inputs only (no store, no outputs) copied into a new folder."""
    target.mkdir(parents=True)
    for part in STUDY_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part)
        else:
            shutil.copyfile(source / part, target / part)
    return target


# --- Word transcripts ---------------------------------------------------------------------

def replace_in_paragraphs(path: Path, old: str, new: str) -> None:
    """Replace text inside one run of the transcript (as an edit in Word would)."""
    import docx

    document = docx.Document(str(path))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            if old in run.text:
                run.text = run.text.replace(old, new, 1)
                document.save(str(path))
                return
    raise AssertionError(f"{path.name}: {old!r} not found in one run")


def insert_paragraph_after(path: Path, anchor: str, text: str) -> None:
    """A new answer paragraph right after the one starting with `anchor`, in its style."""
    import docx

    document = docx.Document(str(path))
    for paragraph in document.paragraphs:
        if paragraph.text.startswith(anchor):
            element = copy.deepcopy(paragraph._p)
            paragraph._p.addnext(element)
            added = docx.text.paragraph.Paragraph(element, paragraph._parent)
            runs = added.runs
            runs[0].text = text
            for run in runs[1:]:
                run._r.getparent().remove(run._r)
            document.save(str(path))
            return
    raise AssertionError(f"{path.name}: no paragraph starts with {anchor!r}")


def append_to_paragraph_naming(folder: Path, name: str, addition: str) -> dict:
    """Add a sentence to the first answer paragraph (body or table cell) that names
    `name` among other words; returns the file and the paragraph's text before and after."""
    import docx

    for path in sorted(folder.glob("*.docx")):
        document = docx.Document(str(path))
        paragraphs = list(document.paragraphs) + [
            p for table in document.tables for row in table.rows for cell in row.cells
            for p in cell.paragraphs]
        for paragraph in paragraphs:
            text = paragraph.text
            if name in text and len(text) > len(name) + 40:
                paragraph.add_run(addition)
                document.save(str(path))
                return {"file": path.name, "old": text, "new": text + addition}
    raise AssertionError(f"no paragraph in {folder} names {name!r}")


def write_transcript(path: Path, interview: dict) -> None:
    """A transcript in the sample's shape: metadata table, title, Heading 1 sections, bold
    questions, answer paragraphs."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=len(interview["metadata"]), cols=2)
    table.style = document.styles["Table Grid"]
    for row, (label, value) in zip(table.rows, interview["metadata"], strict=True):
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)
    document.add_paragraph(f"{Path(interview['file']).stem} interview summary", style="Title")
    for heading, items in interview["sections"]:
        document.add_heading(heading, level=1)
        for question, answer in items:
            document.add_paragraph().add_run(question).bold = True
            document.add_paragraph(answer)
    document.core_properties.author = "Giulia Ferri"
    document.save(str(path))


# --- the register --------------------------------------------------------------------------

def add_city_to_register(path: Path) -> None:
    import datetime as dt

    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook["register"]
    header = [cell.value for cell in sheet[1]]
    for interview in MILAN:
        meta = dict(interview["metadata"])
        row = {"round": NEW_ROUND, "city": "Milan", "country": "Italy",
               "organisation": meta["Organisation"], "position": meta["Position"],
               "category": interview["category"],
               "contact_date": dt.datetime(2014, 2, 1), "outcome": "interviewed",
               "transcript_file": interview["file"],
               "interview_date": dt.datetime.fromisoformat(meta["Interview date"]),
               "mode": meta["Mode"], "language": meta["Language"],
               "interviewer": meta["Interviewer"],
               "pseudonym": Path(interview["file"]).stem}
        sheet.append([row.get(column) for column in header])
    for contact in MILAN_CONTACTS:
        row = {"round": NEW_ROUND, "city": "Milan", "country": "Italy",
               "interviewer": "Giulia Ferri", **contact,
               "contact_date": dt.datetime.fromisoformat(contact["contact_date"])}
        sheet.append([row.get(column) for column in header])
    cities = workbook["cities"]
    cities.append([NEW_CITY["city"], NEW_CITY["country"], NEW_CITY["code"],
                   NEW_CITY["aliases"]])
    workbook.save(path)


# --- the codebook ---------------------------------------------------------------------------

def next_codebook(path: Path) -> tuple[str, list[dict]]:
    """The next major version: a rename, a merge, a split and a retirement, each with its
    `changes` entry; patterns move with their codes so the rules keep finding the same
    words. Returns the version and its changes."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = f"{int(str(document['version']).split('.')[0]) + 1}.0.0"
    changes = codebook_changes(version)
    document["version"] = version
    document["changes"] = list(document.get("changes") or []) + changes
    codes = document["codes"]
    by_id = {code["id"]: code for code in codes}
    by_id[RENAMED[0]]["id"] = RENAMED[1]
    by_id[RENAMED[0]]["label"] = "Financial services"
    survivor = by_id[MERGED[1]]
    for source in MERGED[0]:
        if source != MERGED[1]:
            survivor["patterns"] = survivor.get("patterns", []) + by_id[source]["patterns"]
            codes.remove(by_id[source])
    split = by_id[SPLIT[0]]
    services, information = copy.deepcopy(split), copy.deepcopy(split)
    services.update(id=SPLIT[1][0], label="Health services",
                    patterns=[p for p in split["patterns"] if p["role"] == "service"])
    information.update(id=SPLIT[1][1], label="Health information and topics",
                       patterns=[p for p in split["patterns"] if p["role"] != "service"])
    at = codes.index(split)
    codes[at:at + 1] = [services, information]
    retired = by_id[RETIRED_CODE]
    retired["retired"] = True
    retired.pop("patterns", None)
    # the rules follow their codes: a renamed or merged code's id is replaced where a rule
    # names it, a split code's by both of its parts
    moved = {RENAMED[0]: RENAMED[1],
             **{source: MERGED[1] for source in MERGED[0] if source != MERGED[1]}}
    for rule in document.get("rules", []):
        for key in ("services", "from"):
            if rule.get(key):
                named = [moved.get(c, c) for c in rule[key]]
                if SPLIT[0] in named:
                    named = [c for c in named if c != SPLIT[0]] + list(SPLIT[1])
                rule[key] = list(dict.fromkeys(named))
        if rule.get("to") == SPLIT[0]:
            rule["to"] = SPLIT[1][0]
        elif rule.get("to") in moved:
            rule["to"] = moved[rule["to"]]
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8")
    return version, changes


# --- review workbooks ------------------------------------------------------------------------

def sheet_rows(workbook, title: str) -> tuple[list[str], list[tuple[int, dict]]]:
    sheet = workbook[title]
    header = [cell.value for cell in sheet[1]]
    rows = []
    for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        rows.append((number, dict(zip(header, values, strict=False))))
    return header, rows


def set_cells(workbook, title: str, number: int, values: dict) -> None:
    sheet = workbook[title]
    header = [cell.value for cell in sheet[1]]
    for column, value in values.items():
        sheet.cell(row=number, column=header.index(column) + 1).value = value


def coding_id(row_id: str) -> int:
    return int(str(row_id).lstrip("C"))


def ana_decides(coding: int) -> str:
    return "reject" if coding % 5 == 0 else "accept"


def ben_decides(coding: int) -> str:
    return "reject" if coding % 3 == 0 else "accept"


def pi_decides(coding: int) -> str:
    return "accept" if coding % 2 == 0 else "reject"


def fill_codings(story: Story, coder: str, path: Path, decide: Callable[[int], str]) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    _header, rows = sheet_rows(workbook, "Codings")
    filled = story.filled.setdefault(coder, {})
    for number, row in rows:
        decision = decide(coding_id(row["row_id"]))
        set_cells(workbook, "Codings", number, {"decision": decision})
        filled[row["row_id"]] = decision
    if coder == "ana":
        # one coding is about bank accounts, not jobs: change its code
        for number, row in rows:
            if row["code"] == "economic.employment" and filled[row["row_id"]] == "accept":
                set_cells(workbook, "Codings", number, {
                    "decision": "change", "corrected_code": RENAMED[0],
                    "comment": "about opening bank accounts, not about jobs"})
                filled[row["row_id"]] = "change"
                story.changed = {"row_id": row["row_id"], "corrected_code": RENAMED[0]}
                break
        confirm_entities(story, workbook)
    if coder == "ben":
        # a missed coding: the whole segment reports a knowledge-sharing gap
        _header, segment_rows = sheet_rows(workbook, "Segments")
        for number, row in segment_rows:
            if "exchange experience" in (row["text"] or ""):
                set_cells(workbook, "Segments", number,
                          {"add_code": MERGED[0][0], "comment": "few occasions to share"})
                story.added = {"row_id": row["row_id"], "code": MERGED[0][0],
                               "text": row["text"]}
                break
    workbook.save(path)


def confirm_entities(story: Story, workbook) -> None:
    """ana confirms every initiative, actor and partnership on her sheets and rates the
    first initiative a good practice."""
    for title in ("Initiatives", "Actors", "Partnerships"):
        _header, rows = sheet_rows(workbook, title)
        for number, _row in rows:
            set_cells(workbook, title, number, {"decision": "confirm"})
        if title == "Initiatives" and rows:
            number, row = next(((n, r) for n, r in rows if r.get("found_status") == "existing"),
                               rows[0])
            set_cells(workbook, title, number, {
                "verdict": "good practice",
                "justification": "Runs for years with council money; copied by other cities"})
            story.verdict = {row["row_id"]: "good_practice"}


def fill_adjudication(story: Story, path: Path) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    _header, rows = sheet_rows(workbook, "Codings")
    filled = story.filled.setdefault("pi", {})
    for number, row in rows:
        decision = pi_decides(coding_id(row["row_id"]))
        set_cells(workbook, "Codings", number, {"decision": decision,
                                                "comment": "settled at the team meeting"})
        filled[row["row_id"]] = decision
    workbook.save(path)


def entity_corrections(story: Story, path: Path) -> None:
    """ana merges two initiatives of one city and corrects one actor's category."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    _header, rows = sheet_rows(workbook, "Initiatives")
    by_city: dict[str, list] = {}
    for number, row in rows:
        if row.get("decision") == "confirm" and row.get("status") == "existing" \
                and row.get("dimensions") and row["row_id"] not in story.verdict:
            by_city.setdefault(row["city"], []).append((number, row))
    city, pair = next((c, p) for c, p in sorted(by_city.items()) if len(p) >= 2)
    (number, merged), (_n, kept) = pair[0], pair[1]
    set_cells(workbook, "Initiatives", number,
              {"decision": "merge", "merge_into": kept["row_id"],
               "comment": "the same programme under its English and local names"})
    _header, actor_rows = sheet_rows(workbook, "Actors")
    number, actor = next((n, r) for n, r in actor_rows
                         if r.get("decision") == "confirm" and r.get("category") == "business")
    set_cells(workbook, "Actors", number, {"category": "civil society",
                                           "comment": "a social enterprise, not a company"})
    story.entity_edits = {"city": city, "merged": merged["row_id"], "into": kept["row_id"],
                          "merged_name": merged["name"], "into_name": kept["name"],
                          "actor": actor["row_id"], "actor_name": actor["name"],
                          "category": "civil_society"}
    workbook.save(path)


# --- the story -------------------------------------------------------------------------------

def round_one(story: Story, say: Callable[[str], None]) -> None:
    root = story.root
    replace_in_paragraphs(root / TRANSCRIPTS / EDITED, FIXED, TYPO)
    say(f"study copied to {root}; the transcriber left a typo in {EDITED} ({TYPO!r})")
    cli(story, "run1", "run", *story.run_options)
    say("round 1: `cityqda run`: " + story.results["run1"].stderr.splitlines()[-1])
    outbox = root / "reviews" / "outbox"
    for coder, seed in SEEDS.items():
        path = outbox / f"{coder}-round1.xlsx"
        cli(story, f"export_{coder}", "review", "export", "--coder", coder, "--sample",
            str(SAMPLE), "--seed", str(seed), "--out", str(path))
        story.workbooks[coder] = path
        fill_codings(story, coder, path, ana_decides if coder == "ana" else ben_decides)
        say(f"{coder} reviewed {len(story.filled[coder])} codings of a {SAMPLE}-segment "
            f"sample (seed {seed}) in {path.name}")
    cli(story, "import_round1", "review", "import", str(story.workbooks["ana"]),
        str(story.workbooks["ben"]))
    say("imported: " + " | ".join(story.results["import_round1"].stderr.splitlines()[-2:]))
    path = outbox / "pi-adjudication.xlsx"
    cli(story, "export_pi", "review", "export", "--coder", "pi", "--out", str(path))
    story.workbooks["pi"] = path
    fill_adjudication(story, path)
    cli(story, "import_pi", "review", "import", str(path))
    say(f"pi settled {len(story.filled['pi'])} disputed codings in {path.name}")


def round_two(story: Story, say: Callable[[str], None]) -> None:
    root = story.root
    folder = root / TRANSCRIPTS
    add_city_to_register(root / "register.xlsx")
    for interview in MILAN:
        write_transcript(folder / interview["file"], interview)
    say(f"round 2: new city {NEW_CITY['city']}: {len(MILAN)} transcripts, "
        f"{len(MILAN) + len(MILAN_CONTACTS)} register rows and a row on the cities sheet")
    file, name, value = OVERRIDE
    cli(story, "override", "interview", "set", file, name, value, "--by", "pi")
    say(f"override: {file} {name} = {value}")
    replace_in_paragraphs(folder / EDITED, TYPO, FIXED)
    insert_paragraph_after(folder / EDITED, ANCHOR, INSERTED)
    say(f"{EDITED}: typo fixed ({FIXED!r}) and a paragraph inserted")
    cli(story, "retire", "interview", "retire", RETIRED, "--reason", RETIRE_REASON,
        "--by", "pi")
    say(f"retired {RETIRED}: {RETIRE_REASON}")
    story.codebook_version, changes = next_codebook(root / "codebooks" /
                                                    "integration_policy.yaml")
    cli(story, "codebook_validate", "codebook", "validate")
    say(f"codebook {story.codebook_version}: " + "; ".join(
        f"{c['kind']} {', '.join(c.get('from') or c.get('codes'))}"
        + (f" -> {', '.join(c['to'])}" if c.get("to") else "") for c in changes))
    inbox = root / "reviews" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / "ana-entities.xlsx"
    cli(story, "export_ana_entities", "review", "export", "--coder", "ana", "--sample",
        str(SAMPLE), "--seed", str(SEEDS["ana"]), "--out", str(path))
    story.workbooks["ana_entities"] = path
    entity_corrections(story, path)
    edits = story.entity_edits
    say(f"ana (workbook in reviews/inbox): merge {edits['merged_name']!r} into "
        f"{edits['into_name']!r} ({edits['city']}); {edits['actor_name']!r} is "
        f"{edits['category']}")
    cli(story, "run2", "run", *story.run_options)
    say("`cityqda run` again:\n    " + "\n    ".join(story.results["run2"].stderr.splitlines()))


def replay(story: Story, base: Path, say: Callable[[str], None]) -> None:
    root = story.root
    story.log = base / "human-record.jsonl"
    cli(story, "log", "review", "log", "--format", "jsonl", "--out", str(story.log))
    rebuilt = copy_study(base / "rebuilt", source=root)
    story.rebuilt = rebuilt
    cli(story, "rebuild_run", "run", "--no-import", *story.run_options,
        project=rebuilt)
    cli(story, "restore", "restore", str(story.log), project=rebuilt, expect=None)
    say(f"audit log ({sum(1 for _ in story.log.open(encoding='utf-8'))} events) replayed "
        f"into a store rebuilt from the transcripts and codebook: exit "
        f"{story.results['restore'].exit_code}; "
        + " ".join(story.results["restore"].stderr.splitlines()))


def exchange(story: Story, say: Callable[[str], None]) -> None:
    story.qdpx = story.root / "outputs" / "lifecycle.qdpx"
    cli(story, "qdpx", "export", "qdpx", "--out", str(story.qdpx))
    cli(story, "qdpx_check", "qdpx", "check", str(story.qdpx), expect=None)
    say(f"REFI-QDA project {story.qdpx.name}: `cityqda qdpx check` exit "
        f"{story.results['qdpx_check'].exit_code}")


def round_two_review(story: Story, say: Callable[[str], None]) -> None:
    """ben reviews the new round; ana settles the split codings of one city: the first
    becomes a health service (change), the others she accepts again with a comment (an
    unchanged pre-filled decision would not tell the import that she looked again)."""
    from openpyxl import load_workbook

    outbox = story.root / "reviews" / "outbox"
    path = outbox / "ben-round2.xlsx"
    cli(story, "export_ben_round2", "review", "export", "--coder", "ben", "--round",
        str(NEW_ROUND), "--out", str(path))
    story.workbooks["ben_round2"] = path
    round_two_filled = story.filled.setdefault("ben_round2", {})
    workbook = load_workbook(path)
    _header, rows = sheet_rows(workbook, "Codings")
    for number, row in rows:
        round_two_filled[row["row_id"]] = ben_decides(coding_id(row["row_id"]))
        set_cells(workbook, "Codings", number, {"decision": round_two_filled[row["row_id"]]})
    workbook.save(path)
    path = outbox / "ana-split.xlsx"
    cli(story, "export_ana_split", "review", "export", "--coder", "ana", "--city",
        SPLIT_CITY, "--code", SPLIT[0], "--out", str(path))
    story.workbooks["ana_split"] = path
    split_filled = story.filled.setdefault("ana_split", {})
    workbook = load_workbook(path)
    _header, rows = sheet_rows(workbook, "Codings")
    for number, row in rows:
        if row["code"] == SPLIT[0] and "needs review" in (row["flags"] or ""):
            if not split_filled:
                values = {"decision": "change", "corrected_code": SPLIT[1][0]}
            else:
                # the pre-filled accept stays: a comment says it was looked at again
                values = {"decision": "accept",
                          "comment": f"checked after the split: still {SPLIT[0]}"}
            split_filled[row["row_id"]] = values["decision"]
            set_cells(workbook, "Codings", number, values)
    workbook.save(path)
    cli(story, "import_round2", "review", "import", str(story.workbooks["ben_round2"]),
        str(path))
    story.alias_edit = append_to_paragraph_naming(story.root / TRANSCRIPTS,
                                                  story.entity_edits["merged_name"],
                                                  ALIAS_ADDITION)
    say(f"round 2 review: ben decided {len(round_two_filled)} codings of round "
        f"{NEW_ROUND}; ana re-decided {len(split_filled)} codings of the split code in "
        f"{SPLIT_CITY} (one changed to {SPLIT[1][0]}); {story.alias_edit['file']}: a "
        f"sentence added where {story.entity_edits['merged_name']!r} is named (re-coded: "
        "the merged name must find the initiative it was merged into)")
    cli(story, "run3", "run", *story.run_options)
    say("`cityqda run` once more:\n    " + "\n    ".join(
        line for line in story.results["run3"].stderr.splitlines()
        if not line.startswith("output ")))


def run_story(base: Path, say: Callable[[str], None] = lambda line: None,
              between: Callable[[Story, str], None] | None = None,
              pdf: bool = False) -> Story:
    """The whole story under `base`; `between(story, stage)` runs after "round1" and after
    "round2" (the test takes its snapshots there). PDF reports only with `pdf`."""
    story = Story(copy_study(base / "study"), run_options=() if pdf else ("--no-pdf",))
    round_one(story, say)
    if between is not None:
        between(story, "round1")
    round_two(story, say)
    if between is not None:
        between(story, "round2")
    round_two_review(story, say)
    replay(story, base, say)
    exchange(story, say)
    return story


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="Folder to keep the study in (must not "
                        "exist); default: a temporary folder removed at the end")
    parser.add_argument("--pdf", action="store_true", help="Also make the PDF reports "
                        "(needs LibreOffice; slower)")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))

    def say(line: str) -> None:
        print(f"- {line}", flush=True)

    if options.keep is not None:
        options.keep.mkdir(parents=True)
        story = run_story(options.keep, say, pdf=options.pdf)
    else:
        with tempfile.TemporaryDirectory(prefix="cityqda-lifecycle-") as folder:
            story = run_story(Path(folder), say, pdf=options.pdf)
    changes = story.root / "outputs" / "changes.md"
    if options.keep is not None and changes.is_file():
        print(f"change report: {changes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
