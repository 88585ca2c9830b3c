"""The codebook's `changes` list: what became of codes between versions.

Entries accumulate over the life of a study; each names the version that made it:

    - {version: 1.1.0, kind: renamed, from: [a], to: [b]}
    - {version: 1.1.0, kind: merged,  from: [a, b], to: [c]}
    - {version: 1.2.0, kind: split,   from: [c], to: [c1, c2]}
    - {version: 1.2.0, kind: retired, codes: [d]}

`code` carries decisions over renames and merges and flags decided codings of split and
retired codes for review, so these entries must be exact: the checks here refuse an entry
whose shape does not fit its kind, that leads to an undefined code, or that ends a code the
codebook still uses (ids are never reused).
"""

from __future__ import annotations

import hashlib
import json
import re

from pipeline.codebook.yamlsource import YamlDocument, format_path
from pipeline.errors import Problem

ENDING_KINDS = ("renamed", "merged", "split", "retired")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")


def semver_key(version: str) -> tuple | None:
    """Sort key of a semantic version (a pre-release sorts before its release); None if
    the text is not one."""
    match = SEMVER.match(version or "")
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


def change_from(entry: dict) -> list[str]:
    """Codes an entry starts from (`codes` for retired, added and changed)."""
    if entry.get("kind") in ("retired", "added", "changed"):
        return list(entry.get("codes") or entry.get("from") or [])
    return list(entry.get("from") or [])


def change_to(entry: dict) -> list[str]:
    return list(entry.get("to") or [])


def ended_codes(entry: dict) -> list[str]:
    """Codes an entry ends (they may never be active again)."""
    if entry.get("kind") not in ENDING_KINDS:
        return []
    kept = set(change_to(entry))
    return [code for code in change_from(entry) if code not in kept]


def change_key(entry: dict) -> str:
    """Stable identity of an entry: its meaning without the free-text note."""
    core = {"version": entry.get("version"), "kind": entry.get("kind"),
            "from": change_from(entry), "to": change_to(entry)}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode("utf-8")).hexdigest()


def ordered_changes(changes) -> list[dict]:
    """Entries by version (then as written), the order in which they are carried out."""
    indexed = [(i, c) for i, c in enumerate(changes or []) if isinstance(c, dict)]
    return [c for _, c in sorted(indexed, key=lambda ic: (
        semver_key(str(ic[1].get("version", ""))) or (), ic[0]))]


def _problem(doc: YamlDocument, file: str, path: list, problem: str) -> Problem:
    return Problem("CQ410", {"location": doc.location(path), "yaml_path": format_path(path),
                             "line": doc.line_of(path), "problem": problem}, file=file)


def change_problems(doc: YamlDocument, file: str) -> list[Problem]:
    """Every problem of the `changes` entries (shape per kind, references, reuse)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    changes = data.get("changes")
    if not isinstance(changes, list):
        return []
    codes = data.get("codes") if isinstance(data.get("codes"), list) else []
    defined = {c.get("id") for c in codes if isinstance(c, dict)}
    active = {c.get("id") for c in codes if isinstance(c, dict) and not c.get("retired")}
    own_key = semver_key(str(data.get("version", "")))
    entries = [(i, c) for i, c in enumerate(changes) if isinstance(c, dict)]
    problems: list[Problem] = []

    def later_ended(index: int, entry: dict) -> set[str]:
        """Codes ended by entries after this one: a `to` may be renamed again later."""
        key = semver_key(str(entry.get("version", ""))) or ()
        found: set[str] = set()
        for j, other in entries:
            other_key = semver_key(str(other.get("version", ""))) or ()
            if (other_key, j) > (key, index):
                found.update(ended_codes(other))
        return found

    for index, entry in entries:
        where = ["changes", index]
        kind = entry.get("kind")
        version = str(entry.get("version", ""))
        sources, targets = change_from(entry), change_to(entry)
        key = semver_key(version)
        if key is None:
            problems.append(_problem(doc, file, [*where, "version"],
                                     f"version {version!r} is not MAJOR.MINOR.PATCH"))
        elif own_key is not None and key > own_key:
            problems.append(_problem(doc, file, [*where, "version"],
                                     f"version {version} is newer than the codebook's own "
                                     f"version {data.get('version')}"))
        shape = {
            "renamed": (len(sources) == 1 and len(targets) == 1,
                        "a rename has one code in `from` and one in `to`"),
            "merged": (len(sources) >= 1 and len(targets) == 1
                       and set(sources) - set(targets),
                       "a merge has the merged codes in `from` and the one code they become "
                       "in `to`"),
            "split": (len(sources) == 1 and len(targets) >= 2,
                      "a split has one code in `from` and the codes it becomes in `to`"),
            "retired": (len(sources) >= 1 and not targets,
                        "a retirement lists the retired codes in `codes` and has no `to`"),
            "added": (len(sources) >= 1 and not targets,
                      "an `added` entry lists the new codes in `codes`"),
            "changed": (len(sources) >= 1 and not targets,
                        "a `changed` entry lists the changed codes in `codes`"),
        }
        if kind not in shape:
            continue  # the schema reports an unknown kind
        fits, message = shape[kind]
        if not fits:
            problems.append(_problem(doc, file, where, message))
            continue
        if kind == "renamed" and set(sources) & set(targets):
            problems.append(_problem(doc, file, where, "a code cannot be renamed to itself"))
        later = later_ended(index, entry)
        must_exist = targets if kind in ENDING_KINDS else sources
        for k, code in enumerate(must_exist):
            if code not in defined and code not in later:
                field = "to" if kind in ENDING_KINDS else ("codes" if "codes" in entry
                                                           else "from")
                problems.append(_problem(
                    doc, file, [*where, field, k],
                    f"{code!r} is not defined under `codes` (nor ended by a later change)"))
        for code in ended_codes(entry):
            if code in active:
                problems.append(_problem(
                    doc, file, where,
                    f"{code!r} is {kind} in version {version} but still an active code; ids "
                    "are never reused: remove it from `codes`, mark it `retired: true`, or "
                    "give the new code another id"))
    return problems
