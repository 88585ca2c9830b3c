"""`cityqda ingest`: find transcripts, decide what each file is, store it in one transaction.

For every file found the outcome is one of: ``ingested`` (a new interview), ``unchanged``,
``updated`` (same bytes, but the register or an override changed its metadata),
``new_version``, ``duplicate`` (byte-identical to another interview whose file is still
there: not ingested twice), ``renamed`` (same bytes as an interview whose file is gone),
``skipped`` (not a Word file, or the interview was purged) or ``failed`` (unreadable,
unsafe). After a folder is walked, active interviews whose file has vanished from it are
reported ``missing``; they stay active until someone retires them.

Each file is analysed before its write transaction opens, and written in one
transaction, so a failure leaves the store exactly as it was. A dry run (used by
`status`) goes through the same decisions without writing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError, Problem
from pipeline.ingest.metadata import METADATA_WARNING_CODES, Candidates, command_argument
from pipeline.ingest.package_checks import WORD_SUFFIXES, read_bytes
from pipeline.ingest.transcript import (
    IngestSettings,
    Transcript,
    analyse,
    guide_of,
    resolve_metadata,
)
from pipeline.ingest.versions import NewSegment, OldSegment, match_segments
from pipeline.store import Store, record_event, utc_now
from pipeline.store.schema import (
    interview_notes,
    interview_versions,
    interviews,
    metadata_overrides,
    segments,
)

ACTOR = "cityqda"
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
KEPT_PROBLEMS = frozenset({"failed", "skipped", "duplicate", "missing"})
# Warnings that ask the user to act: `cityqda run` shows them (other warnings of interviews
# that went in are left to `cityqda status`).
NEEDS_ACTION = frozenset({"CQ137"})
LABELS = {
    "ingested": "ingested", "unchanged": "unchanged", "updated": "updated",
    "new_version": "new version", "duplicate": "duplicate", "renamed": "renamed",
    "skipped": "skipped", "failed": "failed", "missing": "missing",
}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def warning_dicts(problems: list[Problem]) -> list[dict]:
    return [{k: v for k, v in p.as_dict().items() if v is not None} for p in problems]


@dataclass
class FileOutcome:
    path: str
    outcome: str
    interview_id: int | None = None
    version: int | None = None
    other: str | None = None  # duplicate of / renamed from
    segments: int | None = None
    changes: dict | None = None  # new_version: kept / changed / new / retired segments
    problems: list[Problem] = field(default_factory=list)
    warning_count: int | None = None  # kept when the warnings themselves were dropped

    @property
    def warnings(self) -> int:
        if self.warning_count is not None:
            return self.warning_count
        return sum(p.spec.level == "warning" for p in self.problems)

    def slim(self) -> FileOutcome:
        """This outcome without the warnings of an interview that went in (they are in the
        store and shown by `status`), but those that ask the user to act: a report on
        thousands of files stays small."""
        if self.outcome in KEPT_PROBLEMS or not self.problems:
            return self
        return FileOutcome(self.path, self.outcome, self.interview_id, self.version,
                           self.other, self.segments, self.changes, self.to_act_on(),
                           self.warnings)

    def to_act_on(self) -> list[Problem]:
        """The problems `cityqda run` shows: all of a file that did not go in, else those
        asking the user to act (NEEDS_ACTION)."""
        if self.outcome in KEPT_PROBLEMS:
            return list(self.problems)
        return [p for p in self.problems if p.code in NEEDS_ACTION]

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)

    def line(self) -> str:
        label = LABELS[self.outcome]
        details = []
        if self.outcome == "duplicate":
            details.append(f"of {self.other}")
        if self.outcome == "renamed":
            details.append(f"from {self.other}")
        facts = []
        if self.interview_id is not None and self.outcome != "duplicate":
            facts.append(f"interview {self.interview_id}")
        if self.version is not None and self.outcome in ("new_version", "ingested"):
            facts.append(f"version {self.version}")
        if self.segments is not None:
            facts.append(f"{self.segments} segments")
        if self.changes:
            facts.append(", ".join(f"{n} {k}" for k, n in self.changes.items()))
        warnings = self.warnings
        if warnings and self.outcome not in ("skipped", "duplicate", "missing"):
            facts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
        if self.outcome in ("skipped", "failed", "missing") and self.problems:
            facts.append(f"{self.problems[0].code}: {self.problems[0].message}")
        tail = " ".join(details)
        if facts:
            tail = f"{tail} ({'; '.join(facts)})" if tail else f"({'; '.join(facts)})"
        return f"{label:<11} {self.path}" + (f" {tail}" if tail else "")


@dataclass
class IngestReport:
    """Counts of every outcome, and the outcomes themselves (all of them, or with
    ``keep_all=False`` only those with problems: failed, skipped, duplicate, missing)."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    ignored: int = 0
    problems: list[Problem] = field(default_factory=list)  # guides, register
    keep_all: bool = True
    tally: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    warned: int = 0  # interviews stored with warnings
    any_failed: bool = False

    def add(self, outcome: FileOutcome) -> None:
        self.tally[outcome.outcome] += 1
        self.any_failed = self.any_failed or outcome.failed
        if outcome.outcome not in KEPT_PROBLEMS and outcome.warnings:
            self.warned += 1
        if self.keep_all or outcome.outcome in KEPT_PROBLEMS or outcome.to_act_on():
            self.outcomes.append(outcome.slim())

    @property
    def failed(self) -> bool:
        return self.any_failed or any(p.spec.level == "error" for p in self.problems)

    def counts(self) -> dict[str, int]:
        return {**self.tally, "ignored": self.ignored}

    def summary(self) -> str:
        counts = self.counts()
        found = sum(v for k, v in counts.items() if k != "missing")
        parts = [f"{counts[k]} {LABELS.get(k, k)}" for k in (*LABELS, "ignored") if counts[k]]
        return f"{found} file(s): " + (", ".join(parts) if parts else "nothing found")


