"""The semi-structured interview guides, read from YAML, and tolerant heading matching.

A guide tells ingest which headings open which section and which paragraphs are the
interviewer's questions. Summaries are typed by people, so headings arrive as
"3. Policies & Programmes:" or "Future perspective"; `Guide.match_section` and
`Guide.match_question` absorb numbering, case, punctuation and small wording changes, but
refuse a heading that is close to two sections or merely shares a word with one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from pipeline.errors import CityQDAError, Problem
from pipeline.study import DEFAULT_VOCABULARIES
from pipeline.vocabulary import normalise_label

GUIDE_SUFFIXES = (".yaml", ".yml")

# Similarity (rapidfuzz ratio, 0-100) a heading needs to match a section title or alias
# it does not equal after normalising: absorbs "Future perspective", "Polices", "Programs";
# rejects "Partnership challenges in the city" (52 against Partnerships).
SECTION_THRESHOLD = 85.0
# Questions are longer, so one changed word costs less; short ones must match exactly.
QUESTION_THRESHOLD = 82.0
QUESTION_MIN_WORDS_FOR_FUZZY = 4
# A fuzzy winner must beat the best candidate of another section/question by this much.
AMBIGUITY_MARGIN = 3.0
# Last resort for reworded questions ("What groups are targeted by the programme?" for
# "Which target groups does it address?"): overlap of content-word stems, each word
# weighted by how rare it is in the guide, so "policy", "migrant" or "city" alone never
# decide. Share (0-1) of weight that must overlap, the lead over the runner-up, and the
# least number of shared stems.
CONTENT_THRESHOLD = 0.5
CONTENT_MARGIN = 0.1
CONTENT_MIN_SHARED = 2

_STOPWORDS = frozenset("""
a an the and or nor but of in on for to with by from at as into onto about over under than
then so such is are was were be been being do does did done have has had having this that
these those it its itself your yours you we our ours they their them there here what which
who whom whose how why when where would could should can will shall may might must please
any anything else other others each every not no yes if whether also just very more most
me my i he she his her us up out
""".split())
_STEM_SUFFIXES = ("isations", "isation", "ations", "ation", "ings", "ing", "ies", "ed", "es",
                  "s")

_ROMAN = r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})"
_KEYWORD_PREFIX = re.compile(
    r"^\s*(?:section|part|chapter|block|theme|topic|module)\b\s*"
    rf"(?:\d+(?:\.\d+)*|{_ROMAN}\b|[a-z]\b)?\s*[.):\-\u2013\u2014]*\s*", re.I)
_NUMBER_PREFIX = re.compile(
    rf"^\s*(?:(?:\d+(?:\.\d+)*|{_ROMAN}|[a-z])\s*[.):\-\u2013\u2014]+|\d+(?:\.\d+)*\s)\s*", re.I)
_QUESTION_PREFIX = re.compile(
    r"^\s*(?:q(?:uestion)?\s*\d*(?:\.\d+)*\s*[.:)\-\u2013\u2014]|\d+(?:\.\d+)*\s*[.):]|"
    r"[-\u2022*\u2013\u2014\u00b7\u25aa\u25cf\u25e6])\s*", re.I)
_TRAILING_NOTE = re.compile(r"\s*[\[(][^\[\]()]*[\])]\s*[.:]?\s*$")


@dataclass(frozen=True)
class Question:
    text: str
    probes: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"text": self.text}
        if self.probes:
            out["probes"] = list(self.probes)
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Section:
    title: str
    aliases: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"title": self.title}
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.note:
            out["note"] = self.note
        out["questions"] = [q.to_dict() for q in self.questions]
        return out


def heading_key(heading: str) -> str:
    """A heading with numbering ("3.", "III.", "Section 2 –") removed, then normalised."""
    text = str(heading)
    for _ in range(2):
        stripped = _KEYWORD_PREFIX.sub("", text, count=1)
        stripped = _NUMBER_PREFIX.sub("", stripped, count=1)
        if stripped == text or not normalise_label(stripped):
            break
        text = stripped
    return normalise_label(text)


def question_key(text: str) -> str:
    """Question text with "Q:", "Q3.", "2)" or a bullet removed, then normalised."""
    stripped = _QUESTION_PREFIX.sub("", str(text), count=1)
    return normalise_label(stripped) or normalise_label(text)


def _without_trailing_note(text: str) -> str | None:
    stripped = _TRAILING_NOTE.sub("", str(text))
    return stripped if stripped != text and stripped.strip() else None


def _best(key: str, candidates: list[tuple[str, object]], threshold: float,
          scorer) -> object | None:
    """Exact key match first, else the clear fuzzy winner above `threshold`, else None."""
    for candidate_key, target in candidates:
        if candidate_key == key:
            return target
    best_by_target: dict[int, tuple[float, object]] = {}
    for candidate_key, target in candidates:
        score = scorer(key, candidate_key)
        current = best_by_target.get(id(target))
        if current is None or score > current[0]:
            best_by_target[id(target)] = (score, target)
    ranked = sorted(best_by_target.values(), key=lambda pair: -pair[0])
    if not ranked or ranked[0][0] < threshold:
        return None
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < AMBIGUITY_MARGIN:
        return None
    return ranked[0][1]


def _question_score(a: str, b: str) -> float:
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _stem(word: str) -> str:
    """Crude English stem that also folds US spellings (organization, program)."""
    word = word.replace("ization", "isation").replace("yze", "yse")
    if word.startswith("program") and not word.startswith("programme"):
        word = "programme" + word[len("program"):]
    for suffix in _STEM_SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_stems(key: str) -> frozenset[str]:
    """Stems of the content words of a normalised text."""
    return frozenset(_stem(w) for w in key.split() if w not in _STOPWORDS and len(w) > 2)


class _ContentIndex:
    """Rarity-weighted stem overlap between a text and the guide's wordings."""

    def __init__(self, entries: list[tuple[frozenset[str], Question]]):
        import math

        self.entries = entries
        frequency: dict[str, int] = {}
        for stems, _ in entries:
            for stem in stems:
                frequency[stem] = frequency.get(stem, 0) + 1
        total = len(entries) + 1
        self.weight = {stem: math.log(total / (count + 0.5))
                       for stem, count in frequency.items()}
        self.unseen = math.log(total / 0.5)

    def _w(self, stem: str) -> float:
        return self.weight.get(stem, self.unseen)

    def best(self, stems: frozenset[str], allowed: set[int] | None) -> Question | None:
        if not stems:
            return None
        own = sum(self._w(s) for s in stems)
        best_by_question: dict[int, tuple[float, Question]] = {}
        for entry_stems, question in self.entries:
            if allowed is not None and id(question) not in allowed:
                continue
            shared = stems & entry_stems
            if len(shared) < CONTENT_MIN_SHARED:
                continue
            score = 2 * sum(self._w(s) for s in shared) / (
                own + sum(self._w(s) for s in entry_stems))
            current = best_by_question.get(id(question))
            if current is None or score > current[0]:
                best_by_question[id(question)] = (score, question)
        ranked = sorted(best_by_question.values(), key=lambda pair: -pair[0])
        if not ranked or ranked[0][0] < CONTENT_THRESHOLD:
            return None
        if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < CONTENT_MARGIN:
            return None
        return ranked[0][1]


