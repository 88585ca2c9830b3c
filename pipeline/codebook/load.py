"""Loading a codebook: read, check everything, and only then build the model.

A codebook with any problem is refused as a whole (CityQDAError listing every problem), so
nothing is ever coded with a broken codebook.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pipeline.codebook.model import (
    DIMENSION_ORDER,
    Code,
    Codebook,
    ContextConfig,
    Cue,
    Derivation,
    Pattern,
    Rule,
)
from pipeline.codebook.validate import schema_problems, semantic_problems
from pipeline.codebook.yamlsource import YamlDocument, format_path, read_yaml_document
from pipeline.errors import CityQDAError, Problem

DEFAULT_CODEBOOK_NAME = "integration_policy.yaml"


def default_codebook_path() -> Path:
    """The codebook shipped with the package (copied into every new study)."""
    return Path(str(resources.files("pipeline") / "defaults" / "codebooks" /
                    DEFAULT_CODEBOOK_NAME))


def read_codebook_document(path: Path) -> tuple[YamlDocument, str]:
    """The parsed document and the sha256 of its bytes; CQ201 when it cannot be read."""
    return read_yaml_document(path, "CQ201")


def check_codebook(path: str | Path, dimensions: tuple[str, ...] = DIMENSION_ORDER
                   ) -> list[Problem]:
    """Every problem of the codebook at `path` (empty when it is valid)."""
    path = Path(path)
    try:
        doc, _ = read_codebook_document(path)
    except CityQDAError as exc:
        return exc.problems
    return document_problems(doc, str(path), dimensions)


def document_problems(doc: YamlDocument, file: str,
                      dimensions: tuple[str, ...] = DIMENSION_ORDER) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [Problem("CQ202", {"location": "(top level)", "yaml_path": "(top level)",
                                  "line": 1,
                                  "problem": "the codebook must be a mapping with id, title, "
                                             "version, language, codes and context"},
                        file=file)]
    problems = schema_problems(doc, file)
    problems.extend(semantic_problems(doc, file, dimensions))
    return sorted(problems, key=lambda p: (p.fields.get("line") or 0, p.code))


def load_codebook(path: str | Path | None = None,
                  dimensions: tuple[str, ...] = DIMENSION_ORDER) -> Codebook:
    """The codebook at `path` (the package default when None), or CityQDAError."""
    path = Path(path) if path is not None else default_codebook_path()
    doc, sha256 = read_codebook_document(path)
    problems = document_problems(doc, str(path), dimensions)
    if problems:
        raise CityQDAError.from_problems(problems)
    return build_codebook(doc.data, sha256=sha256, source=str(path))


def _texts(value) -> tuple[str, ...]:
    return tuple(" ".join(str(v).split()) for v in (value or []))


def build_codebook(data: dict, sha256: str = "", source: str = "") -> Codebook:
    """The model of an already validated document."""
    codes = []
    for i, raw in enumerate(data["codes"]):
        patterns = tuple(
            Pattern(id=p["id"], code=raw["id"], role=p.get("role", ""),
                    when=tuple(p.get("when", ())), attr=p.get("attr", "LEMMA"),
                    phrases=tuple(p.get("phrases", ())),
                    tokens=tuple(p.get("tokens", ())),
                    path=format_path(["codes", i, "patterns", j]),
                    consumes_cues=bool(p.get("consumes_cues", False)),
                    cue=p.get("cue"))
            for j, p in enumerate(raw.get("patterns") or []))
        derive = tuple(Derivation(id=d["id"], code=raw["id"], sources=tuple(d["from"]),
                                  when=tuple(d["when"]))
                       for d in raw.get("derive") or [])
        codes.append(Code(
            id=raw["id"], kind=raw["kind"], label=" ".join(raw["label"].split()),
            definition=" ".join(raw["definition"].split()), parent=raw.get("parent"),
            include=_texts(raw.get("include")), exclude=_texts(raw.get("exclude")),
            examples=_texts(raw.get("examples")),
            counter_examples=_texts(raw.get("counter_examples")),
            retired=bool(raw.get("retired", False)), patterns=patterns, derive=derive))
    rules = tuple(
        Rule(id=r["id"], type=r["type"], label=" ".join(r["label"].split()),
             reason=" ".join(r["reason"].split()), sources=tuple(r.get("from", ())),
             target=r.get("to"), scope=r.get("scope", "sentence"), window=r.get("window", 0),
             context=tuple(r.get("context", ())), services=tuple(r.get("services", ())),
             phrases=tuple(r.get("phrases", ())), heads=tuple(r.get("heads", ())),
             connectors=tuple(r.get("connectors", ("of", "for", "and", "&", ",", "the"))),
             before=tuple(r.get("before", ())), patterns=tuple(r.get("patterns", ())),
             skip=tuple(r.get("skip", ())), unless=tuple(r.get("unless", ())),
             split=bool(r.get("split", False)))
        for r in data.get("rules") or [])
    ctx = data["context"]
    cues = tuple(
        Cue(id=c["id"], type=c["type"], phrases=tuple(c["phrases"]),
            direction=c.get("direction", "forward"), window=c.get("window", 8),
            back_window=c.get("back_window", 6),
            comma=c.get("comma", "clause_start"), attr=c.get("attr", "LEMMA"),
            cancelled_by_prior_negation=bool(c.get("cancelled_by_prior_negation", False)),
            cancel_reach=c.get("cancel_reach"),
            through_terminators=bool(c.get("through_terminators", False)))
        for c in ctx["cues"])
    context = ContextConfig(
        cues=cues, terminators=tuple(ctx["terminators"]), stops=tuple(ctx.get("stops", ())),
        clause_starters=tuple(ctx.get("clause_starters", ())),
        strong_markers=tuple(ctx["markers"]["strong"]),
        weak_markers=tuple(ctx["markers"]["weak"]), problem=tuple(ctx["problem"]),
        actors=tuple(ctx["actors"]), recipients=tuple(ctx.get("recipients", ())))
    lemmatizer = data.get("lemmatizer") or {}
    return Codebook(
        id=data["id"], title=" ".join(data["title"].split()), version=data["version"],
        language=data["language"], description=" ".join(str(data.get("description", "")).split()),
        codes=tuple(codes), rules=rules, context=context,
        lemma_overrides=dict(lemmatizer.get("overrides") or {}),
        lemma_variants=dict(lemmatizer.get("variants") or {}),
        changes=tuple(data.get("changes") or ()), sha256=sha256, source=source, raw=data)