# --- discovery ---------------------------------------------------------------------------


def is_ignored(name: str) -> bool:
    return name.startswith(("~$", ".")) or name.lower() in IGNORED_NAMES


@dataclass
class Discovery:
    files: list[tuple[Path, bool]]  # (path, named explicitly)
    ignored: int
    folders: list[Path]
    resolved: dict[Path, Path] = field(default_factory=dict)  # file -> its real path


def discover(paths: list[Path]) -> Discovery:
    """Files to look at, in sorted order per folder; lock and hidden files only counted."""
    files: list[tuple[Path, bool]] = []
    folders: list[Path] = []
    ignored = 0
    seen: set[Path] = set()
    real: dict[Path, Path] = {}
    for given in paths:
        if not given.exists():
            raise CityQDAError("CQ006", path=str(given))
        if given.is_dir():
            folders.append(given.resolve())
            found = []
            for root, dirs, names in os.walk(given):
                hidden = [d for d in dirs if d.startswith(".")]
                ignored += len(hidden)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                real_root = Path(os.path.realpath(root))  # once per folder, not per file
                for name in names:
                    if is_ignored(name):
                        ignored += 1
                    else:
                        path = Path(root) / name
                        found.append(path)
                        real[path] = path.resolve() if os.path.islink(path) \
                            else real_root / name
            candidates = [(p, False) for p in sorted(found, key=lambda p: p.as_posix())]
        elif is_ignored(given.name):
            ignored += 1
            continue
        else:
            candidates = [(given, True)]
        for path, explicit in candidates:
            resolved = real.get(path) or path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append((path, explicit))
                real[path] = resolved
    return Discovery(files, ignored, folders,
                     {path: real[path] for path, _explicit in files})


# --- settings ----------------------------------------------------------------------------


def load_settings(study, register=None) -> tuple[IngestSettings, list[Problem]]:
    """Guides and register of the study; their problems are reported, not fatal here.
    `register`: the study's register already read without errors (`cityqda run` reads
    it in its register stage), not read again."""
    problems: list[Problem] = []
    guides: dict = {}
    guides_dir = study.path("guides")
    if guides_dir.is_dir():
        from pipeline.ingest.guides import load_guides

        try:
            guides = load_guides(guides_dir, study.vocabularies)
        except CityQDAError as exc:
            problems.extend(exc.problems)
    register_path = study.path("register")
    if register is None and register_path.is_file():
        try:
            from pipeline.ingest.register import load_register
        except ImportError:  # pragma: no cover - the register module is being written
            load_register = None
        if load_register is not None:
            try:
                register = load_register(register_path, study.vocabularies)
            except CityQDAError as exc:
                problems.extend(exc.problems)
    return IngestSettings(guides=guides, register=register,
                          vocabularies=study.vocabularies), problems


# --- what an unchanged file needs -------------------------------------------------------

# What deciding a file's outcome reads of its interview: not its texts (tens of KB each).
ROW_COLUMNS = (interviews.c.id, interviews.c.path, interviews.c.file, interviews.c.sha256,
               interviews.c.version, interviews.c.purged, interviews.c.metadata,
               interviews.c.metadata_candidates, interviews.c.warnings,
               interviews.c.structure_guide, interviews.c.status)


@dataclass(frozen=True)
class StoredInterview:
    id: int
    sha256: str
    purged: bool
    version: int
    warnings: str | None
    digest: str  # row_digest, "" without a settings digest


def row_digest(row, overrides: dict[str, str], settings_digest: str) -> str:
    """Everything `recompute_metadata` reads of a stored interview, with its overrides, the
    settings it resolves against, and what it stored: equal digests, equal outcome."""
    parts = [settings_digest, row.file, row.path, row.metadata_candidates, row.warnings,
             row.metadata, row.structure_guide, sorted(overrides.items())]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


MEMO_NAME = "ingest-unchanged"


class UnchangedMemo:
    """The rows an ingest found unchanged (same bytes, metadata recomputed to what is
    stored), kept in the study's cache folder (`pipeline.nlp.build_cache`) under a digest
    of the settings (guides, register, vocabularies) and the package's code: the next
    ingest skips recomputing their metadata while none of those inputs changed. A missing
    or stale memo only costs the recomputation."""

    def __init__(self, study):
        from pipeline.nlp.build_cache import BuildCache, study_cache_dir

        self.cache = BuildCache(study_cache_dir(study.root))
        self.digest = settings_digest(study)
        found = self.cache.load(MEMO_NAME, self.digest)
        self.confirmed = frozenset(found) if isinstance(found, list) else frozenset()

    def save(self, confirmed: set[str]) -> None:
        if confirmed != self.confirmed:
            self.cache.save(MEMO_NAME, self.digest, sorted(confirmed))


def _transcript_paths(study) -> list[str]:
    from pipeline.ingest.register import transcript_paths

    return transcript_paths(study.path("transcripts"))


