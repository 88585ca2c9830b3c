"""Every user-facing error and warning, with its stable code.

Codes are ``CQ`` plus three digits and never change meaning once released; a retired
code stays listed (``retired=True``) so old logs still explain themselves. Blocks of
codes belong to stages so that modules can add codes without colliding:

    CQ0xx  study folder, configuration, CLI usage, store
    CQ1xx  ingest (DOCX reading, metadata, versions)
    CQ2xx  codebook and automatic coder
    CQ3xx  actors, initiatives, partnerships
    CQ4xx  coding into the store
    CQ5xx  review workbooks, decisions, audit log
    CQ6xx  agreement and adjudication
    CQ7xx  aggregate tables, cross-checks, reports, run
    CQ8xx  exchange (REFI-QDA)
    CQ9xx  guides and register

Exit codes follow DESIGN invariant 4: 0 nothing failed, 1 some input failed, 2 usage.
``docs/errors.md`` is generated from this table (``python -m pipeline.errors``) and a
test keeps it current.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    title: str
    template: str
    hint: str
    exit_code: int = EXIT_INPUT
    level: str = "error"  # "error" or "warning"
    retired: bool = False


ERRORS: dict[str, ErrorSpec] = {}


def _define(code, title, template, hint, exit_code=EXIT_INPUT, level="error"):
    if code in ERRORS:
        raise ValueError(f"error code {code} defined twice")
    ERRORS[code] = ErrorSpec(code, title, template, hint, exit_code, level)


def _warning(code, title, template, hint):
    _define(code, title, template, hint, EXIT_OK, "warning")


# --- CQ0xx: study folder, configuration, CLI usage, store -------------------------------
_define("CQ001", "No study here",
        "{path} is not a cityqda study: it has no cityqda.toml",
        "Run `cityqda init DIR` to create a study, or pass `--project DIR` pointing at one.",
        EXIT_USAGE)
_define("CQ002", "Study already exists",
        "{path} already holds a study (found {found})",
        "Choose an empty or new folder; `init` never overwrites an existing study.",
        EXIT_USAGE)
_define("CQ003", "Invalid configuration",
        "{path}: {field}: {problem}",
        "Fix that entry in cityqda.toml (see the comments in a fresh `cityqda init` study).")
_define("CQ004", "Configuration is not valid TOML",
        "{path}: {problem}",
        "Fix the TOML syntax at the position given; quote strings and paths.")
_define("CQ005", "Unknown coder",
        "coder {coder!r} is not declared in {path}",
        "Add it under [[coders]] with a role (`coder` or `adjudicator`), or use one of: {known}.",
        EXIT_USAGE)
_define("CQ006", "Path not found",
        "{path} does not exist",
        "Check the path; CLI paths are relative to the working directory, config paths to the "
        "study folder.")
_define("CQ007", "Folder has files init would replace",
        "{path} is not a study yet but already has {found}, which `init` would replace",
        "Move those away (or init a new folder and copy your transcripts into its "
        "transcripts/ folder); `init` never overwrites a file, and wrote nothing.",
        EXIT_USAGE)
_define("CQ008", "Cannot create the study",
        "{path}: {problem}",
        "Choose a folder you can write to (check it exists, its permissions and free space); "
        "nothing was written.")
_define("CQ010", "Store from a newer cityqda",
        "{path} has store schema version {found}, newer than this cityqda supports ({supported})",
        "Upgrade cityqda (`pip install -U cityqda`); the store was left untouched.")
_define("CQ011", "Store cannot be opened",
        "{path}: {problem}",
        "Check the file is a cityqda store and not in use by a program that locks it. If it "
        "is damaged, put the latest backup back with `cityqda restore backups/<file>.sqlite` "
        "(it saves the damaged store first).")
_define("CQ012", "Store is busy",
        "{path} is locked by another cityqda process: {problem}",
        "Wait for the other command to finish, then run this one again; nothing was changed.")
_define("CQ013", "Backup target exists",
        "{path} already exists",
        "Name a new file for the backup, or remove the old one first.",
        EXIT_USAGE)
_define("CQ015", "Cannot write the backup",
        "{path}: {problem}",
        "Choose a folder you can write to, with room for a copy of the store; nothing was "
        "written there and the store is unchanged.")
_define("CQ014", "Not a store backup",
        "{path} is not a cityqda store: {problem}",
        "Pass a file written by `cityqda backup`.")
_define("CQ016", "Store in use",
        "{path} is open in another cityqda command, so it cannot be replaced now",
        "Wait for the other command (a run, an import, a status...) to finish, or stop it, "
        "then restore again; nothing was changed.")
_define("CQ017", "Backup is damaged",
        "{path} fails SQLite's integrity check: {problem}",
        "Restore an older backup from backups/ instead; nothing was changed.")
_define("CQ018", "Backup from another study",
        "{path} is a store of {found!r}, not of this study ({expected!r})",
        "Restore a backup of this study (they are in its backups/ folder). If you renamed the "
        "study in cityqda.toml since the backup was made, pass --force; nothing was changed.")
_define("CQ019", "Store cannot be replaced",
        "{path} could not be replaced by the backup: {problem}",
        "Close every program that has the store open (on Windows also a running cityqda "
        "command, an SQLite browser or a sync client), then restore again. The store is as it "
        "was; {saved}.")
_warning("CQ050", "Store in a synchronised or network folder",
         "{path} lies in {kind}; SQLite stores can be corrupted when a sync client or network "
         "share copies them while they are written",
         "Move the study to a local folder, or pause syncing while cityqda runs.")
_warning("CQ051", "Store upgraded",
         "{path} was upgraded from schema version {old} to {new}; the previous file was copied "
         "to {backup}",
         "Nothing to do; keep the copy until you have checked the upgraded study.")

# --- CQ1xx: ingest ------------------------------------------------------------------------
_define("CQ101", "Not a Word document",
        "not a Word document (.docx): {problem}",
        "Open it in Word or LibreOffice and save it as \"Word Document (.docx)\", then ingest "
        "again.")
_define("CQ102", "Damaged Word document",
        "damaged or truncated: {problem}",
        "Open it in Word (which can often repair it) and save a new .docx, or copy the file "
        "again from where it came from; nothing of it was stored.")
_define("CQ103", "Password-protected document",
        "encrypted with a password, so its text cannot be read",
        "In Word remove the password (File > Info > Protect Document > Encrypt with Password, "
        "clear the box), save, and ingest again.")
_define("CQ104", "Legacy Word 97-2003 document",
        "a Word 97-2003 document (.doc), not a .docx",
        "Open it in Word or LibreOffice and save it as \"Word Document (.docx)\"; then remove "
        "the .doc from the transcripts folder.")
_define("CQ105", "RTF document",
        "a Rich Text Format (RTF) file{renamed}",
        "Open it in Word or LibreOffice and save it as \"Word Document (.docx)\"; then remove "
        "the old file from the transcripts folder.")
_define("CQ106", "Document unpacks to an absurd size",
        "{problem}",
        "This is not an ordinary Word document (it looks like a zip bomb); nothing was read. If "
        "it is genuine, remove large embedded objects and save it again.")
_define("CQ107", "Document declares XML entities",
        "part {part} declares a DTD or XML entities, which Word never writes",
        "The file may have been crafted to read other files; nothing was read. If you trust its "
        "source, open it in Word and save it again.")
_define("CQ108", "File cannot be read",
        "{problem}",
        "Check that the file exists, that you may read it, and that no other program holds it.")
_define("CQ109", "Unexpected error reading a document",
        "cityqda could not read it: {problem}",
        "This is a bug in cityqda, not in your file; the other files went through. Please "
        "report it with the message (and the file, if you may share it).")
_warning("CQ110", "Skipped: not a Word document",
         "skipped: {kind} files are not transcripts",
         "Only .docx files are ingested. Save transcripts as \"Word Document (.docx)\"; move "
         "other files out of the transcripts folder to silence this.")
_warning("CQ120", "No metadata",
         "no metadata found (no table or Field: value lines at the top, no document "
         "properties, no register row)",
         "Add a Field: value block at the top of the transcript, or a register row with "
         "transcript_file {name}; cityqda does not guess metadata from the text.")
_warning("CQ121", "Unknown stakeholder category",
         "stakeholder category {value!r} (from the {source}) is not a known category",
         "Use one of {known}, add the wording to the vocabulary variants, or record it with "
         "`cityqda interview set {file} stakeholder_category ID`.")
_warning("CQ122", "Unknown city",
         "city {value!r} (from the {source}) is not in the register's cities sheet",
         "Add the city, or this spelling as an alias, to the cities sheet of the register.")
_warning("CQ123", "Unknown section",
         "heading {heading!r} matches no section of the {guide} guide",
         "Write the guide's section title (its sections: {sections}), or add this wording "
         "as an alias of the section in the guide file ({known}).")
_warning("CQ124", "Metadata sources disagree",
         "{field} is {winner!r} in the {winner_source} but {other!r} in the "
         "{other_source}; using {winner!r}",
         "Correct the wrong source, or record the right value with `cityqda interview set "
         "{file} {field} VALUE`.")
_warning("CQ125", "Not in the register",
         "no row in the register names this file (transcript_file)",
         "Add a register row with outcome interviewed and transcript_file {name}.")
_warning("CQ126", "Empty document",
         "the body holds no text",
         "Check it is the right file; an empty transcript gives no segments.")
_warning("CQ127", "Ambiguous date",
         "date {value!r} (from the {source}) could be day-first or month-first; read "
         "day-first as {iso}",
         "Write dates as YYYY-MM-DD, or record the right one with `cityqda interview set {file} "
         "interview_date YYYY-MM-DD`.")
_warning("CQ128", "Unreadable date",
         "date {value!r} (from the {source}) is not a date; kept as written",
         "Write dates as YYYY-MM-DD (or like 14 March 2021).")
_warning("CQ129", "Unknown vocabulary value",
         "{field} {value!r} (from the {source}) is not a known value",
         "Use one of {known}, or add the wording to the vocabulary variants.")
_warning("CQ131", "Duplicate file",
         "a byte-identical copy of {original}; not ingested",
         "Delete the copy; if it is a different interview, the wrong file was saved under its "
         "name.")
_warning("CQ132", "Transcript missing",
         "interview {interview_id} is no longer in {folder}; it stays active",
         "Put the file back, or retire the interview: `cityqda interview retire {file} --reason "
         "TEXT`.")
_warning("CQ133", "Transcript of a purged interview",
         "interview {interview_id} was purged (consent withdrawn); the file was not read",
         "Delete the file. If consent was given again, run `cityqda interview retire "
         "{interview_id} --undo`; the next ingest takes the file in as a new interview.")
_warning("CQ134", "Content left out",
         "{what} was left out of the text, so it is not coded",
         "If it belongs to the interview, open the document in Word, make it ordinary "
         "visible text, and save.")
_warning("CQ135", "Transcript not ingested yet",
         "{state} since the last ingest",
         "Run `cityqda ingest`.")
_warning("CQ136", "Missing transcript looks renamed and edited",
         "interview {interview_id} is missing, and {new_file} (interview {new_id}, added "
         "after it) repeats {shared} of its {total} paragraphs: if it is the same "
         "transcript renamed and edited, both are counted and the decisions stay with the "
         "missing one",
         "Rename {new_file} back to {old_name} and ingest: it becomes a new version of "
         "interview {interview_id}, decisions kept; then retire interview {new_id} "
         "(`cityqda interview retire {new_id} --reason \"renamed copy\"`) and keep the old "
         "name (the new one stays with the retired interview).")
_warning("CQ137", "New version of a retired interview",
         "interview {interview_id} is retired: this new version is stored but stays out of "
         "exports, reviews and tables",
         "If it should count again, run `cityqda interview retire {file} --undo`.")
_define("CQ138", "File holds another interview's transcript",
        "{file} was ingested as interview {interview_id} but now holds the text of interview "
        "{other_id} ({other_file}); {where}. Nothing was read from it, so no decision moves "
        "to another interview",
        "{action}; then run `cityqda ingest` again. Each interview follows its own text back "
        "to its name.")
_warning("CQ139", "Renamed, and a new file saved under the old name",
         "interview {interview_id} moved with its bytes from {file} to {new_file}; the file "
         "now at {file} was taken as a new interview",
         "Nothing to do if that is what happened; otherwise put the files back under their "
         "former names and ingest.")
_define("CQ140", "Unknown interview",
        "no interview matches {ref!r}",
        "Give the transcript's file name, its path, or the interview id shown by `cityqda "
        "status`.",
        EXIT_USAGE)
_define("CQ141", "Ambiguous interview",
        "{ref!r} matches several interviews: {matches}",
        "Give the path or the interview id instead.",
        EXIT_USAGE)
_define("CQ142", "Unknown metadata field",
        "{field!r} is not a metadata field",
        "Use one of {known}.",
        EXIT_USAGE)
_define("CQ143", "Invalid metadata value",
        "{field} {value!r}: {problem}",
        "{advice}",
        EXIT_USAGE)
_define("CQ144", "Interview not in that state",
        "interview {ref} is {state}: {problem}",
        "{advice}",
        EXIT_USAGE)
_define("CQ145", "Output file needed",
        "--format {format} writes a binary file and needs --out FILE",
        "Add --out segments.{format}.",
        EXIT_USAGE)
_define("CQ146", "Cannot write the segment export",
        "cannot write the export here: {problem}",
        "Check that the folder exists and is writable and that the file is not open in Excel "
        "or another program, then export again; an existing file was left as it was.")

# --- CQ2xx: codebook and automatic coder ---------------------------------------------------
_define("CQ201", "Codebook cannot be read",
        "{path}: {problem}",
        "Check the path, save the file as UTF-8 and fix the YAML syntax at the line given.")
_define("CQ202", "Codebook does not match the codebook schema",
        "{location}: {problem}",
        "Fix that entry; `cityqda codebook show` on the packaged codebook shows a valid layout.")
_define("CQ203", "Codebook id used twice",
        "{location}: id {id!r} is already used at {first}",
        "Give every code, pattern, rule and cue its own id; ids are stable, so rename the new "
        "one, not the old one.")
_define("CQ204", "Codebook names a code it does not define",
        "{location}: {what} {ref!r} is not defined in this codebook",
        "Use the id of a code or pattern defined under `codes` (see `cityqda codebook show`), "
        "or add it.")
_define("CQ205", "Codebook pattern does not compile",
        "{location}: {problem}",
        "Write phrases as plain words with optional {{a|b}} alternatives, and token patterns as "
        "spaCy token specs (https://spacy.io/usage/rule-based-matching).")
_define("CQ206", "Codebook hierarchy is wrong",
        "{location}: {problem}",
        "Dimensions are the study's dimensions; a subcode's parent is a dimension; a "
        "challenge's parent is the challenge group.")
_define("CQ210", "Malformed input line",
        "line {line}: {problem}",
        "Give one JSON object per line with a string `text` and an `id`, e.g. "
        '{{"id": "s1", "text": "..."}}; use --keep-going to tag the other lines anyway.')
_define("CQ211", "Conflicting input options",
        "{problem}",
        "Give either --text, or --input FILE, or JSON Lines on standard input.",
        EXIT_USAGE)
_define("CQ212", "Cannot write the export",
        "{path}: {problem}",
        "Choose a writable path with the extension of the format (.xlsx or .csv).")

# --- CQ3xx: actors, initiatives, partnerships -----------------------------------------------
_define("CQ301", "Actor registry cannot be read",
        "{path}: {problem}",
        "Check the path, save the file as UTF-8 and fix the YAML syntax at the line given.")
_define("CQ302", "Actor registry does not match the registry schema",
        "{location}: {problem}",
        "Fix that entry; each actor needs id, name, category and sector, and may have aliases, "
        "city, country, parent and note (see pipeline/schemas/actors.schema.json).")
_define("CQ303", "Actor id used twice",
        "{location}: id {id!r} is already used at {first}",
        "Give every actor its own id; ids are stable, so rename the new one, not the old one.")
_define("CQ304", "Unknown parent actor",
        "{location}: parent {parent!r} is not the id of an actor in this registry",
        "Write the id of the body this actor belongs to (e.g. the municipality's id), or add "
        "that body to the registry, or remove `parent`.")
_define("CQ305", "Parent actors form a cycle",
        "{location}: parents go round in a circle ({cycle})",
        "An actor cannot belong, directly or through others, to itself; fix the `parent` of "
        "one of them.")
_define("CQ306", "Name shared by two actors",
        "{location}: {alias!r} also names {other_id!r} at {other} (both among {scope})",
        "A name or alias must point at one actor of a city (names are compared ignoring case, "
        "accents and punctuation); remove it from one of them, or set their city or country "
        "if they are different bodies.")
_define("CQ307", "Unknown actor category",
        "{location}: category {category!r} is not one of the study's categories ({known})",
        "Use one of the study's categories, or add the category to [vocabularies] categories "
        "in cityqda.toml.")
_define("CQ310", "Cannot write the actor registry",
        "{path}: {problem}",
        "Choose a writable path for --out; nothing was written.")
_define("CQ311", "Entity cue lists are invalid",
        "{location}: {problem}",
        "Fix that entry against pipeline/schemas/entity_cues.schema.json.")
_warning("CQ350", "Unusual sector for the category",
         "{location}: a {category} is usually {expected}, not {sector}",
         "Check the category and sector; keep them if the organisation really is so (e.g. a "
         "state-owned company).")
_warning("CQ351", "Name listed twice for one actor",
         "{location}: {alias!r} is the same name as {other} once case, accents and "
         "punctuation are ignored",
         "Remove the repeated alias; matching already covers those differences.")
_warning("CQ352", "No reviewed actors in the store",
         "{path} holds no reviewed actors yet{reason}; the registry was written as it is",
         "Code the study and review its actors first; `actors export` then adds the confirmed "
         "ones.")

# --- CQ4xx: coding into the store -----------------------------------------------------------
_define("CQ401", "Codebook changed without a new version",
        "version {version} was used before with other matching content ({what})",
        "Give the codebook a new `version` (e.g. {suggested}) and list renamed, merged, split or "
        "retired codes under `changes`; wording-only edits (labels, definitions, examples) may "
        "keep the version. Nothing was coded.")
_define("CQ402", "Coded codes missing from the codebook",
        "codes {codes} have codings in the store but are not in the codebook, and no "
        "`changes` entry says what became of them",
        "Keep the code (with `retired: true`), or say what became of it under `changes:`, with "
        "the codebook's new version, e.g. a rename: `- {{version: 1.2.0, kind: renamed, from: "
        "[OLD.ID], to: [NEW.ID]}}` (merged: several from, one to; split: one from, several to; "
        "retired: `codes: [OLD.ID]`). Decisions follow a renamed or merged code. Nothing was "
        "coded.")
_define("CQ403", "Code id reused",
        "code {code_id!r} is defined again, but codebook version {version} {how}",
        "Code ids are never reused: give the new code another id. Nothing was coded.")
_define("CQ404", "Unknown decision",
        "decision {decision!r} on coding {coding_id}: {problem}",
        "Use one of accept, reject, change, discuss (role coder or adjudicator) on a coding that "
        "exists.")
_define("CQ410", "Codebook change entry is wrong",
        "{location}: {problem}",
        "Write each `changes` entry as {{version, kind, from, to}} (renamed: one from, one to; "
        "merged: from several, one to; split: one from, several to) or {{version, kind: "
        "retired, codes}}; codes it leads to must be defined, codes it ends must not stay "
        "active.")
_warning("CQ420", "Segment changed while coding",
         "interview {interview_id}: {count} segment(s) changed after they were read (another "
         "ingest ran meanwhile); they were not coded",
         "Run `cityqda code` again.")
_warning("CQ421", "The study's actor registry is missing",
         "the actor registry that paths.actors names does not exist, so actors were recognised "
         "with the package's default registry only; the study's own organisations are "
         "missed",
         "Put the file back (restore it from version control or a backup) or correct "
         "paths.actors, then run again; nothing the coders decided was lost.")

# --- CQ5xx: review workbooks, decisions, audit log -------------------------------------------
_define("CQ500", "Review workbook cannot be read",
        "{problem}",
        "Save the workbook as an Excel workbook (.xlsx) and close it in Excel before importing; "
        "import the file you received from `cityqda review export`, not a copy in another "
        "format.")
_define("CQ501", "Review sheet missing",
        "no sheet named {expected!r}; the workbook has: {found}",
        "Do not rename or delete the sheets of a review workbook; export a new one with "
        "`cityqda review export` if it was damaged.")
_define("CQ502", "Review column missing",
        "no column {expected!r} in the header row; found: {found}",
        "Put the header back as exported (row 1); columns may be moved but not renamed or "
        "deleted.")
_define("CQ503", "Workbook from another study",
        "the workbook belongs to study {found!r}, not to this study {expected!r}",
        "Import it into the study it was exported from (`--project DIR`).")
_define("CQ504", "Export not in this store",
        "export {export_id!r} is not recorded in this store",
        "Import workbooks into the study store that exported them; a store rebuilt since "
        "cannot take old workbooks (replay the audit log with `cityqda restore` instead).")
_define("CQ505", "Workbook of another coder",
        "the workbook was exported for coder {expected!r} but {found}",
        "Each coder returns their own workbook; do not edit the _meta sheet. Export one for "
        "{found_coder} with `cityqda review export --coder {found_coder}`.")
_define("CQ506", "Row id repeated",
        "row id {row_id!r} appears again (first on row {first})",
        "Keep one row per id: delete the copy. To add a coding, copy the row and change its "
        "code (the copy becomes a manual coding), or use add_code on the Segments sheet.")
_define("CQ507", "Unknown row id",
        "row id {row_id!r} is not part of export {export_id}",
        "Do not type, change or clear ids. To add a coding, copy a whole row (row_id "
        "included) and change its code, or use the add_code column of the Segments sheet; "
        "delete rows that hold nothing to import.")
_define("CQ508", "Read-only cell edited",
        "read-only column {field!r} was changed (now {found!r}, exported {expected!r})",
        "Undo the edit: only decision, corrected_code, corrected_flags and comment (and "
        "add_* on Segments) are read; write remarks in the comment column.")
_define("CQ509", "Unknown decision",
        "{value!r} is not a decision",
        "Write one of {known}, or leave the cell empty for no decision.")
_define("CQ510", "Unknown code",
        "{value!r} is not a code of codebook {codebook} {version}",
        "Use a code id from the dropdown or the Codebook sheet. A code renamed or merged in a "
        "later codebook version is translated automatically when that version's `changes:` "
        "says so; a code renamed without such an entry is this error (and CQ402 in `run`).")
_define("CQ511", "Bad flags",
        "{value!r} is not a list of flags",
        "Write the flags that apply separated by commas, from: {known}; write none to clear "
        "every flag.")
_define("CQ512", "Decision contradicts the correction",
        "decision {decision!r} with {field} {value!r}",
        "Write change as the decision when you correct the code or the flags, or clear the "
        "correction.")
_define("CQ513", "Formula in a review cell",
        "the cell holds a formula ({formula})",
        "Type the value itself (paste as values only); review imports take typed values.")
_define("CQ514", "Stale row",
        "{row_id}: {reason}",
        "Export a fresh workbook for this coder, or import with --skip-stale to apply the "
        "other rows and leave these as they are in the store.")
_define("CQ515", "Added coding cannot be placed",
        "{problem}",
        "Copy the evidence exactly from the segment text (add_evidence), or leave it empty to "
        "code the whole segment.")
_define("CQ516", "Not a review workbook",
        "{problem}",
        "Import workbooks written by `cityqda review export`; keep their hidden _meta sheet "
        "as it is.")
_define("CQ517", "Change without a correction",
        "decision change but corrected_code and corrected_flags are empty",
        "Write the right code in corrected_code (or the right flags in corrected_flags), or "
        "choose reject.")
_define("CQ518", "Comment without a decision",
        "the comment is filled in but decision is empty",
        "Choose a decision too (discuss raises the comment with the team), or move the remark "
        "to the Interviews memo.")
_define("CQ519", "Change to what the coding already is",
        "decision change but the correction is what the coding already has ({current})",
        "Choose accept when the coding is right; to correct it, write a different code in "
        "corrected_code or different flags in corrected_flags.")
_define("CQ520", "Audit log line cannot be replayed",
        "line {line}: {problem}",
        "Pass a log written by `cityqda review log --format jsonl`; do not edit it.")
_define("CQ521", "Logged coding not found",
        "line {line}: no coding in this store matches {what}",
        "Rebuild the store from the same transcripts and codebook as the logged study "
        "(`cityqda run --no-import`) before `cityqda restore`.")
_define("CQ522", "Store already holds decisions",
        "the store already holds {count} decision(s)",
        "Restore replays a log into a freshly rebuilt store; pass --force to replay into this "
        "one anyway (later log entries overwrite current decisions).",
        EXIT_USAGE)
_define("CQ523", "Unknown review filter value",
        "{option} {value!r} matches nothing; known: {known}",
        "Use one of the values listed.",
        EXIT_USAGE)
_define("CQ524", "Review file cannot be written",
        "{path}: {problem}",
        "Choose a folder you may write to with --out, or close the file of that name in "
        "Excel or another program, and run again; nothing was written or recorded.")
_define("CQ525", "Review workbook name without .xlsx",
        "{path}: a review workbook is an Excel workbook and its name must end in .xlsx",
        "Give --out a name ending in .xlsx (Excel opens a file by its extension).",
        EXIT_USAGE)
_warning("CQ526", "Workbook given twice",
         "the same workbook (same content) was given earlier in this import, as {first}; "
         "it is imported once",
         "Nothing to do; pass each returned workbook once (and keep one copy in the inbox).")
_define("CQ527", "Audit log holds no events",
        "{path}: no event to replay (the file is empty or holds only blank lines)",
        "Pass the log written by `cityqda review log --format jsonl --out LOG` from the study "
        "whose decisions you want back; nothing was restored.")
_warning("CQ530", "Rows deleted from the workbook",
         "{count} row(s) of export {export_id} are missing (e.g. {examples}); they keep "
         "their decision in the store (no decision if they had none), never rejected",
         "Nothing to do if deleting them was meant; otherwise decide them in a new export.")
_warning("CQ531", "Workbook already imported",
         "this workbook (same content) was already imported on {time}; nothing to do",
         "Nothing to do; edit the workbook or export a new one to record more decisions.")
_warning("CQ532", "Stale rows skipped",
         "{count} stale row(s) left as they are in the store: {rows}",
         "Export a fresh workbook to review them again.")
_warning("CQ533", "Nothing to review",
         "no codings or segments match the filters; the workbook is empty",
         "Loosen the filters, or run `cityqda code` first.")
_warning("CQ534", "Entity decision not replayed",
         "line {line}: {problem}",
         "Install a cityqda with entity review, then restore again to replay entity decisions.")
# --- CQ535-CQ549: adopting a workbook exported from another copy of the study (review-adopt)
_define("CQ535", "Workbook row differs from this store",
        "this workbook was exported from another store; row {at_row} shows a different {what} "
        "than {row_id} here (column {field}: the workbook shows {found!r}, this store "
        "{here!r})",
        "The study's inputs differ from those the workbook was exported from (transcripts, "
        "codebook, or coding rules changed). Import it into the store it came from, or "
        "export a new workbook here (`cityqda review export --coder CODER`) and copy the "
        "decisions over; for the sample study's demo workbooks run "
        "`python scripts/build_demo_reviews.py`. Nothing was imported.")
_define("CQ536", "Workbook row unknown to this store",
        "this workbook was exported from another store; row id {row_id!r} names no {what} "
        "here and none here shows the same cells",
        "Import it into the store it came from, or export a new workbook here (`cityqda "
        "review export --coder CODER`) and copy the decisions over. Nothing was imported.")
_define("CQ537", "Workbook of an undeclared coder",
        "export {export_id!r} is unknown to this store and was made for coder {coder!r}, "
        "who is not declared in cityqda.toml (declared: {known})",
        "Declare the coder under [[coders]] in cityqda.toml to import a workbook exported "
        "from another copy of the study, or import it into the store that exported it.")
_define("CQ538", "Workbook kind does not fit the coder's role",
        "export {export_id!r} is a {kind} workbook but coder {coder!r} has role {role} here",
        "Give the coder the same role in cityqda.toml as in the study the workbook came "
        "from, or export a new workbook here.")
_define("CQ550", "Entity decision refused",
        "{entity} {entity_id}: {problem}",
        "Use one of the decisions offered (confirm, reject, merge, discuss) and a role from "
        "cityqda.toml; nothing was changed.")
_define("CQ551", "Entity not in the store",
        "{entity} {entity_id} is not in this store",
        "Decide on entities listed in a fresh review workbook (`cityqda review export`); an "
        "entity from another study or a rebuilt store cannot be found.")
_define("CQ552", "Merge not possible",
        "{entity} {entity_id}: {problem}",
        "Write the row id of the entity to keep in merge_into (e.g. I12), choose merge as the "
        "decision, and do not merge an entity into itself or into one merged into it.")
_define("CQ553", "Entity field value not allowed",
        "{entity} {entity_id}: {field}: {problem}",
        "Pick the value from the cell's dropdown (several separated by commas); name actors "
        "(parties, parent) by their row id on the Actors sheet, such as A12, and not the "
        "actor itself or one below it as parent; a good-practice verdict needs a "
        "justification.")

# --- CQ6xx: agreement and adjudication --------------------------------------------------------
_define("CQ601", "Adjudicator named for agreement",
        "{coder!r} has the role adjudicator; agreement compares independent coders only",
        "Name coders with the role `coder` (see [[coders]] in cityqda.toml), or leave "
        "`--coder` out to compare every coder.",
        EXIT_USAGE)
_define("CQ602", "Agreement report cannot be written",
        "{path}: {problem}",
        "Close the file if Excel has it open, or choose a folder you may write to with "
        "--out, and run again.")
_define("CQ603", "Agreement report name without .xlsx",
        "{path}: the agreement report is an Excel workbook and its name must end in .xlsx",
        "Give --out a name ending in .xlsx (Excel opens a file by its extension).",
        EXIT_USAGE)
_warning("CQ650", "Nothing to compare",
         "agreement was not computed: {reason}",
         "Export the same segments to two or more coders (`cityqda review export`), import "
         "their workbooks, then run `cityqda agreement` again.")

# --- CQ7xx: aggregate, cross-checks, reports, run --------------------------------------------
_define("CQ740", "Output cannot be written",
        "{path}: {problem}",
        "Close the file if Word, Excel or a PDF viewer has it open, check that the outputs "
        "folder can be written, and run again; the other outputs were written.")
_define("CQ741", "Unknown city",
        "no active interview in the store is from city {city!r}; cities: {known}",
        "Use one of the cities listed (as written in the register), or ingest that city's "
        "transcripts first.",
        EXIT_USAGE)
_warning("CQ743", "City opening text cannot be read",
         "the opening text cannot be read: {problem}",
         "Save cities/<city>.md as UTF-8 plain text (Markdown); the report was written "
         "without its opening text.")
_warning("CQ745", "City opening text names no city",
         "it matches no city of the study, so no report opens with it",
         "Name it after a city's name or code as the reports know them (e.g. {example}); the "
         "study's cities: {cities}.")
_warning("CQ744", "PDF not made",
         "{path}: LibreOffice could not convert it: {problem}",
         "The DOCX report was written; open it in Word or LibreOffice and export a PDF, or "
         "check that `soffice --headless --convert-to pdf` works on this machine.")
_define("CQ701", "Interviewee table disagrees with the interviews",
        "{city}: the interviewees table counts {table} interview(s), but the store holds "
        "{store} current interview(s) for this city{scope}",
        "This is a bug in cityqda, not in your data; report it with the message. The tables "
        "were written but should not be used until it is fixed.")
_define("CQ702", "Interviews disagree with the register",
        "{city}: {interviews} current interview(s) but {register} register row(s) marked "
        "interviewed{scope}{detail}",
        "Make the register's outcome, city and transcript_file match the transcripts ingested "
        "(or the transcripts' City metadata match the register); then run `cityqda aggregate` "
        "again.")
_define("CQ703", "Initiatives table disagrees with the confirmed initiatives",
        "{city}: the initiatives table sums to {table} (initiative, dimension) pair(s), but "
        "the store holds {store} for its confirmed existing initiatives: {detail}",
        "Review the initiatives named: give each only the study's dimensions ({known}), each "
        "once, in the review workbook's Initiatives sheet; then run `cityqda aggregate` again.")
_define("CQ704", "Partnerships table disagrees with the confirmed partnerships",
        "{city}: the partnerships table counts {table} partnership(s), but the store holds "
        "{store} confirmed existing partnership(s): {detail}",
        "Give the partnerships named one of the study's types ({known}) in the review "
        "workbook's Partnerships sheet; then run `cityqda aggregate` again.")
_define("CQ705", "Transcript without a register row",
        "interview {interview_id} ({file}) has no register row naming it in transcript_file",
        "Add a register row with outcome interviewed and transcript_file {file}, or retire the "
        "interview (`cityqda interview retire {file} --reason TEXT`).")
_define("CQ706", "Interviewed register row without a transcript",
        "{city}: the row is marked interviewed with transcript_file {value!r}, but no current "
        "interview in the store comes from that file",
        "Put the transcript in the transcripts folder and run `cityqda ingest` (or `cityqda "
        "run`), or correct transcript_file or the outcome.")
_define("CQ720", "Cannot write the aggregate outputs",
        "{path}: {problem}",
        "Choose a writable folder with --out (or free the file if Excel holds it open); files "
        "already written are complete, the one named was not written.")
_define("CQ721", "Unknown round",
        "round {round!r} is not in the register; its rounds are: {known}",
        "Give one of the register's rounds, or leave out --round for all rounds.",
        EXIT_USAGE)
_warning("CQ730", "Register checks skipped",
         "the register lists no contacted stakeholders, so the response-rate table is empty "
         "and interviews were not checked against the register",
         "Fill in the register (one row per stakeholder contacted) to get response rates and "
         "the register cross-checks.")
_warning("CQ731", "Parquet not written",
         "pyarrow is not installed, so {what} were written as CSV and XLSX only",
         "Install the optional extra (`pip install cityqda[parquet]`) to also get Parquet "
         "files.")
_warning("CQ732", "Codebook not read for labels",
         "{path} could not be loaded ({problem}); code labels and code order come from the "
         "codings",
         "Fix the codebook (`cityqda codebook validate`); the datasets are complete without "
         "it.")

# --- CQ8xx: exchange (REFI-QDA) ---------------------------------------------------------------
_define("CQ801", "Not a REFI-QDA file",
        "not a REFI-QDA project (.qdpx, .qde) or codebook (.qdc): {problem}",
        "Export again from the other program as \"REFI-QDA Project\" (.qdpx) or \"REFI-QDA "
        "Codebook\" (.qdc) and pass that file.")
_define("CQ802", "Damaged REFI-QDA archive",
        "the zip archive is damaged: {problem}",
        "Copy the file again from where it came from, or export it again; nothing of it was "
        "read.")
_define("CQ803", "REFI-QDA file too large",
        "{problem}",
        "This is not an ordinary project export (it may be a zip bomb); nothing was read. If it "
        "is genuine, export the project without audio, video or images.")
_define("CQ804", "Unsafe path in a REFI-QDA archive",
        "{name!r} {problem}",
        "The file names places outside its own folders, which a project export never does; "
        "nothing was read. Export the project again from the program that made it.")
_define("CQ805", "REFI-QDA XML declares entities",
        "{part} declares a DTD or XML entities, which REFI-QDA files never need",
        "The file may have been crafted to read other files or exhaust memory; nothing was "
        "read. If you trust its source, export it again from the program that made it.")
_define("CQ806", "REFI-QDA XML is not well-formed",
        "{part}, line {line}: {problem}",
        "The XML is broken at that line (often a truncated copy); export the file again.")
_define("CQ807", "Not a REFI-QDA document",
        "{part}: the root element is {found}, expected {expected}",
        "Pass a REFI-QDA project (root Project, namespace urn:QDA-XML:project:1.0) or codebook "
        "(root CodeBook, namespace urn:QDA-XML:codebook:1.0).")
_define("CQ808", "Broken REFI-QDA content",
        "{part}: {problem}",
        "The file contradicts itself (a missing source file, a GUID used twice, a missing "
        "required value); export it again, or check it with `cityqda qdpx check FILE`.")
_define("CQ809", "REFI-QDA source is not UTF-8 text",
        "source {name!r} ({member}) is not UTF-8 text: {problem}",
        "REFI-QDA plain-text sources are UTF-8; export the project again, or convert that "
        "source to UTF-8 in the program that made it.")
_define("CQ810", "REFI-QDA file cannot be read",
        "{problem}",
        "Check that the file exists, that you may read it, and that no other program holds it.")
_define("CQ811", "Does not match the REFI-QDA schema",
        "{part}, line {line}, {element}: {problem}",
        "Fix what the schema expects at that place; files from other programs often fail the "
        "standard's schema, and cityqda's own exports never should (report that as a bug).")
_define("CQ812", "REFI-QDA schemas not found",
        "{problem}",
        "Pass --schemas DIR naming the folder that holds the official Project.xsd and "
        "Codebook.xsd (from qdasoftware.org), or set CITYQDA_REFI_QDA_SCHEMAS to it.",
        EXIT_USAGE)
_warning("CQ850", "Not carried over in a REFI-QDA exchange",
         "{part}: {what}",
         "cityqda exchanges codes, text sources, coded selections, users, cases, variables, "
         "sets and notes, and a codebook file holds less than a project; the items named were "
         "left out. Nothing needs doing unless you need them.")
_warning("CQ851", "REFI-QDA selection left out",
         "{part}: selection {guid} {problem}",
         "The selection was skipped and the rest read; check it in the program that made the "
         "file.")
_warning("CQ852", "Coding not placeable in the exported text",
         "coding {coding} ({code}, {evidence!r}) is no longer at its stored offsets in the "
         "current transcript text; it was left out of the project",
         "The transcript changed since the coding was made and the coding waits for review; "
         "run `cityqda code`, review it, and export again.")
_warning("CQ853", "Imported codebook is a draft",
         "{problem}",
         "Edit the draft YAML as said, then run `cityqda codebook validate FILE` until it "
         "reports no problem; patterns must be written before the codes find anything.")
_define("CQ814", "Cannot write the exchange file",
        "{path}: {problem}",
        "Choose a folder you may write to, close the file if another program has it open, "
        "and check the disk has room; nothing was written.")
_define("CQ813", "Codebook file already exists",
        "{path} already exists; the imported codebook was not written",
        "Name a new file with --out, or pass --force to replace it (a codebook holds work: "
        "keep a copy first).",
        EXIT_USAGE)

# --- CQ9xx: guides and register ---------------------------------------------------------------
_define("CQ901", "Guide file is not valid YAML",
        "{problem}",
        "Fix the YAML at the line given: indent with spaces, quote text containing ': ' or "
        "'#', and write each key once.")
_define("CQ902", "Guide does not match the guide schema",
        "{location}: {problem}",
        "Compare the entry with pipeline/schemas/guide.schema.json or a shipped guide "
        "(`cityqda guides show --json`); allowed keys are id, title, categories, description and "
        "sections (title, aliases, note, questions (text, probes, note)).")
_define("CQ903", "Guide id used twice",
        "{location}: guide id {guide!r} is also used by {other}",
        "Give every guide its own id (by convention the file name without .yaml).")
_define("CQ904", "Unknown category in a guide",
        "{location}: category {category!r} is not in the study's categories ({known})",
        "Use one of the study's category ids, or add the category to [vocabularies] "
        "categories in cityqda.toml.")
_define("CQ905", "Category covered by no guide",
        "no guide lists category {category!r}",
        "Add {category!r} to the `categories` of the guide its stakeholders are interviewed "
        "with.")
_define("CQ906", "Category covered by several guides",
        "category {category!r} is listed by several guides: {guides}",
        "Keep the category in exactly one guide, so each interview's guide is known.")
_define("CQ907", "Section heading used twice in a guide",
        "{location}: heading {title!r} is already used at {other}",
        "Give each section a distinct title, and do not reuse another section's title or "
        "alias as an alias (headings are compared ignoring case and punctuation).")
_define("CQ908", "Empty guide section",
        "{location}: section {title!r} has no questions",
        "Add the section's questions, or remove the section.")
_define("CQ909", "Guide id not in the vocabulary",
        "{location}: guide id {guide!r} is not in the study's guides ({known})",
        "Use one of the study's guide ids, or add it to [vocabularies] guides in cityqda.toml.")
_define("CQ910", "No guides found",
        "{path} holds no guide files (*.yaml)",
        "Point [paths] guides in cityqda.toml at the folder of guide YAML files, or copy the "
        "default guides from a fresh `cityqda init` study.")
_define("CQ911", "Unknown guide",
        "there is no guide {guide!r}; known guides: {known}",
        "Use one of the guide ids listed (`cityqda guides show` lists them).",
        EXIT_USAGE)
_define("CQ915", "Invalid vocabulary variants",
        "{location}: {problem}",
        "Fix the variants file against pipeline/schemas/vocabulary_variants.schema.json; a "
        "wording may belong to one id only.")
_define("CQ920", "Register cannot be read",
        "{problem}",
        "Save the register as an Excel workbook (.xlsx) or as CSV UTF-8 (.csv) and check it "
        "opens; close it in Excel if it is locked.")
_define("CQ921", "Register sheet missing",
        "no sheet named {expected!r}; the workbook has: {found}",
        "Rename the sheet holding one row per contacted stakeholder to {expected!r} (sheet "
        "order does not matter).")
_define("CQ922", "Register column missing",
        "no column {expected!r}; the header row has: {found}",
        "Add a column headed {expected!r} to the header row (the first row, or the row after a "
        "title row); column order does not matter. A column of your own name can be renamed "
        "to it.")
_define("CQ923", "Required register value missing",
        "{name} is empty but required",
        "Fill in {name} on this row.")
_define("CQ924", "Unknown stakeholder category",
        "{value!r} is not a known stakeholder category",
        "Write one of {known} (common wordings such as 'NGO' or 'Local policy maker' are "
        "understood too).")
_define("CQ925", "Unknown contact outcome",
        "{value!r} is not a known outcome",
        "Write one of {known}.")
_define("CQ926", "Interview without transcript file",
        "outcome is interviewed but transcript_file is empty",
        "Write the transcript's file name (e.g. LIS-PM-01.docx) in transcript_file, or change "
        "the outcome.")
_define("CQ927", "Bad date",
        "{value!r} is not a date",
        "Use a date cell, ISO text YYYY-MM-DD (e.g. 2013-06-14), or a day, month and year "
        "(14 June 2013, 14-Jun-13); a month and year alone (Jun-13) names no day.")
_define("CQ928", "Transcript file listed twice",
        "{value!r} is already listed on row {other_row}",
        "Each transcript belongs to one register row: remove the duplicate or correct the file "
        "name (names are compared ignoring case and Unicode form).")
_define("CQ929", "City not in the cities sheet",
        "{value!r} is not a city or alias in the cities sheet",
        "Add the city (or this spelling as an alias, separated by ';') to the cities sheet, or "
        "correct the spelling.")
_define("CQ930", "Bad city code",
        "{value!r} is not a three-letter code",
        "Write three letters (e.g. LIS); the code names the city in pseudonyms and file names.")
_define("CQ931", "City listed twice",
        "{value!r} already names the city on row {other_row}",
        "List each city once; put other spellings in its aliases cell, separated by ';'.")
_define("CQ932", "City code used twice",
        "code {value!r} is already used by {other} (row {other_row})",
        "Give every city its own three-letter code.")
_define("CQ933", "Register column repeated",
        "column {value!r} appears twice in the header row (columns {first} and {second})",
        "Keep one column of that name; rename or delete the other.")
_define("CQ934", "Register format not supported",
        "{path} is neither an Excel workbook (.xlsx, .xlsm) nor a CSV file (.csv)",
        "Save the register as .xlsx or as CSV UTF-8 (.csv).")
_define("CQ936", "Register row names several transcripts",
        "transcript_file {value!r} names {count} files in the transcripts folder ({paths}), so "
        "the row cannot tell which interview it describes",
        "Write the transcript's path inside the transcripts folder in transcript_file (e.g. "
        "{example}), one register row per transcript; until then none of these transcripts "
        "gets this row's round, city or category.")
_define("CQ935", "Formula without a saved value",
        "cell {cell} ({name}) holds the formula ={formula} but no value: the workbook was "
        "written by a program that does not compute formulas, so the cell reads as empty",
        "Open the register in Excel or LibreOffice and save it (that stores every formula's "
        "value), or type the value in; then run again.")
_warning("CQ950", "Guide id differs from its file name",
         "guide id {guide!r} is in a file named {name!r}",
         "Name guide files after their id (e.g. {guide}.yaml) so they are easy to find.")
_warning("CQ951", "No register",
         "{path} does not exist; interviews get their metadata from the transcripts only",
         "Create it from the template of a fresh `cityqda init` study to record every "
         "stakeholder contacted (needed for response-rate tables).")
_warning("CQ952", "Ambiguous date read day first",
         "{value!r} was read day first as {iso}",
         "Write dates as ISO text YYYY-MM-DD or as date cells, so no order has to be guessed.")
_warning("CQ953", "Unknown interview mode",
         "{value!r} is not a known mode; it is kept as written",
         "Write one of {known} (or a common wording such as 'Skype' or 'in person').")
_warning("CQ954", "Transcript file on a row that was not interviewed",
         "transcript_file is {value!r} but the outcome is {outcome!r}",
         "Set the outcome to interviewed, or clear transcript_file.")
_warning("CQ955", "Listed transcript not found",
         "{value!r} is not in the transcripts folder {folder}",
         "Put the transcript in the transcripts folder, or correct the file name.")
_warning("CQ956", "Transcript not in the register",
         "{value!r} in the transcripts folder has no register row",
         "Add a register row with outcome interviewed and this transcript_file.")
_warning("CQ959", "One round written two ways",
         "round {value!r} and round {other!r} (row {other_row}) look like the same round; "
         "tables by round and `--round` treat them as different rounds",
         "Write the round the same way on every row (e.g. 2), then run again.")
_warning("CQ960", "No cities sheet",
         "{what}: city names are grouped by spelling only (MALAGA = Málaga), aliases such as "
         "Lisboa for Lisbon are unknown, and no city is checked",
         "List each city (city, country, code, aliases) in a sheet named 'cities', as the "
         "register of a fresh `cityqda init` study has, or for a CSV register in a cities.csv "
         "beside it.")
_warning("CQ961", "Formula without a saved value in an optional column",
         "cell {cell} ({name}) holds the formula ={formula} but no value, so it was read as "
         "empty",
         "Open the register in Excel or LibreOffice and save it (that stores every formula's "
         "value), or type the value in.")
_warning("CQ962", "Merged cells in the register",
         "cells {cells} are merged; each of their rows was read as {value!r}",
         "Nothing to do if that is meant; to be safe from sorting and filtering, unmerge the "
         "cells and fill the value into every row.")
_warning("CQ963", "Title row above the register's header",
         "row(s) {rows} above the header hold a title only ({title!r}); the header was read "
         "from row {header}",
         "Nothing to do; up to three title rows (empty rows between them allowed) may stand "
         "above the header row (round, city, category, outcome, ...).")
_warning("CQ964", "Register column cityqda does not read",
         "column {value!r} ({letter}) is not a register column: no table, dataset or report "
         "uses its cells",
         "Nothing to do for a column of your own notes. If it holds one of the register's "
         "columns under your own name, head it with that name instead: {known}.")
_warning("CQ957", "Country differs from the cities sheet",
         "country {value!r} differs from {expected!r} in the cities sheet",
         "Correct the country on this row or in the cities sheet.")

# CQ958 (two transcripts share a file name, a warning) was replaced by CQ936: a register
# row may now name a transcript by its path, and a bare name naming several is an error.
_warning("CQ958", "Two transcripts share a file name",
         "{value!r} names {count} files in the transcripts folder ({paths}); the register "
         "matches transcripts by file name, so all of them get the same register row (round, "
         "city, category...)",
         "Give each transcript its own file name (e.g. add the round: LIS-PM-01-r2.docx) and "
         "its own register row.")
ERRORS["CQ958"] = replace(ERRORS["CQ958"], retired=True)


@dataclass
class Problem:
    """One located problem; many can be collected before failing."""

    code: str
    fields: dict = field(default_factory=dict)
    file: str | None = None
    row: int | None = None
    column: str | None = None
    sheet: str | None = None

    @property
    def spec(self) -> ErrorSpec:
        return ERRORS[self.code]

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        return self.spec.template.format(**self.fields)

    @property
    def hint(self) -> str:
        return self.spec.hint.format(**self.fields)

    def render(self) -> str:
        level = self.spec.level
        where = f"{self.where}: " if self.where else ""
        return f"{level} {self.code}: {where}{self.message}\n  → {self.hint}"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "level": self.spec.level,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }


class CityQDAError(Exception):
    """A failure the user caused and can fix; carries one or more located problems."""

    def __init__(self, code: str, *, file=None, row=None, column=None, sheet=None,
                 problems: list[Problem] | None = None, **fields):
        if code not in ERRORS:
            raise KeyError(f"undefined error code {code}")
        self.code = code
        first = Problem(code, fields, file, row, column, sheet)
        self.problems = problems if problems else [first]
        super().__init__(self.render())

    @classmethod
    def from_problems(cls, problems: list[Problem]) -> CityQDAError:
        head = problems[0]
        return cls(head.code, file=head.file, row=head.row, column=head.column,
                   sheet=head.sheet, problems=problems, **head.fields)

    @property
    def exit_code(self) -> int:
        return max(ERRORS[p.code].exit_code for p in self.problems)

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


def warn(code: str, *, file=None, row=None, column=None, sheet=None, stream=None,
         **fields) -> Problem:
    """Print a warning to stderr (never stdout) and return it for reports."""
    problem = Problem(code, fields, file, row, column, sheet)
    print(problem.render(), file=stream or sys.stderr)
    return problem


def render_markdown() -> str:
    lines = [
        "# Error and warning codes",
        "",
        "Generated from `pipeline/errors.py` by `python -m pipeline.errors > docs/errors.md`;",
        "a test fails when this file is out of date. Exit codes: 0 nothing failed (warnings",
        "allowed), 1 some input failed, 2 usage error.",
        "",
        "| code | level | exit | what | message | what to do |",
        "|---|---|---|---|---|---|",
    ]
    for code in sorted(ERRORS):
        s = ERRORS[code]
        def esc(text):
            return text.replace("|", "\\|").replace("\n", " ")
        title = esc(s.title) + (" (retired)" if s.retired else "")
        lines.append(f"| {code} | {s.level} | {s.exit_code} | {title} | {esc(s.template)} "
                     f"| {esc(s.hint)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
