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
from dataclasses import dataclass, field

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
_define("CQ010", "Store from a newer cityqda",
        "{path} has store schema version {found}, newer than this cityqda supports ({supported})",
        "Upgrade cityqda (`pip install -U cityqda`); the store was left untouched.")
_define("CQ011", "Store cannot be opened",
        "{path}: {problem}",
        "Check the file is a cityqda store and not in use by a program that locks it; restore "
        "it from `backups/` if it is damaged.")
_define("CQ012", "Store is busy",
        "{path} is locked by another cityqda process: {problem}",
        "Wait for the other command to finish, then run this one again; nothing was changed.")
_define("CQ013", "Backup target exists",
        "{path} already exists",
        "Name a new file for the backup, or remove the old one first.",
        EXIT_USAGE)
_define("CQ014", "Not a store backup",
        "{path} is not a cityqda store: {problem}",
        "Pass a file written by `cityqda backup`.")
_warning("CQ050", "Store in a synchronised or network folder",
         "{path} lies in {kind}; SQLite stores can be corrupted when a sync client or network "
         "share copies them while they are written",
         "Move the study to a local folder, or pause syncing while cityqda runs.")
_warning("CQ051", "Store upgraded",
         "{path} was upgraded from schema version {old} to {new}; the previous file was copied "
         "to {backup}",
         "Nothing to do; keep the copy until you have checked the upgraded study.")

# --- CQ1xx: ingest ------------------------------------------------------------------------

# --- CQ2xx: codebook and automatic coder ---------------------------------------------------

# --- CQ3xx: actors, initiatives, partnerships -----------------------------------------------

# --- CQ4xx: coding into the store -----------------------------------------------------------

# --- CQ5xx: review workbooks, decisions, audit log -------------------------------------------

# --- CQ6xx: agreement and adjudication --------------------------------------------------------

# --- CQ7xx: aggregate, cross-checks, reports, run --------------------------------------------

# --- CQ8xx: exchange (REFI-QDA) ---------------------------------------------------------------

# --- CQ9xx: guides and register ---------------------------------------------------------------


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
