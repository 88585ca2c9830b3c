"""Actors, initiatives and partnerships of a coded document, as the objects `cityqda tag`
prints (offsets in code points of the text as given).

    actors        [{"name", "category", "start", "end", "guess", "sector", "generic",
                    "registry_id", "canonical", "refers_to", "source", "evidence"}]
    initiatives   [{"name", "start", "end", "actors", "dimensions", "status", "negated",
                    "hypothetical", "counts", "guess"}]
    partnerships  [{"parties", "type", "status", "start", "end", "cue", "kind", "sectors",
                    "party_mentions"}]

`name` is always the text at [start, end). Actor and party names in `actors` and `parties`
lists are canonical: the registry's name, the actor a reference points to, else the name as
written. The pass runs on the doc the coder's pipeline made (see `EntityTagger.extract`), so it
costs one PhraseMatcher pass and a little Python per text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pipeline.nlp.actors import (
    ActorRecognizer,
    DocView,
    EntityMatcher,
    load_entity_cues,
)
from pipeline.nlp.initiatives import InitiativeRecognizer
from pipeline.nlp.partnerships import PartnershipRecognizer
from pipeline.nlp.registry import Registry, load_registry

EMPTY = {"actors": [], "initiatives": [], "partnerships": []}


class EntityTagger:
    """Finds actors, initiatives and partnerships in docs of one spaCy pipeline."""

    def __init__(self, nlp, registry: Registry | None = None, cues_path: str | None = None,
                 keywords: list | None = None, cues=None):
        """`keywords`: see `EntityMatcher`; `cues`: the cue lists already loaded (both from
        the build cache of `pipeline.nlp.tagger`)."""
        self.registry = registry if registry is not None else load_registry()
        self.cues = cues if cues is not None else load_entity_cues(cues_path)
        self.matcher = EntityMatcher(nlp, self.registry, self.cues, keywords)
        self.actors = ActorRecognizer(self.matcher)
        self.initiatives = InitiativeRecognizer(self.cues)
        self.partnerships = PartnershipRecognizer(self.cues)

    def analyse(self, doc, analysis=None, dimension_of=None, context: dict | None = None,
                text: str | None = None):
        """The DocView with actors, and the initiative and partnership mentions (tokens);
        `text` is the doc's text when the caller has it (saves rebuilding it)."""
        view = DocView(doc, self.matcher, context, text)
        if not view.length:
            return view, [], []
        self.actors(view)
        initiatives = self.initiatives(view, analysis, dimension_of)
        partnerships = self.partnerships(view, initiatives)
        return view, initiatives, partnerships

    def extract(self, doc, norm=None, analysis=None, dimension_of=None,
                context: dict | None = None) -> dict:
        """JSON-ready lists; `norm` maps the doc's offsets back to the original text.

        `context` may give the `city` and `country` of the text (to tell apart registry
        entries sharing a name) and the `speaker` ({"name", "category", "sector",
        "registry_id"}: the interviewee's organisation, which "we" and "our organisation"
        mean and which is the unnamed party of "a partnership with X")."""
        if not len(doc):
            return {key: [] for key in EMPTY}
        view, initiatives, partnerships = self.analyse(
            doc, analysis, dimension_of, context, norm.text if norm is not None else None)
        original = norm.original if norm is not None else view.string
        string, idx, ends, sent = view.string, view.idx, view.ends, view.sent

        def offsets(start_token: int, end_token: int) -> tuple[int, int]:
            start_char, end_char = idx[start_token], ends[end_token - 1]
            if end_char - idx[end_token - 1] > 1 and string[end_char - 1] == "." and (
                    end_token == len(idx) or sent[end_token] != sent[end_token - 1]
                    or "\n" in string[end_char:idx[end_token]]):
                end_char -= 1  # "... Logistik GmbH." at the end of a sentence
            if norm is None:
                return start_char, end_char
            return norm.to_original(start_char, end_char)

        actors = []
        for actor in view.actors:
            start, end = offsets(actor.start, actor.end)
            actors.append({
                "name": original[start:end], "category": actor.category, "start": start,
                "end": end, "guess": actor.guess, "sector": actor.sector,
                "generic": actor.generic, "registry_id": actor.registry_id,
                "canonical": actor.canonical, "refers_to": actor.refers_to,
                "source": actor.source, "evidence": list(actor.evidence)})
        found_initiatives = []
        for item in initiatives:
            start, end = offsets(item.start, item.end)
            found_initiatives.append({
                "name": original[start:end], "start": start, "end": end,
                "actors": _names(item.actors), "dimensions": list(item.dimensions),
                "status": item.status, "negated": item.negated,
                "hypothetical": item.hypothetical, "counts": item.counts, "guess": True})
        found_partnerships = []
        for item in partnerships:
            start, end = offsets(item.start, item.end)
            cue_start, cue_end = offsets(item.cue_start, item.cue_end)
            mentions = []
            for party in item.parties:
                p_start, p_end = offsets(party.start, party.end)
                mentions.append({"name": original[p_start:p_end], "canonical": party.canonical,
                                 "start": p_start, "end": p_end, "category": party.category,
                                 "sector": party.sector, "generic": party.generic,
                                 "registry_id": party.registry_id})
            for party in item.implicit:
                mentions.append({"name": None, "canonical": party.get("name"), "start": None,
                                 "end": None, "category": party.get("category"),
                                 "sector": party.get("sector"), "generic": False,
                                 "registry_id": party.get("registry_id")})
            parties = _names(item.parties) + [p.get("name") for p in item.implicit]
            found_partnerships.append({
                "parties": parties, "type": item.type, "status": item.status, "start": start,
                "end": end, "cue": original[cue_start:cue_end], "kind": item.kind,
                "sectors": sorted({m["sector"] for m in mentions if m["sector"]}),
                "party_mentions": mentions})
        return {"actors": actors, "initiatives": found_initiatives,
                "partnerships": found_partnerships}


def _names(actors) -> list[str]:
    names: list[str] = []
    for actor in actors:
        if actor.canonical not in names:
            names.append(actor.canonical)
    return names


@lru_cache(maxsize=8)
def _entity_tagger(nlp, registry_path: str | None, mtime) -> EntityTagger:
    registry = load_registry(registry_path) if registry_path else None
    return EntityTagger(nlp, registry)


def entity_tagger_for(nlp, actors: str | Path | Registry | None = None) -> EntityTagger:
    """The entity tagger of a pipeline and registry (a path, a Registry, or the default),
    built once per process."""
    if isinstance(actors, Registry):
        return EntityTagger(nlp, actors)
    path = str(Path(actors).resolve()) if actors is not None else None
    mtime = Path(path).stat().st_mtime_ns if path and Path(path).exists() else None
    return _entity_tagger(nlp, path, mtime)