def settings_digest(study) -> str:
    """The bytes of the guides and the register, the study's vocabularies, the file names
    several transcripts share (a register row naming one stops matching) and the package's
    files, as one hash."""
    from pipeline.ingest.register import file_key

    digest = hashlib.sha256(package_digest().encode("ascii"))
    counts = Counter(file_key(path) for path in _transcript_paths(study))
    digest.update(json.dumps(sorted(k for k, n in counts.items() if n > 1)).encode("utf-8"))
    digest.update(json.dumps(study.vocabularies, sort_keys=True, ensure_ascii=False,
                             default=str).encode("utf-8"))
    guides, register = study.path("guides"), study.path("register")
    files = sorted(p for p in guides.rglob("*") if p.is_file()) if guides.is_dir() else []
    if register.is_file():
        files.append(register)
    for path in files:
        digest.update(str(path).encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def package_digest() -> str:
    """Every file of the package (code, schemas, default data): what metadata resolution
    and its messages depend on, whichever module they live in."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0"
                          + path.read_bytes() + b"\0")
    return digest.hexdigest()


# --- the engine --------------------------------------------------------------------------


class Ingester:
    def __init__(self, store: Store, root: Path, settings: IngestSettings, *,
                 dry_run: bool = False):
        self.store = store
        self.root = root.resolve()
        self.settings = settings
        self.dry_run = dry_run
        self.pending: dict[str, str] = {}  # dry run: sha -> path of files it would add
        self.renamed_from: set[str] = set()
        self.resolved: dict[Path, Path] = {}  # real paths found by `discover`
        self.prefetch: Prefetch | None = None  # new files analysed ahead by workers
        # `preload`: stored interviews by path and every override, read in two queries
        self.index: dict[str, StoredInterview] | None = None
        self.all_overrides: dict[int, dict[str, str]] | None = None
        # digests of rows whose metadata recomputed to what is stored (`UnchangedMemo`)
        self.settings_digest = ""
        self.confirmed: frozenset[str] = frozenset()
        self.confirmed_now: set[str] = set()
        self.files: list[tuple[Path, bool]] = []  # every file of the walk (`ingest_paths`)
        self._new_shas: dict[str, str] | None = None  # sha -> key, files at new paths
        self.deferred: dict[str, FileOutcome] = {}  # key -> rename found on an earlier file

    def preload(self, settings_digest: str = "", confirmed: Iterable[str] = ()) -> None:
        """Read every stored interview (without its texts) and every override once, so a
        file whose bytes are unchanged costs no query; `confirmed`: digests (`row_digest`
        under `settings_digest`) of rows an earlier ingest found unchanged, whose metadata
        need not be recomputed."""
        self.settings_digest = settings_digest
        self.confirmed = frozenset(confirmed) if settings_digest else frozenset()
        overrides: dict[int, dict[str, str]] = {}
        index: dict[str, StoredInterview] = {}
        with self.store.read() as conn:
            for interview_id, name, value in conn.execute(select(
                    metadata_overrides.c.interview_id, metadata_overrides.c.field,
                    metadata_overrides.c.value)):
                overrides.setdefault(interview_id, {})[name] = value
            for row in conn.execute(select(*ROW_COLUMNS)):
                index[row.path] = StoredInterview(
                    row.id, row.sha256, bool(row.purged), row.version, row.warnings,
                    row_digest(row, overrides.get(row.id, {}), settings_digest)
                    if settings_digest else "")
        self.index, self.all_overrides = index, overrides

    def key(self, path: Path) -> str:
        resolved = self.resolved.get(path) or path.resolve()
        try:
            return nfc(resolved.relative_to(self.root).as_posix())
        except ValueError:
            return nfc(resolved.as_posix())

    def absolute(self, key: str) -> Path:
        path = Path(key)
        return path if path.is_absolute() else self.root / path

    # one file ---------------------------------------------------------------------------

    def process(self, path: Path, explicit: bool) -> FileOutcome:
        key = self.key(path)
        if key in self.deferred:
            return self.deferred.pop(key)
        name = nfc(path.name)
        suffix = path.suffix.lower()
        if not explicit and suffix not in WORD_SUFFIXES:
            return FileOutcome(key, "skipped", problems=[Problem(
                "CQ110", {"file": key, "kind": suffix or "extension-less"}, file=key)])
        try:
            data = read_bytes(path, key)
        except CityQDAError as exc:
            return FileOutcome(key, "failed", problems=exc.problems)
        sha = hashlib.sha256(data).hexdigest()
        stored = self.index.get(key) if self.index is not None else None
        if stored is not None and stored.sha256 == sha and not stored.purged \
                and stored.digest in self.confirmed:
            # same bytes, and its metadata was recomputed from these very inputs before
            self.confirmed_now.add(stored.digest)
            return FileOutcome(key, "unchanged", stored.id, stored.version,
                               problems=stored_problems(stored.warnings))
        with self.store.read() as conn:
            row = conn.execute(select(*ROW_COLUMNS).where(interviews.c.path == key)).first()
        if row is not None and row.path in self.renamed_from:
            # its interview moved to another file earlier in this walk: after a real rename
            # no row has this path any more; a dry run (`cityqda status`) must see it so too
            row = None
        if row is not None:
            if row.purged:
                return FileOutcome(key, "skipped", row.id, problems=[Problem(
                    "CQ133", {"file": command_argument(key), "interview_id": row.id}, file=key)])
            if row.sha256 == sha:
                return self.unchanged(row, data, name, key)
            moved = self._moved_elsewhere(row, sha, key)
            if moved is not None:
                return moved
            return self.changed(row, data, sha, name, key)
        return self._at_new_path(data, sha, name, key)

    def _at_new_path(self, data: bytes, sha: str, name: str, key: str) -> FileOutcome:
        """A file at a path no interview has: an interview's bytes whose own file is gone
        or now holds other bytes (renamed), a copy, or a new interview."""
        with self.store.read() as conn:
            same = conn.execute(select(*ROW_COLUMNS).where(interviews.c.sha256 == sha)
                                .order_by(interviews.c.id)).all()
        for other in same:
            if other.path not in self.renamed_from and self._file_left(other):
                if other.purged:
                    return FileOutcome(key, "skipped", other.id, problems=[Problem(
                        "CQ133", {"file": command_argument(key), "interview_id": other.id},
                        file=key)])
                outcome = self.rename(other, name, key)
                if self.absolute(other.path).exists():  # a new file under the old name
                    outcome.problems = [*outcome.problems, Problem("CQ139", {
                        "interview_id": other.id, "file": command_argument(other.path),
                        "new_file": command_argument(key)}, file=key)]
                return outcome
        if same:
            original = same[0].path
            return FileOutcome(key, "duplicate", same[0].id, other=original, problems=[Problem(
                "CQ131", {"file": key, "original": original}, file=key)])
        if sha in self.pending:
            return FileOutcome(key, "duplicate", other=self.pending[sha], problems=[Problem(
                "CQ131", {"file": key, "original": self.pending[sha]}, file=key)])
        return self.new(data, sha, name, key)

    def _file_left(self, row) -> bool:
        """Whether the interview's file no longer holds its bytes: gone, or other bytes
        saved under its name (a rename followed by a new file of the old name)."""
        path = self.absolute(row.path)
        if not path.exists():
            return True
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256
        except OSError:
            return False

    def _new_path_shas(self) -> dict[str, str]:
        """sha -> key of the walk's files at paths no interview has (first in walk order),
        hashed once, the first time a known file's bytes changed."""
        if self._new_shas is None:
            found: dict[str, str] = {}
            for path, explicit in self.files:
                if not explicit and path.suffix.lower() not in WORD_SUFFIXES:
                    continue
                key = self.key(path)
                if self.index is not None and key in self.index:
                    continue
                try:
                    found.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), key)
                except OSError:
                    continue
            self._new_shas = found
        return self._new_shas

    def _sha_at(self, key: str) -> str | None:
        try:
            return hashlib.sha256(self.absolute(key).read_bytes()).hexdigest()
        except OSError:
            return None

    def _swap_advice(self, row, owner, key: str) -> dict:
        """CQ138's fields: which file holds which interview's text now, and the renames
        that put each text back under its interview's name."""
        file, other_file = command_argument(key), command_argument(owner.path)
        at_other = self._sha_at(owner.path)
        if at_other == row.sha256:
            own = owner.path
        else:
            own = self._new_path_shas().get(row.sha256) if self.files else None
        fields = {"file": file, "interview_id": row.id, "other_id": owner.id,
                  "other_file": other_file}
        if own is None:
            fields["where"] = (f"no file in the study holds interview {row.id}'s own text "
                               "any more")
        else:
            fields["where"] = f"interview {row.id}'s own text is now in {command_argument(own)}"
        if own == owner.path:
            stem = PurePosixPath(key)
            spare = str(stem.with_name(f"{stem.stem}-swap{stem.suffix}"))
            number = 2
            while self.absolute(spare).exists():
                spare = str(stem.with_name(f"{stem.stem}-swap{number}{stem.suffix}"))
                number += 1
            spare = command_argument(spare)
            fields["action"] = (f"The two files were swapped. Rename {file} to {spare}, then "
                                f"{other_file} to {file}, then {spare} to {other_file}")
        elif own is not None:
            fields["action"] = (
                f"Move {file} out of the way (it holds interview {owner.id}'s text: rename it "
                f"to {other_file} if that file is gone or holds something else, otherwise "
                f"delete it, it is a copy), then rename {command_argument(own)} to {file}")
        elif at_other == owner.sha256:
            fields["action"] = (
                f"{file} is a copy of {other_file}. Put interview {row.id}'s own transcript "
                f"back as {file} (from your own copy), or, if that interview should no longer "
                f"count, delete {file} and run `cityqda interview retire {file} --reason REASON`")
        else:
            fields["action"] = (
                f"Rename {file} to {other_file}, where interview {owner.id}'s text belongs, "
                f"then put interview {row.id}'s own transcript back as {file} (from your own "
                "copy)")
        return fields

    def _moved_elsewhere(self, row, sha: str, key: str) -> FileOutcome | None:
        """The file of interview `row` holds other bytes now. Two cases are not a new
        version of it: its own bytes are at a new path (renamed, and a new file saved under
        the old name: the interview follows its bytes, this file is taken as new), or this
        file holds another interview's bytes (files swapped or copied over each other:
        refused, CQ138, so no decision moves to the wrong interview)."""
        with self.store.read() as conn:
            owner = conn.execute(select(*ROW_COLUMNS).where(
                interviews.c.sha256 == sha, interviews.c.id != row.id)
                .order_by(interviews.c.id)).first()
        if owner is not None:
            return FileOutcome(key, "failed", row.id, problems=[Problem(
                "CQ138", self._swap_advice(row, owner, key), file=key)])
        target = self._new_path_shas().get(row.sha256) if self.files else None
        if target is None or row.path in self.renamed_from:
            return None
        renamed = self.rename(row, PurePosixPath(target).name, target)
        outcome = self._at_new_path(read_bytes(self.absolute(key), key), sha,
                                    nfc(PurePosixPath(key).name), key)
        outcome.problems = [*outcome.problems, Problem("CQ139", {
            "interview_id": row.id, "file": command_argument(row.path),
            "new_file": command_argument(target)}, file=key)]
        self.deferred[target] = renamed  # reported when the walk reaches it (later)
        return outcome

    def _analyse(self, data: bytes, name: str, key: str, overrides: dict[str, str]
                 ) -> Transcript | FileOutcome:
        if self.prefetch is not None and not overrides:
            ready = self.prefetch.take(key, data)
            if ready is not None:
                return ready
        try:
            return analyse(data, file_name=name, display=key, settings=self.settings,
                           overrides=overrides)
        except CityQDAError as exc:
            return FileOutcome(key, "failed", problems=exc.problems)
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others
            return FileOutcome(key, "failed", problems=[Problem(
                "CQ109", {"file": key, "problem": f"{type(exc).__name__}: {exc}"}, file=key)])

    def new(self, data: bytes, sha: str, name: str, key: str) -> FileOutcome:
        transcript = self._analyse(data, name, key, {})
        if isinstance(transcript, FileOutcome):
            return transcript
        count = len(transcript.structure.segments)
        if self.dry_run:
            self.pending[sha] = key
            return FileOutcome(key, "ingested", segments=count, version=1,
                               problems=transcript.warnings)
        with self.store.write() as conn:
            # parameters, not .values(): the compiled statement is reused for every file
            interview_id = conn.execute(insert(interviews), {
                "file": name, "path": key, "sha256": sha, "version": 1, "status": "active",
                "purged": 0, "ingested_at": utc_now(), **_interview_values(transcript)}
            ).inserted_primary_key[0]
            _write_version(conn, interview_id, 1, name, key, sha, transcript)
            _write_segments(conn, interview_id, 1, transcript, old=[])
            record_event(conn, actor=ACTOR, kind="interview.ingested", entity="interviews",
                         entity_key=interview_id, new={"path": key, "sha256": sha, "version": 1},
                         source="ingest")
        return FileOutcome(key, "ingested", interview_id, 1, segments=count,
                           problems=transcript.warnings)

    def changed(self, row, data: bytes, sha: str, name: str, key: str) -> FileOutcome:
        overrides = self.overrides(row.id)
        transcript = self._analyse(data, name, key, overrides)
        if isinstance(transcript, FileOutcome):
            transcript.interview_id = row.id
            return transcript
        version = row.version + 1
        if self.dry_run:
            return FileOutcome(key, "new_version", row.id, version,
                               segments=len(transcript.structure.segments),
                               problems=transcript.warnings)
        with self.store.write() as conn:
            conn.execute(update(interviews).where(interviews.c.id == row.id).values(
                sha256=sha, version=version, file=name, ingested_at=utc_now(),
                **_interview_values(transcript)))
            _write_version(conn, row.id, version, name, key, sha, transcript)
            changes = _write_segments(conn, row.id, version, transcript,
                                      old=_current_segments(conn, row.id))
            record_event(conn, actor=ACTOR, kind="interview.new_version", entity="interviews",
                         entity_key=row.id,
                         old={"sha256": row.sha256, "version": row.version},
                         new={"sha256": sha, "version": version, **changes}, source="ingest")
        retired = [Problem("CQ137", {"interview_id": row.id, "file": command_argument(key)},
                           file=key)] if row.status == "retired" else []
        return FileOutcome(key, "new_version", row.id, version,
                           segments=len(transcript.structure.segments), changes=changes,
                           problems=[*transcript.warnings, *retired])

    def unchanged(self, row, data: bytes, name: str, key: str) -> FileOutcome:
        """Same bytes: only the register or overrides can have changed its metadata."""
        overrides = self.overrides(row.id)
        metadata_json, warnings_json, guide = recompute_metadata(row, overrides, self.settings)
        if guide != row.structure_guide:
            transcript = self._analyse(data, name, key, overrides)
            if isinstance(transcript, FileOutcome):
                return transcript
            if not self.dry_run:
                with self.store.write() as conn:
                    conn.execute(update(interviews).where(interviews.c.id == row.id).values(
                        **_interview_values(transcript)))
                    _write_version(conn, row.id, row.version, name, key, row.sha256,
                                   transcript, replace=True)
                    _write_segments(conn, row.id, row.version, transcript,
                                    old=_current_segments(conn, row.id))
            return FileOutcome(key, "updated", row.id, row.version,
                               segments=len(transcript.structure.segments),
                               problems=transcript.warnings)
        if metadata_json == row.metadata and warnings_json == row.warnings:
            self.confirmed_now.add(row_digest(row, overrides, self.settings_digest))
            return FileOutcome(key, "unchanged", row.id, row.version,
                               problems=stored_problems(row.warnings))
        if not self.dry_run:
            with self.store.write() as conn:
                conn.execute(update(interviews).where(interviews.c.id == row.id).values(
                    metadata=metadata_json, warnings=warnings_json))
        return FileOutcome(key, "updated", row.id, row.version,
                           problems=stored_problems(warnings_json))

    def rename(self, row, name: str, key: str) -> FileOutcome:
        self.renamed_from.add(row.path)
        if self.dry_run:
            return FileOutcome(key, "renamed", row.id, row.version, other=row.path)
        with self.store.write() as conn:
            conn.execute(update(interviews).where(interviews.c.id == row.id).values(
                path=key, file=name))
            record_event(conn, actor=ACTOR, kind="interview.renamed", entity="interviews",
                         entity_key=row.id, old={"path": row.path}, new={"path": key},
                         source="ingest")
            refreshed = conn.execute(select(*ROW_COLUMNS).where(interviews.c.id == row.id)).one()
        # the register row is found by file name, so the metadata may change with the name
        data = read_bytes(self.absolute(key), key)
        outcome = self.unchanged(refreshed, data, name, key)
        return FileOutcome(key, "renamed", row.id, row.version, other=row.path,
                           problems=outcome.problems)

    def overrides(self, interview_id: int) -> dict[str, str]:
        if self.all_overrides is not None:
            return dict(self.all_overrides.get(interview_id, {}))
        with self.store.read() as conn:
            return dict(conn.execute(
                select(metadata_overrides.c.field, metadata_overrides.c.value)
                .where(metadata_overrides.c.interview_id == interview_id)).all())

    # after the walk ---------------------------------------------------------------------

    def missing(self, folders: list[Path]) -> list[FileOutcome]:
        """Active interviews whose file is gone from the folders walked, each checked for
        an interview added after it that repeats most of its paragraphs (renamed and
        edited: a rename without edits is followed by its bytes). The check is repeated
        at every ingest while the file stays missing, not only the ingest that added the
        copy."""
        if not folders:
            return []
        with self.store.read() as conn:
            rows = conn.execute(select(interviews.c.id, interviews.c.path,
                                       interviews.c.file)
                                .where(interviews.c.status == "active",
                                       interviews.c.purged == 0)
                                .order_by(interviews.c.path)).all()
        outcomes = []
        gone = []
        for row in rows:
            path = self.absolute(row.path)
            folder = next((f for f in folders if path.is_relative_to(f)), None)
            if folder is None or path.exists():
                continue
            gone.append((row, folder))
        missing_ids = {row.id for row, _folder in gone}
        for row, folder in gone:
            problems = [Problem(
                "CQ132", {"file": command_argument(row.path), "interview_id": row.id,
                          "folder": self.key(folder)}, file=row.path)]
            twin = self._edited_twin(row, missing_ids)
            if twin is not None:
                problems.append(twin)
            outcomes.append(FileOutcome(row.path, "missing", row.id, problems=problems))
        return outcomes

    def _edited_twin(self, row, missing_ids: set[int]) -> Problem | None:
        """CQ136 when an active interview added after the missing one, whose file is
        there, repeats at least half of its paragraphs (the one repeating most; the first
        added on a tie)."""
        with self.store.read() as conn:
            old = set(conn.execute(select(segments.c.sha256).where(
                segments.c.status == "current", segments.c.interview_id == row.id)).scalars())
            if not old:
                return None
            found = conn.execute(
                select(segments.c.interview_id, segments.c.sha256)
                .join(interviews, interviews.c.id == segments.c.interview_id)
                .where(segments.c.status == "current", segments.c.interview_id > row.id,
                       interviews.c.status == "active", interviews.c.purged == 0,
                       segments.c.sha256.in_(sorted(old)))).all()
            shared = Counter()
            for interview_id, _sha in {(i, sha) for i, sha in found}:
                if interview_id not in missing_ids:
                    shared[interview_id] += 1
            if not shared:
                return None
            new_id = min(shared, key=lambda i: (-shared[i], i))
            if shared[new_id] * 2 < len(old):
                return None
            new_path = conn.execute(select(interviews.c.path)
                                    .where(interviews.c.id == new_id)).scalar()
        return Problem("CQ136", {
            "interview_id": row.id, "new_id": new_id,
            "new_file": command_argument(new_path),
            "shared": shared[new_id], "total": len(old),
            "old_name": command_argument(row.file)}, file=row.path)


