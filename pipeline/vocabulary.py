"""Controlled values and metadata labels as people actually write them.

Transcripts and registers say "NGO / civil society", "Skype" or "Date of interview"; the
store keeps canonical ids (`civil_society`, `video`, `interview_date`). The wordings live
in `pipeline/defaults/vocabulary_variants.yaml` so a team can extend them without code.
Matching is exact after `normalise_label`, never fuzzy: a wrong guess here would silently
put an interview in the wrong category.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from pipeline.errors import CityQDAError, Problem
from pipeline.package_data import package_data_checked, parse_yaml
from pipeline.study import DEFAULT_VOCABULARIES

VARIANT_VOCABULARIES = ("categories", "guides", "modes", "outcomes")

METADATA_FIELDS = ("city", "country", "stakeholder_category", "organisation", "position",
                   "interview_date", "mode", "language", "interviewer", "interview_guide")

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=65536)
def normalise_label(text: str) -> str:
    """Fold case, accents, punctuation and spacing so that wordings compare equal.

    "Policy-maker (Municipality)", "policy maker municipality" and "POLICY MAKER –
    MUNICIPALITY:" all become "policy maker municipality". "&" reads as "and"; "_" as a space.
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ").replace("_", " ")
    text = text.replace("'", "").replace("\u2019", "")
    for dash in _DASHES:
        text = text.replace(dash, " ")
    return _NON_WORD.sub(" ", text).strip()


def variants_path() -> Path:
    return Path(str(resources.files("pipeline") / "defaults" / "vocabulary_variants.yaml"))


def _schema_path() -> Path:
    return Path(str(resources.files("pipeline") / "schemas" / "vocabulary_variants.schema.json"))


def check_variants(data, file: str) -> list[Problem]:
    """Schema and clash checks for a variants document; empty list when it is sound."""
    import json

    import jsonschema

    schema = json.loads(_schema_path().read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        location = ".".join(str(part) for part in error.path) or "(top level)"
        problems.append(Problem("CQ915", {"location": location, "problem": error.message},
                                file=file))
    if problems:
        return problems
    tables = dict(data["vocabularies"])
    tables["labels"] = data["labels"]
    for name, table in tables.items():
        owner: dict[str, str] = {}
        for ident, wordings in table.items():
            for wording in [ident, *wordings]:
                key = normalise_label(wording)
                if owner.setdefault(key, ident) != ident:
                    where = "labels" if name == "labels" else f"vocabularies.{name}"
                    problems.append(Problem("CQ915", {
                        "location": f"{where}.{ident}",
                        "problem": f"{wording!r} also belongs to {owner[key]!r}"}, file=file))
    return problems


class Variants:
    """Lookup tables built once from a variants document."""

    def __init__(self, data: dict):
        self.values: dict[str, dict[str, str]] = {}
        for name in VARIANT_VOCABULARIES:
            table = {}
            for ident, wordings in data["vocabularies"].get(name, {}).items():
                table[normalise_label(ident)] = ident
                for wording in wordings:
                    table[normalise_label(wording)] = ident
            self.values[name] = table
        self.labels: dict[str, str] = {}
        for field_name, wordings in data["labels"].items():
            self.labels[normalise_label(field_name)] = field_name
            for wording in wordings:
                self.labels[normalise_label(wording)] = field_name
        self.category_guides: dict[str, str] = dict(data.get("category_guides", {}))


def load_variants(path: str | Path, *, checked: bool = False) -> Variants:
    """Read and check a variants file. `checked`: its schema and clashes are known to be
    sound (the package's own file once `pipeline.package_data` has its verdict)."""
    path = Path(path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CityQDAError("CQ915", file=str(path), location="(file)", problem=str(exc)) from exc
    problems = [] if checked else check_variants(data, str(path))
    if problems:
        raise CityQDAError.from_problems(problems)
    return Variants(data)


@lru_cache(maxsize=1)
def default_variants() -> Variants:
    return load_variants(variants_path(), checked=package_data_checked())


def _strip_qualifier(text: str) -> str | None:
    """The part before a parenthesis, comma or colon: "NGO (food bank)" -> "ngo"."""
    head = re.split(r"[(\[,;:]", text, maxsplit=1)[0]
    return normalise_label(head) or None


@lru_cache(maxsize=64)
def _study_table(allowed: tuple[str, ...], extra_items: tuple) -> dict[str, str]:
    """The study's own ids and wordings, normalised (cached: registers call this per row)."""
    own = {normalise_label(ident): ident for ident in allowed}
    for ident, wordings in extra_items:
        for wording in wordings:
            own.setdefault(normalise_label(wording), ident)
    return own


def canonical(vocabulary: str, value: str, vocabularies: dict | None = None) -> str | None:
    """The canonical id that `value` stands for in `vocabulary`, or None.

    `vocabularies` is the study's table (cityqda.toml [vocabularies]); an id it declares
    beyond the defaults matches by its own spelling, and a default id the study dropped
    never matches. A study may add wordings under `[vocabularies.variants.<vocabulary>]`.
    """
    if vocabulary not in VARIANT_VOCABULARIES:
        raise ValueError(f"no variants for vocabulary {vocabulary!r}; "
                         f"known: {', '.join(VARIANT_VOCABULARIES)}")
    if value is None:
        return None
    allowed = tuple((vocabularies or DEFAULT_VOCABULARIES).get(vocabulary)
                    or DEFAULT_VOCABULARIES[vocabulary])
    extra = ((vocabularies or {}).get("variants") or {}).get(vocabulary) or {}
    extra_items = tuple((ident, tuple(str(w) for w in wordings))
                        for ident, wordings in extra.items() if isinstance(wordings, list))
    own = _study_table(allowed, extra_items)
    table = default_variants().values[vocabulary]
    candidates = [normalise_label(value)]
    head = _strip_qualifier(str(value))
    if head and head not in candidates:
        candidates.append(head)
    for key in candidates:
        if not key:
            continue
        found = own.get(key) or table.get(key)
        if found is not None and found in allowed:
            return found
    return None


def field_for_label(label: str) -> str | None:
    """The metadata field a label such as "Date of interview:" names, or None."""
    if label is None:
        return None
    return default_variants().labels.get(normalise_label(label))


def guide_for_category(category_id: str) -> str:
    """The guide a category is interviewed with by default (third actors share one guide)."""
    guides = default_variants().category_guides
    if category_id in guides:
        return guides[category_id]
    resolved = canonical("categories", category_id)
    if resolved in guides:
        return guides[resolved]
    raise KeyError(f"no default guide for category {category_id!r}; known categories: "
                   f"{', '.join(sorted(guides))}")