@dataclass
class Guide:
    id: str
    title: str
    categories: tuple[str, ...]
    sections: list[Section]
    description: str | None = None
    file: str | None = field(default=None, compare=False)
    _section_index: list | None = field(default=None, init=False, repr=False, compare=False)
    _question_index: dict | None = field(default=None, init=False, repr=False, compare=False)
    _content_index: _ContentIndex | None = field(default=None, init=False, repr=False,
                                                 compare=False)

    def section(self, title: str) -> Section | None:
        """The section with exactly this title."""
        return next((s for s in self.sections if s.title == title), None)

    def match_section(self, heading: str) -> Section | None:
        """The section a transcript heading stands for, or None when unsure."""
        if heading is None:
            return None
        if self._section_index is None:
            self._section_index = [(normalise_label(name), section)
                                   for section in self.sections
                                   for name in (section.title, *section.aliases)]
        for text in (heading, _without_trailing_note(heading)):
            if not text:
                continue
            key = heading_key(text)
            if not key:
                continue
            found = _best(key, self._section_index, SECTION_THRESHOLD, fuzz.ratio)
            if found is not None:
                return found
        return None

    def match_question(self, text: str, section: Section | None = None) -> Question | None:
        """The guide question a transcript paragraph asks (a probe counts as its question).

        Pass `section` when known: the same question can appear in two sections.
        """
        if text is None:
            return None
        if self._question_index is None:
            self._question_index = {}
            for sec in self.sections:
                entries = []
                for question in sec.questions:
                    for wording in (question.text, *question.probes):
                        entries.append((question_key(wording), question))
                self._question_index[sec.title] = entries
        if section is not None:
            pool = list(self._question_index.get(section.title, []))
        else:
            seen: dict[str, Question] = {}
            pool = []
            for entries in self._question_index.values():
                for key, question in entries:
                    # identical questions in two sections are one target, not a tie
                    target = seen.setdefault(question.text, question)
                    pool.append((key, target))
        for candidate in (text, _without_trailing_note(text)):
            if not candidate:
                continue
            key = question_key(candidate)
            if not key:
                continue
            exact = next((q for k, q in pool if k == key), None)
            if exact is not None:
                return exact
            if len(key.split()) < QUESTION_MIN_WORDS_FOR_FUZZY:
                continue
            fuzzy_pool = [(k, q) for k, q in pool
                          if len(k.split()) >= QUESTION_MIN_WORDS_FOR_FUZZY]
            found = _best(key, fuzzy_pool, QUESTION_THRESHOLD, _question_score)
            if found is not None:
                return found
        if self._content_index is None:
            self._content_index = _ContentIndex([
                (content_stems(key), question)
                for entries in self._question_index.values() for key, question in entries])
        allowed = {id(q) for _, q in pool}
        for candidate in (text, _without_trailing_note(text)):
            if candidate:
                found = self._content_index.best(content_stems(question_key(candidate)),
                                                 allowed)
                if found is not None:
                    return found
        return None

    def to_dict(self) -> dict:
        out: dict = {"id": self.id, "title": self.title}
        if self.description:
            out["description"] = self.description
        out["categories"] = list(self.categories)
        out["sections"] = [s.to_dict() for s in self.sections]
        return out