def recompute_metadata(row, overrides: dict[str, str], settings: IngestSettings
                       ) -> tuple[str, str, str | None]:
    """(metadata JSON, warnings JSON, guide id) of a stored interview, from what its file
    said, its overrides and the register as it is now; structure warnings are kept."""
    document = Candidates.from_json(json.loads(row.metadata_candidates or "{}"))
    resolved = resolve_metadata(document, overrides, settings, file_name=row.file,
                                display=row.path)
    kept = [w for w in json.loads(row.warnings or "[]")
            if w["code"] not in METADATA_WARNING_CODES]
    warnings = warning_dicts(resolved.warnings) + kept
    return dumps(resolved.fields), dumps(warnings), guide_of(resolved, settings)


def stored_problems(warnings_json: str | None) -> list[Problem]:
    """Stored warnings as Problems for reports (their message is kept verbatim)."""
    return [StoredProblem(w) for w in json.loads(warnings_json or "[]")]


class StoredProblem(Problem):
    """A warning read back from the store: renders its stored message."""

    def __init__(self, data: dict):
        super().__init__(data["code"], {}, data.get("file"), data.get("row"),
                         data.get("column"), data.get("sheet"))
        self._message = data.get("message", "")
        self._hint = data.get("hint", "")

    @property
    def message(self) -> str:
        return self._message

    @property
    def hint(self) -> str:
        return self._hint


