"""How well each coding rule does, judged by the reviewers' decisions.

* **precision** of a rule (or of a code's rules together) = suggestions the review settled as
  accepted / suggestions it settled (accepted + rejected). A `change` is a rejection of the
  suggested code. Disputed and undecided suggestions are counted but left out of precision;
  the status is the derived one (an adjudicator's ruling wins), so each suggestion counts
  once however many coders saw it. A 95% Wilson interval goes with it, because a rule
  judged on five suggestions says little.
* **recall** of a code = segments where an accepted suggestion of the code exists / those
  plus the segments where coders added the code themselves (an accepted manual coding, or
  the correction of a `change`) and no suggestion of it was accepted: such manual codings
  are the misses of that code's rules. It is per code, since a miss belongs to no one rule.

Written as outputs/rule_quality.xlsx and two CSV files, and as extra columns of the
codebook export (`codebook_columns`), sorted so the weakest rules come first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from pipeline.coding.decisions import coding_statuses
from pipeline.store.schema import codings

Z95 = 1.959963984540054
RULE_COLUMNS = ["rule", "code", "dimension", "suggestions", "decided", "accepted", "rejected",
                "disputed", "undecided", "precision", "precision_low", "precision_high",
                "code_recall"]
CODE_COLUMNS = ["code", "dimension", "rules", "suggestions", "decided", "accepted",
                "rejected", "disputed", "undecided", "precision", "precision_low",
                "precision_high", "segments_found", "segments_missed", "recall"]
CODEBOOK_COLUMNS = ["reviewed_suggestions", "precision", "segments_missed", "recall",
                    "rule_precision"]
OUTPUT_NAMES = {"xlsx": "rule_quality.xlsx", "rules_csv": "rule_quality_rules.csv",
                "codes_csv": "rule_quality_codes.csv"}


def wilson(successes: int, trials: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval of a proportion (None, None without trials)."""
    if trials == 0:
        return None, None
    p = successes / trials
    denominator = 1 + Z95 ** 2 / trials
    centre = (p + Z95 ** 2 / (2 * trials)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / trials + Z95 ** 2 / (4 * trials ** 2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Counts:
    suggestions: int = 0
    accepted: int = 0
    rejected: int = 0
    disputed: int = 0
    undecided: int = 0

    def add(self, status: str) -> None:
        self.suggestions += 1
        if status == "accepted":
            self.accepted += 1
        elif status == "rejected":
            self.rejected += 1
        elif status == "disputed":
            self.disputed += 1
        else:
            self.undecided += 1

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def precision(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    def cells(self) -> list:
        low, high = wilson(self.accepted, self.decided)
        return [self.suggestions, self.decided, self.accepted, self.rejected, self.disputed,
                self.undecided, self.precision, low, high]


@dataclass
class RuleQuality:
    rules: dict[str, Counts] = field(default_factory=dict)
    rule_code: dict[str, str] = field(default_factory=dict)
    codes: dict[str, Counts] = field(default_factory=dict)
    code_rules: dict[str, set] = field(default_factory=dict)
    dimension: dict[str, str | None] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)  # code -> segments with a hit
    missed: dict[str, int] = field(default_factory=dict)  # code -> segments missed

    @property
    def reviewed(self) -> bool:
        return any(c.decided or c.disputed for c in self.codes.values()) or any(
            self.missed.values())

    def recall(self, code: str) -> float | None:
        found, missed = self.found.get(code, 0), self.missed.get(code, 0)
        return found / (found + missed) if found + missed else None

    def rule_rows(self) -> list[list]:
        rows = [[rule, self.rule_code[rule], self.dimension.get(self.rule_code[rule]),
                 *counts.cells(), self.recall(self.rule_code[rule])]
                for rule, counts in self.rules.items()]
        return sorted(rows, key=_weakest_first(RULE_COLUMNS))

    def code_rows(self) -> list[list]:
        codes = sorted(set(self.codes) | set(self.missed))
        rows = [[code, self.dimension.get(code), len(self.code_rules.get(code, ())),
                 *self.codes.get(code, Counts()).cells(), self.found.get(code, 0),
                 self.missed.get(code, 0), self.recall(code)] for code in codes]
        return sorted(rows, key=_weakest_first(CODE_COLUMNS))

    def tables(self):
        from pipeline.aggregate.tables import ResultTable

        rate = "0.0%"
        rules = ResultTable(
            "rule_quality_rules", "Precision of each coding rule", RULE_COLUMNS,
            self.rule_rows(),
            ["precision = accepted / (accepted + rejected) suggestions of the rule, by "
             "derived status; disputed and undecided suggestions are left out",
             "precision_low/high: 95% Wilson interval",
             "code_recall: recall of the rule's code (misses belong to no single rule)",
             "sorted weakest first"],
            number_formats={c: rate for c in ("precision", "precision_low",
                                              "precision_high", "code_recall")})
        codes = ResultTable(
            "rule_quality_codes", "Precision and recall of each code's rules", CODE_COLUMNS,
            self.code_rows(),
            ["recall = segments_found / (segments_found + segments_missed); a segment is "
             "missed when coders added the code there (manual coding or change) and no "
             "suggestion of it was accepted", "sorted weakest first"],
            number_formats={c: rate for c in ("precision", "precision_low",
                                              "precision_high", "recall")})
        return [rules, codes]

    def codebook_columns(self) -> dict:
        """Extra columns for the codebook export: {"columns": [...], "codes": {id: [...]}}."""
        by_code: dict[str, list[str]] = defaultdict(list)
        for rule, counts in sorted(self.rules.items()):
            if counts.decided:
                by_code[self.rule_code[rule]].append(
                    f"{rule}: {counts.precision:.2f} ({counts.decided})")
        codes = {}
        for code in sorted(set(self.codes) | set(self.missed)):
            counts = self.codes.get(code, Counts())
            codes[code] = [counts.decided, _rounded(counts.precision),
                           self.missed.get(code, 0), _rounded(self.recall(code)),
                           "; ".join(by_code.get(code, []))]
        return {"columns": list(CODEBOOK_COLUMNS), "codes": codes}

    def as_dict(self) -> dict:
        return {"rules": [dict(zip(RULE_COLUMNS, row, strict=True))
                          for row in self.rule_rows()],
                "codes": [dict(zip(CODE_COLUMNS, row, strict=True))
                          for row in self.code_rows()]}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _weakest_first(columns: list[str]):
    at = columns.index("precision")

    def key(row):
        value = row[at]
        return (value is None, value if value is not None else 0.0, row[0])
    return key


def rule_quality(conn: Connection) -> RuleQuality:
    """Counts per rule and per code from the store's codings and their derived status."""
    statuses = coding_statuses(conn)
    quality = RuleQuality()
    hits: set[tuple[int, str]] = set()
    added: set[tuple[int, str]] = set()
    # plain tuples from the DB-API cursor: SQLAlchemy rows cost about half of this loop
    # over every coding of the study
    cursor = conn.connection.driver_connection.cursor()
    query = ("SELECT id, segment_id, code, dimension, rule_id, coder, merged_into "
             f"FROM {codings.name} ORDER BY id")
    for coding_id, segment_id, code, dimension, rule_id, coder, merged_into in \
            cursor.execute(query):
        status = statuses.get(coding_id)
        if merged_into is not None or status == "merged":
            continue
        quality.dimension.setdefault(code, dimension)
        if coder:  # a person's own coding
            if status == "accepted":
                added.add((segment_id, code))
            continue
        rule = rule_id or "(no rule)"
        quality.rule_code.setdefault(rule, code)
        quality.code_rules.setdefault(code, set()).add(rule)
        quality.rules.setdefault(rule, Counts()).add(status)
        quality.codes.setdefault(code, Counts()).add(status)
        if status == "accepted":
            hits.add((segment_id, code))
    for _segment, code in hits:
        quality.found[code] = quality.found.get(code, 0) + 1
    for key in sorted(added - hits):
        quality.missed[key[1]] = quality.missed.get(key[1], 0) + 1
    return quality


def write_rule_quality(quality: RuleQuality, folder: Path) -> dict[str, Path]:
    """outputs/rule_quality.xlsx and the two CSV files (deterministic bytes)."""
    from pipeline.aggregate.writing import write_csv, write_xlsx

    folder.mkdir(parents=True, exist_ok=True)
    rules, codes = quality.tables()
    paths = {name: folder / file for name, file in OUTPUT_NAMES.items()}
    write_xlsx([rules, codes], paths["xlsx"])
    write_csv(rules, paths["rules_csv"])
    write_csv(codes, paths["codes_csv"])
    return paths


def study_rule_quality(study, store) -> RuleQuality:
    with store.read() as conn:
        return rule_quality(conn)


def study_codebook_quality(study) -> dict | None:
    """Codebook-export columns from the study's store, or None when there is no store
    or nothing was reviewed yet (the export is then as before)."""
    from pipeline.store import open_study_store

    if not study.store_path.exists():
        return None
    store = open_study_store(study)
    try:
        quality = study_rule_quality(study, store)
    finally:
        store.close()
    return quality.codebook_columns() if quality.reviewed else None