# --- reading YAML with locations --------------------------------------------------------------

def _read_yaml(path: Path) -> tuple[object, yaml.Node | None]:
    """Data and node tree; a key written twice is refused (shared strict loader, imported
    here: a run whose guides check is kept does not need the codebook package)."""
    from pipeline.codebook.yamlsource import YamlDocument

    document = YamlDocument.from_path(path)
    return document.data, document.root


def _node_at(node: yaml.Node | None, path: list) -> yaml.Node | None:
    """The YAML node at a JSON path, or the deepest ancestor found (for line numbers)."""
    for part in path:
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
            if child is None:
                child = next((key for key, _ in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        else:
            child = None
        if child is None:
            return node
        node = child
    return node


def _location(path: list, node: yaml.Node | None) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    text = text or "(top level)"
    target = _node_at(node, path)
    if target is not None:
        text += f" (line {target.start_mark.line + 1})"
    return text


def _schema() -> dict:
    path = resources.files("pipeline") / "schemas" / "guide.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _schema_problems(data, node, file: str) -> list[Problem]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    problems = []
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = list(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for extra in sorted(k for k in error.instance if k not in allowed):
                problems.append(Problem("CQ902", {
                    "location": _location([*path, extra], node),
                    "problem": f"unknown key {extra!r}; allowed here: "
                               f"{', '.join(sorted(allowed))}"}, file=file))
            continue
        problems.append(Problem("CQ902", {"location": _location(path, node),
                                          "problem": message}, file=file))
    return problems


def _build_guide(data: dict, file: str) -> Guide:
    sections = []
    for raw in data["sections"]:
        questions = tuple(
            Question(q["text"].strip(), tuple(p.strip() for p in q.get("probes", [])),
                     (q.get("note") or "").strip() or None)
            for q in (raw.get("questions") or []))
        sections.append(Section(raw["title"].strip(),
                                tuple(a.strip() for a in raw.get("aliases", [])),
                                questions, (raw.get("note") or "").strip() or None))
    return Guide(id=data["id"], title=data["title"].strip(),
                 categories=tuple(data["categories"]), sections=sections,
                 description=(data.get("description") or "").strip() or None, file=file)


def _guide_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in GUIDE_SUFFIXES
                  and not p.name.startswith((".", "~")))


def check_guides(folder: Path, vocabularies: dict | None, cache_dir: Path | None = None
                 ) -> tuple[dict[str, Guide], list[Problem]]:
    """The guides that could be read, and every problem (errors and warnings).

    The last result is kept for the same files' bytes and vocabularies: `cityqda run`
    checks the guides in its guides stage and loads them again to ingest. With
    `cache_dir` (the study's cache folder) it is also kept on disk for the next run
    (pipeline.ingest.check_memo)."""
    folder = Path(folder)
    try:
        files = tuple((p.name, p.read_bytes()) for p in _guide_files(folder))
        key = (str(folder), str(folder.resolve()), repr(vocabularies), files)
    except OSError:
        key = None
    if key is not None and _LAST_CHECK and _LAST_CHECK[0] == key:
        guides, problems = _LAST_CHECK[1]
        return dict(guides), list(problems)
    if key is not None and cache_dir is not None:
        guides, problems = _memo_check(folder, vocabularies, cache_dir, key)
    else:
        guides, problems = _check_guides(folder, vocabularies)
    _LAST_CHECK[:] = [key, (dict(guides), list(problems))] if key is not None else []
    return guides, problems


_LAST_CHECK: list = []  # [key, (guides, problems)] of the last check_guides


def _memo_check(folder: Path, vocabularies: dict | None, cache_dir: Path, key: tuple
                ) -> tuple[dict[str, Guide], list[Problem]]:
    """The check's result from the memo when its inputs are the same, else checked and
    kept: guides as their YAML data, problems as their fields."""
    from pipeline.ingest import check_memo

    folder_names, _resolved, _vocabularies, files = key

    def keep(result):
        guides, problems = result
        return {"guides": [[guide.to_dict(), guide.file] for guide in guides.values()],
                "problems": check_memo.plain_problems(problems)}

    def restore(found):
        guides = {data["id"]: _build_guide(data, file) for data, file in found["guides"]}
        return guides, check_memo.problems_of(found["problems"])

    return check_memo.memoised(
        cache_dir, "guides", check_memo.memo_key("guides", files, vocabularies,
                                                 extra=folder_names),
        lambda: _check_guides(folder, vocabularies), keep, restore)


def _check_guides(folder: Path, vocabularies: dict | None
                  ) -> tuple[dict[str, Guide], list[Problem]]:
    if not folder.is_dir():
        return {}, [Problem("CQ006", {"path": str(folder)}, file=str(folder))]
    files = _guide_files(folder)
    if not files:
        return {}, [Problem("CQ910", {"path": str(folder)}, file=str(folder))]

    problems: list[Problem] = []
    guides: dict[str, Guide] = {}
    nodes: dict[str, yaml.Node | None] = {}
    known_categories = list(vocabularies["categories"]) if vocabularies else None
    known_guides = list(vocabularies["guides"]) if vocabularies else None

    for path in files:
        file = str(path)
        try:
            data, node = _read_yaml(path)
        except yaml.YAMLError as exc:
            problems.append(Problem("CQ901", {"problem": str(exc).replace("\n", " ")}, file=file))
            continue
        except UnicodeDecodeError as exc:
            problems.append(Problem("CQ901", {"problem": f"not UTF-8 text ({exc.reason})"},
                                    file=file))
            continue
        except OSError as exc:
            problems.append(Problem("CQ901", {
                "problem": f"cannot read the file ({exc.strerror or exc})"}, file=file))
            continue
        if data is None:  # "None is not of type 'object'" would say nothing useful
            problems.append(Problem("CQ901", {
                "problem": "the file is empty (a saved-over or truncated guide?)"}, file=file))
            continue
        schema_problems = _schema_problems(data, node, file)
        if schema_problems:
            problems.extend(schema_problems)
            continue
        guide = _build_guide(data, file)

        if guide.id in guides:
            problems.append(Problem("CQ903", {
                "location": _location(["id"], node), "guide": guide.id,
                "other": guides[guide.id].file}, file=file))
            continue
        if path.stem != guide.id:
            problems.append(Problem("CQ950", {"guide": guide.id, "name": path.name}, file=file))
        if known_guides is not None and guide.id not in known_guides:
            problems.append(Problem("CQ909", {
                "location": _location(["id"], node), "guide": guide.id,
                "known": ", ".join(known_guides)}, file=file))
        if known_categories is not None:
            for index, category in enumerate(guide.categories):
                if category not in known_categories:
                    problems.append(Problem("CQ904", {
                        "location": _location(["categories", index], node),
                        "category": category, "known": ", ".join(known_categories)},
                        file=file))
        seen_headings: dict[str, str] = {}
        for s_index, section in enumerate(guide.sections):
            for a_index, name in enumerate((section.title, *section.aliases)):
                path_parts = (["sections", s_index, "title"] if a_index == 0
                              else ["sections", s_index, "aliases", a_index - 1])
                key = normalise_label(name)
                where = _location(path_parts, node)
                if key in seen_headings:
                    if a_index > 0 and seen_headings[key].startswith(
                            f"sections[{s_index}]."):
                        continue  # an alias restating its own title is harmless
                    problems.append(Problem("CQ907", {
                        "location": where, "title": name, "other": seen_headings[key]},
                        file=file))
                else:
                    seen_headings[key] = where
            if not section.questions:
                problems.append(Problem("CQ908", {
                    "location": _location(["sections", s_index], node),
                    "title": section.title}, file=file))
        guides[guide.id] = guide
        nodes[guide.id] = node

    owners: dict[str, list[str]] = {}
    for guide in guides.values():
        for category in guide.categories:
            owners.setdefault(category, []).append(guide.id)
    for category, guide_ids in sorted(owners.items()):
        if len(guide_ids) > 1:
            problems.append(Problem("CQ906", {
                "category": category, "guides": ", ".join(sorted(guide_ids))},
                file=str(folder)))
    if known_categories is not None and not any(p.code == "CQ901" or p.code == "CQ902"
                                                for p in problems):
        for category in known_categories:
            if category not in owners:
                problems.append(Problem("CQ905", {"category": category}, file=str(folder)))

    order = list(known_guides or DEFAULT_VOCABULARIES["guides"])
    ranked = sorted(guides, key=lambda g: (order.index(g) if g in order else len(order), g))
    return {g: guides[g] for g in ranked}, problems


def validate_guides(folder: Path, vocabularies: dict, cache_dir: Path | None = None
                    ) -> list[Problem]:
    """Every problem (errors and warnings) of the guides in `folder`, in file order;
    `cache_dir`: see `check_guides`."""
    return check_guides(Path(folder), vocabularies, cache_dir)[1]


def load_guides(folder: Path, vocabularies: dict | None = None) -> dict[str, Guide]:
    """The guides in `folder` by id; raises CityQDAError listing every error.

    Without `vocabularies`, ids and categories are not checked against a study.
    """
    guides, problems = check_guides(Path(folder), vocabularies)
    errors = [p for p in problems if p.spec.level == "error"]
    if errors:
        raise CityQDAError.from_problems(errors)
    return guides


def default_guides_dir() -> Path:
    return Path(str(resources.files("pipeline") / "defaults" / "interview_guides"))


def guide_for(guides: dict[str, Guide], category_id: str) -> Guide | None:
    """The guide whose categories include `category_id`."""
    return next((g for g in guides.values() if category_id in g.categories), None)