# --- writing -----------------------------------------------------------------------------


def _layout(transcript: Transcript) -> str:
    """Every block with its role; a segment is found by (interview, order) when current."""
    return json.dumps([[p.order, p.part, p.role, p.kind, p.start, p.end, p.section,
                        p.question, p.is_segment, p.heading]
                       for p in transcript.structure.paragraphs],
                      ensure_ascii=False)


def _interview_values(transcript: Transcript) -> dict:
    return {
        "plain_text": transcript.content.plain,
        "paragraphs": _layout(transcript),
        "metadata": dumps(transcript.metadata.fields),
        "metadata_candidates": dumps(transcript.candidates.to_json()),
        "warnings": dumps(warning_dicts(transcript.warnings)),
        "structure_guide": transcript.guide_id,
    }


def _write_version(conn: Connection, interview_id: int, version: int, name: str, key: str,
                   sha: str, transcript: Transcript, replace: bool = False) -> None:
    if replace:
        conn.execute(update(interview_versions).where(and_(
            interview_versions.c.interview_id == interview_id,
            interview_versions.c.version == version)).values(
            plain_text=transcript.content.plain))
    else:
        conn.execute(insert(interview_versions), {
            "interview_id": interview_id, "version": version, "file": name, "path": key,
            "sha256": sha, "plain_text": transcript.content.plain, "ingested_at": utc_now()})
    if version > 1 or replace:
        conn.execute(delete(interview_notes)
                     .where(interview_notes.c.interview_id == interview_id))
    notes = transcript.content.notes
    if notes:
        conn.execute(insert(interview_notes), [
            {"interview_id": interview_id, "ord": position, "kind": note.kind,
             "author": note.author, "text": note.text, "anchor_start": note.anchor_start,
             "anchor_end": note.anchor_end}
            for position, note in enumerate(notes, start=1)])


