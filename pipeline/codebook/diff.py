"""What changed between two codebooks, and which part of a codebook decides the codings.

The *matching content* is the codebook without its wording (titles, labels, definitions,
criteria, examples, the change log): two codebooks with equal matching content code every
text alike, so wording may be edited under the same version while a changed pattern, rule,
cue list or hierarchy needs a new version. `diff_codebooks` lists both kinds of change, the
`changes` entries declared since the old version, and the problems `code` would refuse.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field

from pipeline.codebook.changes import change_from, change_key, ended_codes, semver_key

WORDING_TOP = ("title", "description", "changes", "version")
WORDING_CODE = ("label", "definition", "include", "exclude", "examples", "counter_examples")
WORDING_RULE = ("label",)


def matching_content(data: dict) -> dict:
    """The codebook document without the wording that never changes a coding."""
    content = copy.deepcopy({k: v for k, v in data.items() if k not in WORDING_TOP})
    for code in content.get("codes") or []:
        for key in WORDING_CODE:
            code.pop(key, None)
    for rule in content.get("rules") or []:
        for key in WORDING_RULE:
            rule.pop(key, None)
    return content


def matching_sha256(data: dict) -> str:
    text = json.dumps(matching_content(data), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _by_id(items) -> dict:
    return {item["id"]: item for item in items or [] if isinstance(item, dict) and "id" in item}


def _compare(old: dict, new: dict) -> dict[str, list[str]]:
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k]),
    }


@dataclass
class CodebookDiff:
    codebook_id: str
    old_version: str
    new_version: str
    declared: list[dict] = field(default_factory=list)  # `changes` entries new since OLD
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # marked `retired: true` in NEW
    hierarchy: list[str] = field(default_factory=list)  # kind or parent changed
    patterns: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    wording: list[str] = field(default_factory=list)
    rules: dict[str, list[str]] = field(default_factory=dict)
    cues: dict[str, list[str]] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    lemmatizer: bool = False
    matching_changed: bool = False
    undeclared_removals: list[str] = field(default_factory=list)

    @property
    def version_kept(self) -> bool:
        return self.old_version == self.new_version

    @property
    def problems(self) -> list[str]:
        """What `code` would refuse about NEW as a successor of OLD."""
        found = []
        if self.matching_changed and self.version_kept:
            found.append(f"matching content changed ({self.summary()}) but the version is "
                         f"still {self.new_version}")
        old_key, new_key = semver_key(self.old_version), semver_key(self.new_version)
        if old_key and new_key and new_key < old_key:
            found.append(f"version went down from {self.old_version} to {self.new_version}")
        if self.undeclared_removals:
            found.append("codes removed without a `changes` entry: "
                         + ", ".join(self.undeclared_removals))
        return found

    def summary(self) -> str:
        """One short phrase naming what changed in the matching content."""
        parts = []
        if self.added:
            parts.append("codes added: " + ", ".join(self.added))
        if self.removed:
            parts.append("codes removed: " + ", ".join(self.removed))
        if self.retired:
            parts.append("codes retired: " + ", ".join(self.retired))
        if self.hierarchy:
            parts.append("hierarchy of " + ", ".join(self.hierarchy))
        if self.patterns:
            parts.append("patterns of " + ", ".join(sorted(self.patterns)))
        for name, found in (("rules", self.rules), ("cues", self.cues)):
            touched = sorted({k for v in found.values() for k in v})
            if touched:
                parts.append(f"{name} " + ", ".join(touched))
        if self.context:
            parts.append("context " + ", ".join(self.context))
        if self.lemmatizer:
            parts.append("lemmatizer")
        if not parts and self.matching_changed:
            parts.append("order or details of the codes")
        return "; ".join(parts) or "nothing"

    def as_dict(self) -> dict:
        return {
            "codebook": self.codebook_id, "old_version": self.old_version,
            "new_version": self.new_version, "declared_changes": self.declared,
            "codes_added": self.added, "codes_removed": self.removed,
            "codes_retired": self.retired, "hierarchy_changed": self.hierarchy,
            "patterns_changed": self.patterns, "wording_changed": self.wording,
            "rules": self.rules, "cues": self.cues, "context_changed": self.context,
            "lemmatizer_changed": self.lemmatizer, "matching_changed": self.matching_changed,
            "problems": self.problems,
        }

    def lines(self) -> list[str]:
        """The diff as text, one change per line."""
        out = [f"codebook {self.codebook_id}: {self.old_version} -> {self.new_version}"
               + ("" if self.matching_changed else " (matching content unchanged)")]
        for entry in self.declared:
            sources = ", ".join(change_from(entry))
            targets = ", ".join(entry.get("to") or [])
            arrow = f"{sources} -> {targets}" if targets else sources
            note = f"  ({entry['note']})" if entry.get("note") else ""
            out.append(f"{entry.get('kind', ''):<10} {arrow}  [{entry.get('version')}]{note}")
        for label, codes in (("added", self.added), ("removed", self.removed),
                             ("retired", self.retired), ("hierarchy", self.hierarchy),
                             ("wording", self.wording)):
            for code in codes:
                out.append(f"{label:<10} {code}")
        for code, parts in sorted(self.patterns.items()):
            detail = "; ".join(f"{k} {', '.join(v)}" for k, v in parts.items() if v)
            out.append(f"{'patterns':<10} {code}: {detail}")
        for label, found in (("rule", self.rules), ("cue", self.cues)):
            for how, ids in found.items():
                for item in ids:
                    out.append(f"{label:<10} {how} {item}")
        for key in self.context:
            out.append(f"{'context':<10} {key}")
        if self.lemmatizer:
            out.append(f"{'lemmatizer':<10} overrides or variants changed")
        return out


def _code_patterns(code: dict) -> dict:
    found = _by_id(code.get("patterns"))
    found.update({f"derive:{k}": v for k, v in _by_id(code.get("derive")).items()})
    return found


def diff_codebooks(old: dict, new: dict) -> CodebookDiff:
    """Differences between two validated codebook documents (OLD first)."""
    result = CodebookDiff(codebook_id=str(new.get("id")), old_version=str(old.get("version")),
                          new_version=str(new.get("version")))
    old_keys = {change_key(c) for c in old.get("changes") or [] if isinstance(c, dict)}
    old_version = semver_key(result.old_version) or ()
    result.declared = [c for c in new.get("changes") or [] if isinstance(c, dict)
                       and change_key(c) not in old_keys
                       and (semver_key(str(c.get("version", ""))) or ()) > old_version]
    old_codes, new_codes = _by_id(old.get("codes")), _by_id(new.get("codes"))
    result.added = sorted(set(new_codes) - set(old_codes))
    result.removed = sorted(set(old_codes) - set(new_codes))
    for code_id in sorted(set(old_codes) & set(new_codes)):
        before, after = old_codes[code_id], new_codes[code_id]
        if after.get("retired") and not before.get("retired"):
            result.retired.append(code_id)
        if (before.get("kind"), before.get("parent")) != (after.get("kind"), after.get("parent")):
            result.hierarchy.append(code_id)
        compared = _compare(_code_patterns(before), _code_patterns(after))
        if any(compared.values()):
            result.patterns[code_id] = compared
        if any(before.get(k) != after.get(k) for k in WORDING_CODE):
            result.wording.append(code_id)
    for code_id in result.added:
        if _code_patterns(new_codes[code_id]):
            result.patterns[code_id] = {"added": sorted(_code_patterns(new_codes[code_id])),
                                        "removed": [], "changed": []}
    rules = _compare(_by_id(matching_content(old).get("rules")),
                     _by_id(matching_content(new).get("rules")))
    result.rules = {k: v for k, v in rules.items() if v}
    old_context, new_context = old.get("context") or {}, new.get("context") or {}
    cues = _compare(_by_id(old_context.get("cues")), _by_id(new_context.get("cues")))
    result.cues = {k: v for k, v in cues.items() if v}
    result.context = sorted(k for k in set(old_context) | set(new_context)
                            if k != "cues" and old_context.get(k) != new_context.get(k))
    result.lemmatizer = old.get("lemmatizer") != new.get("lemmatizer")
    result.matching_changed = matching_sha256(old) != matching_sha256(new)
    explained = {code for entry in new.get("changes") or [] if isinstance(entry, dict)
                 for code in ended_codes(entry)}
    result.undeclared_removals = [c for c in result.removed if c not in explained]
    return result


def diff_files(old_path, new_path, dimensions: tuple[str, ...] | None = None) -> CodebookDiff:
    """Diff two codebook files; each must be valid (CityQDAError otherwise)."""
    from pipeline.codebook.load import load_codebook
    from pipeline.codebook.model import DIMENSION_ORDER

    old = load_codebook(old_path, dimensions or DIMENSION_ORDER)
    new = load_codebook(new_path, dimensions or DIMENSION_ORDER)
    return diff_codebooks(old.raw, new.raw)
