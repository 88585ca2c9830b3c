"""The actor registry: organisations the coder recognises by name, with category and sector.

The registry is curated input (YAML, checked against `actors.schema.json` and for unique ids,
known parents and names unique within a city), so a broken registry is refused as a whole with
every problem located by its YAML path and line. The team grows it from review:
`export_registry` merges the actors confirmed in the store into it and `registry_to_yaml`
writes it back in one canonical layout, so an unchanged registry exports byte for byte.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from pipeline.codebook.yamlsource import (
    YamlDocument,
    json_schema_problems,
    read_yaml_document,
    yaml_problem,
)
from pipeline.errors import CityQDAError, Problem

CATEGORIES = ("policy_maker", "practitioner", "business", "civil_society",
              "international_organization")
SECTORS = ("public", "private", "third")
# The sector each category usually has; anything else is allowed but warned about (CQ350).
USUAL_SECTORS = {
    "policy_maker": ("public",),
    "practitioner": ("public", "third", "private"),
    "business": ("private",),
    "civil_society": ("third",),
    "international_organization": ("third",),
}
DEFAULT_REGISTRY_NAME = "actors.yaml"
FIELD_ORDER = ("id", "name", "category", "sector", "aliases", "city", "country", "parent", "note")

HEADER = """\
# Actor registry: organisations the coder recognises by name.
#
# Curated input, edited by the research team and grown from review (`cityqda actors export`
# writes the confirmed registry back). Checked by `cityqda actors validate` against
# pipeline/schemas/actors.schema.json and for unique ids, known parents and names unique
# within a city.
#
# Each actor: id (stable, lower case), name (as the study reports it), category (the study's
# stakeholder categories: policy_maker, practitioner, business, civil_society,
# international_organization), sector (public, private, third), aliases (acronyms, names in
# other languages, former names, other spellings), city (null for national and international
# bodies), country, parent (id of the body it belongs to) and an optional note.
#
# Conventions (as in the study): governments, ministries, municipalities and their
# departments, secretariats and offices are policy makers; public agencies that deliver a
# service (immigration and employment services, schools, universities, health services,
# police) are practitioners; companies, banks, employers' bodies and chambers of commerce are
# business; NGOs, foundations, associations, faith-based and migrant organisations, unions and
# bar associations are civil society (third sector); UN agencies and other intergovernmental
# bodies are international organisations, counted as third actors.
#
# Matching ignores case (except for acronyms), accents, hyphens, "&"/"and" and British or
# American spelling; a name or alias must not be shared by two actors of the same city and
# country.
"""


@dataclass(frozen=True)
class RegistryActor:
    id: str
    name: str
    category: str
    sector: str
    aliases: tuple[str, ...] = ()
    city: str | None = None
    country: str | None = None
    parent: str | None = None
    note: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def as_dict(self) -> dict:
        data = {"id": self.id, "name": self.name, "category": self.category,
                "sector": self.sector}
        if self.aliases:
            data["aliases"] = list(self.aliases)
        for key in ("city", "country", "parent", "note"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class Registry:
    actors: tuple[RegistryActor, ...]
    description: str | None = None
    sha256: str = ""
    source: str = ""
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __hash__(self):  # registries are cached by content
        return hash((self.sha256, len(self.actors)))

    def get(self, actor_id: str) -> RegistryActor | None:
        if not self._index:
            self._index.update({actor.id: actor for actor in self.actors})
        return self._index.get(actor_id)


# ------------------------------------------------------------------------------ folding

_SPECIAL_LETTERS = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE",
                                  "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d",
                                  "Đ": "D", "ı": "i", "þ": "th", "ð": "d"})
_NOT_WORD = re.compile(r"[^\w]+")


def strip_accents(text: str) -> str:
    """Letters without their diacritics (São -> Sao, Ø -> O); case is kept."""
    text = text.translate(_SPECIAL_LETTERS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_key(text: str, variants: dict[str, str] | None = None) -> str:
    """The form two names are compared in: no accents, case, punctuation, leading article;
    "&" read as "and"; spelling variants (organization -> organisation) when given."""
    words = _NOT_WORD.sub(" ", strip_accents(text).lower().replace("&", " and ")).split()
    words = [w for w in words if w != "_"]
    if variants:
        words = [variants.get(w, w) for w in words]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


# ------------------------------------------------------------------------------ loading


def default_registry_path() -> Path:
    """The registry shipped with the package (copied into every new study)."""
    return Path(str(resources.files("pipeline") / "defaults" / "codebooks" /
                    DEFAULT_REGISTRY_NAME))


@lru_cache(maxsize=1)
def registry_schema() -> dict:
    path = resources.files("pipeline") / "schemas" / "actors.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def read_registry_document(path: Path) -> tuple[YamlDocument, str]:
    """The parsed document and the sha256 of its bytes; CQ301 when it cannot be read."""
    return read_yaml_document(path, "CQ301")




def _registry_message(error, path) -> str | None:
    if error.validator == "pattern" and path and path[-1] == "id":
        return (f"{error.instance!r} is not a valid id: use lower-case letters, digits, "
                "'.', '_' and '-', starting with a letter or digit")
    return None


def schema_problems(doc: YamlDocument, file: str) -> list[Problem]:
    return json_schema_problems(doc, file, registry_schema(), "CQ302", _registry_message)


def _scope_label(city, country) -> str:
    if city:
        return f"city {city}" + (f" ({country})" if country else "")
    if country:
        return f"national bodies of {country}"
    return "international bodies"


def semantic_problems(doc: YamlDocument, file: str,
                      categories: Iterable[str] = CATEGORIES,
                      variants: dict[str, str] | None = None) -> list[Problem]:
    """Unique ids, known parents without cycles, known categories, names unique per city."""
    data = doc.data if isinstance(doc.data, dict) else {}
    entries = data.get("actors") if isinstance(data.get("actors"), list) else []
    categories = tuple(categories)
    problems: list[Problem] = []
    first_of: dict[str, int] = {}
    items = [(i, entry) for i, entry in enumerate(entries) if isinstance(entry, dict)]
    for i, entry in items:
        actor_id = entry.get("id")
        if not isinstance(actor_id, str):
            continue
        if actor_id in first_of:
            problems.append(yaml_problem("CQ303", doc, file, ["actors", i, "id"], id=actor_id,
                                     first=doc.location(["actors", first_of[actor_id], "id"])))
        else:
            first_of[actor_id] = i
    parents: dict[str, str] = {}
    for i, entry in items:
        parent = entry.get("parent")
        if parent is None or not isinstance(parent, str):
            continue
        if parent not in first_of:
            problems.append(yaml_problem("CQ304", doc, file, ["actors", i, "parent"],
                                     parent=parent))
        elif parent == entry.get("id"):
            problems.append(yaml_problem("CQ305", doc, file, ["actors", i, "parent"],
                                     cycle=f"{parent} -> {parent}"))
        elif isinstance(entry.get("id"), str):
            parents.setdefault(entry["id"], parent)
    reported: set[str] = set()
    for start in sorted(parents):
        chain, current = [start], parents[start]
        while current in parents and current not in chain:
            chain.append(current)
            current = parents[current]
        if current in chain and current == start and not reported & set(chain):
            reported.update(chain)
            problems.append(yaml_problem("CQ305", doc, file, ["actors", first_of[start], "parent"],
                                     cycle=" -> ".join([*chain, start])))
    for i, entry in items:
        category, sector = entry.get("category"), entry.get("sector")
        if isinstance(category, str) and category not in categories:
            problems.append(yaml_problem("CQ307", doc, file, ["actors", i, "category"],
                                     category=category, known=", ".join(categories)))
        elif (isinstance(category, str) and sector in SECTORS
              and sector not in USUAL_SECTORS.get(category, SECTORS)):
            problems.append(yaml_problem(
                "CQ350", doc, file, ["actors", i, "sector"], category=category, sector=sector,
                expected=" or ".join(USUAL_SECTORS[category])))
    owners: dict[tuple, tuple[int, list]] = {}
    for i, entry in items:
        scope = (fold_key(entry["city"]) if isinstance(entry.get("city"), str) else None,
                 fold_key(entry["country"]) if isinstance(entry.get("country"), str) else None)
        names = [(["actors", i, "name"], entry.get("name"))]
        aliases = entry.get("aliases") if isinstance(entry.get("aliases"), list) else []
        names += [(["actors", i, "aliases", j], alias) for j, alias in enumerate(aliases)]
        own: dict[str, list] = {}
        for path, name in names:
            if not isinstance(name, str) or not fold_key(name, variants):
                continue
            key = fold_key(name, variants)
            if key in own:
                problems.append(yaml_problem("CQ351", doc, file, path, alias=name,
                                         other=doc.location(own[key])))
                continue
            own[key] = path
            holder = owners.get((scope, key))
            if holder is not None and holder[0] != i:
                problems.append(yaml_problem(
                    "CQ306", doc, file, path, alias=name, other=doc.location(holder[1]),
                    other_id=entries[holder[0]].get("id"),
                    scope=_scope_label(entry.get("city"), entry.get("country"))))
            else:
                owners[(scope, key)] = (i, path)
    return problems


def document_problems(doc: YamlDocument, file: str, categories: Iterable[str] = CATEGORIES,
                      variants: dict[str, str] | None = None) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [Problem("CQ302", {"location": "(top level)", "yaml_path": "(top level)",
                                  "line": 1, "problem": "the registry must be a mapping with "
                                                        "`version: 1` and a list `actors`"},
                        file=file)]
    problems = schema_problems(doc, file)
    problems.extend(semantic_problems(doc, file, categories, variants))
    return sorted(problems, key=lambda p: (p.fields.get("line") or 0, p.code))


def check_registry(path: str | Path, categories: Iterable[str] = CATEGORIES,
                   variants: dict[str, str] | None = None) -> list[Problem]:
    """Every problem (errors and warnings) of the registry at `path`."""
    path = Path(path)
    try:
        doc, _ = read_registry_document(path)
    except CityQDAError as exc:
        return exc.problems
    return document_problems(doc, str(path), categories, variants)


def _clean(value) -> str | None:
    return " ".join(str(value).split()) if value is not None else None


def build_registry(data: dict, sha256: str = "", source: str = "") -> Registry:
    """The model of an already validated document."""
    actors = tuple(
        RegistryActor(id=raw["id"], name=_clean(raw["name"]), category=raw["category"],
                      sector=raw["sector"],
                      aliases=tuple(_clean(a) for a in raw.get("aliases") or ()),
                      city=_clean(raw.get("city")), country=_clean(raw.get("country")),
                      parent=raw.get("parent"), note=_clean(raw.get("note")))
        for raw in data.get("actors") or [])
    return Registry(actors=actors, description=data.get("description"), sha256=sha256,
                    source=source)


def load_registry(path: str | Path | None = None, categories: Iterable[str] = CATEGORIES,
                  variants: dict[str, str] | None = None) -> Registry:
    """The registry at `path` (the package default when None), or CityQDAError."""
    path = Path(path) if path is not None else default_registry_path()
    return _load_registry_cached(str(path), tuple(categories),
                                 tuple(sorted((variants or {}).items())), _mtime(path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


@lru_cache(maxsize=8)
def _load_registry_cached(path: str, categories: tuple, variants: tuple, mtime) -> Registry:
    doc, sha256 = read_registry_document(Path(path))
    problems = [p for p in document_problems(doc, path, categories, dict(variants))
                if p.spec.level == "error"]
    if problems:
        raise CityQDAError.from_problems(problems)
    return build_registry(doc.data, sha256=sha256, source=path)


# ------------------------------------------------------------------------------ writing


def _flow(value) -> str:
    """One YAML value on one line, quoted only when YAML needs it."""
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True,
                          width=1 << 30, sort_keys=False).strip()
    return text[1:-1]


def registry_to_yaml(registry: Registry) -> str:
    """The registry in its canonical layout (header, one block per actor, file order)."""
    lines = [HEADER.rstrip("\n"), "version: 1"]
    if registry.description:
        lines.append(f"description: {_flow(registry.description)}")
    lines.append("actors:" if registry.actors else "actors: []")
    for actor in registry.actors:
        data = actor.as_dict()
        first = True
        for key in FIELD_ORDER:
            if key not in data:
                continue
            prefix = "  - " if first else "    "
            first = False
            lines.append(f"{prefix}{key}: {_flow(data[key])}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ export


@dataclass(frozen=True)
class ReviewedActor:
    """An actor as the store holds it after review (issue 7 and 9 fill these)."""

    key: str  # the store's identity of the actor
    name: str
    category: str
    sector: str
    status: str  # suggested | confirmed | rejected | merged_into:<key>
    city: str | None = None
    country: str | None = None
    aliases: tuple[str, ...] = ()
    registry_id: str | None = None
    parent: str | None = None  # registry id or key of another reviewed actor


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold_key(text)).strip("_") or "actor"


def export_registry(registry: Registry, reviewed: Iterable[ReviewedActor]) -> Registry:
    """The registry with the team's review decisions merged in.

    Confirmed actors update their registry entry (category, sector, new aliases) or become
    new entries; names merged into another actor become that actor's aliases; rejected and
    undecided actors change nothing. Entries keep their order; new ones follow, sorted by
    city and name, with ids made from their names.
    """
    reviewed = sorted(reviewed, key=lambda r: r.key)
    by_key = {r.key: r for r in reviewed}
    entries: dict[str, RegistryActor] = {a.id: a for a in registry.actors}
    order = [a.id for a in registry.actors]
    id_of_key: dict[str, str] = {}
    used_ids = set(entries)

    def new_id(actor: ReviewedActor) -> str:
        base = _slug(actor.name)
        if actor.city and base in used_ids:
            base = f"{_slug(actor.city)}.{base}"
        candidate, n = base, 2
        while candidate in used_ids:
            candidate, n = f"{base}_{n}", n + 1
        used_ids.add(candidate)
        return candidate

    confirmed = [r for r in reviewed if r.status == "confirmed"]
    new_ones = sorted((r for r in confirmed if not (r.registry_id and r.registry_id in entries)),
                      key=lambda r: (fold_key(r.city or ""), fold_key(r.name), r.key))
    for actor in confirmed:
        if actor.registry_id and actor.registry_id in entries:
            id_of_key[actor.key] = actor.registry_id
    for actor in new_ones:
        id_of_key[actor.key] = new_id(actor)

    def add_aliases(entry: RegistryActor, names: Iterable[str]) -> RegistryActor:
        known = {fold_key(n) for n in entry.names}
        extra = []
        for name in names:
            if name and fold_key(name) not in known:
                known.add(fold_key(name))
                extra.append(" ".join(name.split()))
        return replace(entry, aliases=entry.aliases + tuple(extra)) if extra else entry

    def parent_id(actor: ReviewedActor) -> str | None:
        if actor.parent is None:
            return None
        if actor.parent in entries:
            return actor.parent
        return id_of_key.get(actor.parent)

    for actor in confirmed:
        actor_id = id_of_key[actor.key]
        if actor_id in entries:
            entry = replace(entries[actor_id], category=actor.category, sector=actor.sector)
            entries[actor_id] = add_aliases(entry, (actor.name, *actor.aliases))
        else:
            entries[actor_id] = add_aliases(
                RegistryActor(id=actor_id, name=" ".join(actor.name.split()),
                              category=actor.category, sector=actor.sector, city=actor.city,
                              country=actor.country), actor.aliases)
            order.append(actor_id)
    for actor in confirmed:
        parent = parent_id(actor)
        actor_id = id_of_key[actor.key]
        if parent is not None and parent != actor_id:
            entries[actor_id] = replace(entries[actor_id], parent=parent)
    for actor in reviewed:
        if not actor.status.startswith("merged_into:"):
            continue
        target = actor.status.split(":", 1)[1]
        seen = set()
        while target in by_key and by_key[target].status.startswith("merged_into:") \
                and target not in seen:
            seen.add(target)
            target = by_key[target].status.split(":", 1)[1]
        target_id = target if target in entries else id_of_key.get(target)
        if target_id is not None and target_id in entries:
            entries[target_id] = add_aliases(entries[target_id], (actor.name, *actor.aliases))
    return Registry(actors=tuple(entries[i] for i in order), description=registry.description,
                    source=registry.source)


def reviewed_actors_from_store(conn, registry: Registry) -> list[ReviewedActor] | None:
    """Every actor of the store as a ReviewedActor (None when the store has no actors table).

    Registry actors are matched back to their entry by name or alias in the same city (or
    among national and international bodies), so their review corrections update that entry.
    """
    from sqlalchemy import inspect, select

    if not inspect(conn).has_table("actors"):
        return None
    from pipeline.store.schema import actors as table

    by_name: dict[tuple[str, str], str] = {}
    for entry in registry.actors:
        for name in entry.names:
            by_name.setdefault((fold_key(entry.city or ""), fold_key(name)), entry.id)
    found = []
    for row in conn.execute(select(table).order_by(table.c.id)).mappings():
        city = row["city"] or None
        key = fold_key(row["name"])
        registry_id = by_name.get((fold_key(city or ""), key)) or by_name.get(("", key))
        try:
            aliases = tuple(json.loads(row["aliases"] or "[]"))
        except ValueError:
            aliases = ()
        found.append(ReviewedActor(
            key=str(row["id"]), name=row["name"], category=row["category"] or "",
            sector=row["sector"] or "", status=row["review_status"] or "suggested",
            city=city, aliases=aliases, registry_id=registry_id,
            parent=str(row["parent_id"]) if row["parent_id"] is not None else None))
    return found


def export_study_registry(study, categories: Iterable[str] = CATEGORIES
                          ) -> tuple[str, list[Problem]]:
    """The study's registry with the store's review decisions merged in, as YAML text, and
    any warning (CQ352 when the store holds no reviewed actors yet)."""
    path = registry_path_for(study)
    registry = load_registry(path, categories)
    problems: list[Problem] = []
    reviewed = None
    if study.store_path.exists():
        from pipeline.store import open_study_store

        store = open_study_store(study)
        try:
            with store.read() as conn:
                reviewed = reviewed_actors_from_store(conn, registry)
        finally:
            store.close()
    decided = [r for r in reviewed or () if r.status != "suggested"]
    if not decided:
        reason = "" if reviewed is not None else " (it has no actors table)"
        problems.append(Problem("CQ352", {"path": str(study.store_path), "reason": reason}))
    valid = [r for r in decided if r.category in categories and r.sector in SECTORS
             or r.status != "confirmed"]
    return registry_to_yaml(export_registry(registry, valid)), problems


def find_actor(registry: Registry, text: str | None, city: str | None = None
               ) -> RegistryActor | None:
    """The registry entry an organisation field names ("International Mobility and
    Integration Organisation (IMIO)", "Lisbon City Council – Department of Social
    Development"): the whole text, else its parts around brackets and dashes; an entry of the
    given city first. For the speaker of an interview (see pipeline.nlp.entities)."""
    if not text:
        return None
    parts = [text, *re.split(r"\s*[()\u2013\u2014]\s*|\s+-\s+|,\s*", text)]
    city_key = fold_key(city) if city else None
    for part in parts:
        key = fold_key(part)
        if not key:
            continue
        hits = [a for a in registry.actors if any(fold_key(n) == key for n in a.names)]
        if hits:
            local = [a for a in hits if city_key and a.city and fold_key(a.city) == city_key]
            return (local or hits)[0]
    return None


# ------------------------------------------------------------------------------ study


def registry_path_for(study, actors_file: str | Path | None = None) -> Path:
    """--actors, else the study's registry (when the study has one), else the package
    default."""
    if actors_file is not None:
        return Path(actors_file)
    if study is not None and study.path("actors").exists():
        return study.path("actors")
    return default_registry_path()