def _current_segments(conn: Connection, interview_id: int) -> list[OldSegment]:
    return [OldSegment(r.id, r.section, r.text) for r in conn.execute(
        select(segments.c.id, segments.c.section, segments.c.text)
        .where(segments.c.interview_id == interview_id, segments.c.status == "current")
        .order_by(segments.c.ord, segments.c.id))]


def _write_segments(conn: Connection, interview_id: int, version: int,
                    transcript: Transcript, old: list[OldSegment]) -> dict[str, int]:
    """Store the version's segments, keeping ids of matched ones; retire the rest."""
    new = transcript.structure.segments
    matched = match_segments(old, [NewSegment(p.section, p.text) for p in new]) if old \
        else [None] * len(new)
    old_by_id = {s.id: s for s in old}
    kept = changed = 0
    fresh = []
    ids: dict[int, int] = {}
    for paragraph, old_id in zip(new, matched, strict=True):
        values = {"ord": paragraph.order, "section": paragraph.section,
                  "question": paragraph.question, "text": paragraph.text,
                  "start": paragraph.start, "end": paragraph.end,
                  "sha256": text_sha256(paragraph.text), "kind": paragraph.kind,
                  "heading": paragraph.heading, "version": version}
        if old_id is None:
            fresh.append({"interview_id": interview_id, "status": "current",
                          "first_version": version, **values})
            continue
        ids[paragraph.order] = old_id
        if old_by_id[old_id].text == paragraph.text:
            kept += 1
        else:
            changed += 1
        conn.execute(update(segments).where(segments.c.id == old_id).values(**values))
    retired_ids = sorted(set(old_by_id) - set(ids.values()))
    if retired_ids:
        conn.execute(update(segments).where(segments.c.id.in_(retired_ids))
                     .values(status="retired"))
    if fresh:
        conn.execute(insert(segments), fresh)
    return {"kept": kept, "changed": changed, "new": len(fresh), "retired": len(retired_ids)}


# --- entry points ------------------------------------------------------------------------


def ingest_paths(store: Store, root: Path, paths: list[Path], settings: IngestSettings, *,
                 dry_run: bool = False,
                 on_file: Callable[[FileOutcome], None] | None = None,
                 setup_problems: list[Problem] | None = None,
                 wrap: Callable[[list], Iterable] | None = None,
                 keep_all: bool = True, workers: int | None = None,
                 memo: UnchangedMemo | None = None) -> IngestReport:
    """Ingest (or, dry, judge) every transcript under `paths`; one transaction per file.

    New files are analysed a few files ahead by `workers` forked processes (None: one per
    core when there are enough new files; 0 or 1: none); the outcome is the same.

    `wrap` wraps the list of files found (a progress bar, for instance). With
    `keep_all=False` the report keeps counts and only the outcomes with problems, so
    memory does not grow with the number of files (`on_file` still sees every outcome).
    """
    discovery = discover(paths)
    report = IngestReport(ignored=discovery.ignored, problems=list(setup_problems or []),
                          keep_all=keep_all)
    ingester = Ingester(store, root, settings, dry_run=dry_run)
    ingester.resolved = discovery.resolved
    ingester.files = discovery.files
    if memo is not None:
        ingester.preload(memo.digest, memo.confirmed)
    else:
        ingester.preload()
    files = wrap(discovery.files) if wrap is not None else discovery.files
    with Prefetch.start(ingester, discovery.files, workers) as prefetch:
        ingester.prefetch = prefetch
        try:
            for outcome in _outcomes(ingester, files, discovery.folders):
                if on_file is not None:
                    on_file(outcome)
                report.add(outcome)
        finally:
            ingester.prefetch = None
    if memo is not None:  # the whole transcripts folder was walked: replace the memo
        memo.save(ingester.confirmed_now)
    return report


def _outcomes(ingester: Ingester, files: Iterable, folders: list[Path]
              ) -> Iterator[FileOutcome]:
    for path, explicit in files:
        if ingester.prefetch is not None:
            ingester.prefetch.advance()
        yield ingester.process(path, explicit)
    yield from ingester.missing(folders)


# --- analysing new files ahead, in worker processes ------------------------------------

# Below this many new files, starting worker processes costs more than it saves.
MIN_PARALLEL_FILES = 40
AHEAD_PER_WORKER = 4  # files handed out ahead of the one being written, per worker
_WORKER_SETTINGS: IngestSettings | None = None  # inherited by forked workers


def _analyse_ahead(path: str, name: str, key: str):
    """In a worker: (sha256, Transcript) of a new file, or None (the file is then read and
    analysed again in the main process, which reports any problem as usual)."""
    try:
        data = read_bytes(Path(path), key)
        transcript = analyse(data, file_name=name, display=key, settings=_WORKER_SETTINGS,
                             overrides={})
    except Exception:  # noqa: BLE001 - the main process redoes it and reports it
        return None
    return hashlib.sha256(data).hexdigest(), transcript


class Prefetch:
    """Analyses the files not yet in the store a few files ahead, in forked workers, while
    the main process writes; `Ingester._analyse` takes the result when the file's bytes
    are still those analysed. Decisions and writes stay in the main process, in order, so
    the store ends up exactly as without it. Files already in the store (unchanged or
    changed) are never analysed ahead: a re-ingest with nothing new starts no worker."""

    def __init__(self, pool, tasks: list[tuple[int, str, str, str]], workers: int):
        self.pool = pool
        self.tasks = tasks  # (file index, path, name, key) of new files, in order
        self.window = workers * AHEAD_PER_WORKER
        self.submitted = 0
        self.position = -1  # index of the file being processed
        self.results: dict[str, object] = {}  # key -> AsyncResult

    @classmethod
    def start(cls, ingester: Ingester, files: list, workers: int | None):
        tasks = _new_files(ingester, files)
        count = _prefetch_workers(workers, len(tasks))
        if not count:
            return contextlib.nullcontext(None)
        return cls._running(ingester, tasks, count)

    @classmethod
    @contextlib.contextmanager
    def _running(cls, ingester: Ingester, tasks, count: int):
        import multiprocessing

        global _WORKER_SETTINGS
        _WORKER_SETTINGS = ingester.settings
        store = ingester.store
        try:
            with multiprocessing.get_context("fork").Pool(
                    count, initializer=Store.in_forked_worker, initargs=(store,)) as pool:
                yield cls(pool, tasks, count)
        finally:
            _WORKER_SETTINGS = None

    def advance(self) -> None:
        """The main process moves to the next file: keep the window of new files ahead."""
        self.position += 1
        while self.submitted < len(self.tasks):
            index, path, name, key = self.tasks[self.submitted]
            if index > self.position + self.window:
                break
            self.results[key] = self.pool.apply_async(_analyse_ahead, (path, name, key))
            self.submitted += 1

    def take(self, key: str, data: bytes) -> Transcript | None:
        handle = self.results.pop(key, None)
        if handle is None:
            return None
        ready = handle.get()
        if ready is None or ready[0] != hashlib.sha256(data).hexdigest():
            return None  # failed there, or the file changed since
        return ready[1]


def _new_files(ingester: Ingester, files: list) -> list[tuple[int, str, str, str]]:
    """(index, path, name, key) of the Word files whose path the store does not hold."""
    with ingester.store.read() as conn:
        known = set(conn.execute(select(interviews.c.path)).scalars())
    found = []
    for index, (path, _explicit) in enumerate(files):
        if path.suffix.lower() not in WORD_SUFFIXES:
            continue
        key = ingester.key(path)
        if key not in known:
            found.append((index, str(path), nfc(path.name), key))
    return found


def _prefetch_workers(workers: int | None, new_files: int) -> int:
    import multiprocessing
    import sys

    if workers is None:
        workers = (os.cpu_count() or 1) if new_files >= MIN_PARALLEL_FILES else 0
    if workers < 2 or not new_files or not sys.platform.startswith("linux") \
            or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return workers


def ingest_study(study, store: Store, paths: list[Path] | None = None, *,
                 dry_run: bool = False,
                 on_file: Callable[[FileOutcome], None] | None = None,
                 wrap: Callable[[list], Iterable] | None = None,
                 keep_all: bool = True, workers: int | None = None,
                 register=None) -> IngestReport:
    """`register`: see `load_settings`."""
    settings, problems = load_settings(study, register)
    if settings.register is not None:
        settings.register.note_transcripts(_transcript_paths(study))
    targets = list(paths) if paths else [study.path("transcripts")]
    return ingest_paths(store, study.root, targets, settings, dry_run=dry_run,
                        on_file=on_file, setup_problems=problems, wrap=wrap,
                        keep_all=keep_all, workers=workers,
                        memo=UnchangedMemo(study) if not paths else None)
