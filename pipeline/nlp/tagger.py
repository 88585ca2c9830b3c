"""Tagging texts: the objects `cityqda tag` prints, one per text.

    {"id", "dimensions", "codes": [{"code", "dimension", "start", "end", "text", "rule",
     "negated", "hypothetical", "planned", ...}], "actors", "initiatives", "partnerships",
     "challenges", "suppressed"}

Offsets are code points into the text as given (the coder matches on a normalised copy and
maps back). `dimensions` are those of the initiatives the text describes as existing or
concretely planned; negated and hypothetical mentions are listed in `codes` with their flags
but give no dimension.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.codebook.load import load_codebook
from pipeline.codebook.model import Codebook
from pipeline.nlp import spacy_import  # noqa: F401 - spaCy without its CLI, first
from pipeline.nlp.analysis import Mention, analysis_of
from pipeline.nlp.normalise import NormalisedText, normalise
from pipeline.nlp.pipeline import pipeline_for


class Tagger:
    """Codes texts with one codebook; build once, reuse for many texts."""

    def __init__(self, codebook: Codebook | str | Path | None = None, batch_size: int = 256,
                 actors=None, entities: bool = True, cache_dir: str | Path | None = None):
        """`cache_dir`: a folder where the matcher's built input is kept between processes
        (`pipeline.nlp.build_cache`; `code` passes the study's); None builds it afresh."""
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
        self.nlp = pipeline_for(self.codebook, str(cache_dir) if cache_dir is not None
                                else None)
        self.batch_size = batch_size
        self._dimension_of = {code.id: self.codebook.dimension_of(code.id)
                              for code in self.codebook.codes}
        # actors, initiatives, partnerships (pipeline.nlp.entities); `actors` is a registry
        # path or Registry (None: the package default); entities=False leaves them empty
        from pipeline.nlp.entities import entity_tagger_for

        if not entities:
            self.entities = None
        elif cache_dir is not None:
            self.entities = cached_entity_tagger(self.nlp, actors, cache_dir)
        else:
            self.entities = entity_tagger_for(self.nlp, actors)

    def tag(self, text: str, record_id=None) -> dict:
        return self.tag_texts([text], [record_id])[0]

    def tag_texts(self, texts: Iterable[str], ids: Iterable | None = None) -> list[dict]:
        texts = list(texts)
        ids = list(ids) if ids is not None else list(range(len(texts)))
        return list(self.tag_records(zip(ids, texts, strict=True)))

    def tag_records(self, records: Iterable[tuple[object, str]]) -> Iterator[dict]:
        """(id, text) pairs in, result objects out, in the same order, streaming."""
        def prepared():
            for record_id, text in records:
                norm = normalise(text)
                yield norm.text, (record_id, norm)

        for doc, (record_id, norm) in self.nlp.pipe(prepared(), as_tuples=True,
                                                    batch_size=self.batch_size):
            yield self.result(record_id, norm, doc)

    def result(self, record_id, norm: NormalisedText, doc) -> dict:
        analysis = analysis_of(doc)
        codes, challenges, suppressed = [], [], []
        if analysis is not None and (analysis.mentions or analysis.suppressed):
            offsets = TokenOffsets(doc, norm)
            shown = [m for m in analysis.mentions if m.kind == "dimension" and m.emitted]
            shown.extend(analysis.challenges)
            shown.sort(key=lambda m: (m.start, m.end, m.kind != "dimension", m.code))
            sentences: dict[int, tuple[str, int, int]] = {}
            codes = [self._coding(m, offsets, norm, analysis, sentences) for m in shown]
            challenges = sorted({m.code for m in analysis.challenges})
            suppressed = [self._suppressed(m, offsets, norm) for m in
                          sorted(analysis.suppressed, key=lambda m: (m.start, m.end, m.code))]
        return {
            "id": record_id,
            "dimensions": list(analysis.dimensions) if analysis is not None else [],
            "codes": codes,
            **(self.entities.extract(doc, norm, analysis, self._dimension_of)
               if self.entities is not None else
               {"actors": [], "initiatives": [], "partnerships": []}),
            "challenges": challenges,
            "suppressed": suppressed,
        }

    @staticmethod
    def _sentence(offsets, norm, analysis, index: int, cache: dict) -> tuple[str, int, int]:
        found = cache.get(index)
        if found is None:
            first, last = analysis.sentence_bounds(index)
            start, end = offsets.span(first, last)
            text = norm.original[start:end]
            stripped = text.strip()
            if stripped != text:
                start += len(text) - len(text.lstrip())
                end = start + len(stripped)
            found = cache[index] = (stripped, start, end)
        return found

    def _coding(self, mention: Mention, offsets, norm: NormalisedText, analysis,
                sentences: dict) -> dict:
        start, end = offsets.span(mention.start, mention.end)
        sentence, sent_start, sent_end = self._sentence(offsets, norm, analysis,
                                                        mention.sentence, sentences)
        cues = []
        for hit in mention.cues:
            cue_start, cue_end = offsets.span(hit.start, hit.end)
            cues.append({"type": hit.type, "cue": hit.cue, "start": cue_start, "end": cue_end,
                         "text": norm.original[cue_start:cue_end]})
        return {
            "code": mention.code,
            "dimension": self._dimension_of.get(mention.code),
            "start": start,
            "end": end,
            "text": norm.original[start:end],
            "rule": mention.rule,
            "negated": mention.negated,
            "hypothetical": mention.hypothetical,
            "planned": mention.planned,
            "kind": mention.kind,
            "counts": mention.counts,
            "problem": mention.problem,
            "codebook_version": self.codebook.version,
            "sentence": sentence,
            "sentence_start": sent_start,
            "sentence_end": sent_end,
            "cues": cues,
            "reassigned_from": mention.reassigned_from,
            "reassigned_by": mention.reassigned_by,
            "reason": mention.reason,
        }

    def _suppressed(self, mention: Mention, offsets, norm: NormalisedText) -> dict:
        start, end = offsets.span(mention.start, mention.end)
        return {"code": mention.code, "start": start, "end": end,
                "text": norm.original[start:end], "rule": mention.rule,
                "suppressed_by": mention.suppressed_by, "reason": mention.reason}


class TokenOffsets:
    """Original code-point offsets of token ranges. A document's few codings touch few
    tokens, so each is read when asked for, not the whole document up front."""

    __slots__ = ("doc", "norm")

    def __init__(self, doc, norm: NormalisedText):
        self.doc = doc
        self.norm = norm

    def span(self, start: int, end: int) -> tuple[int, int]:
        doc = self.doc
        last = doc[end - 1]
        norm = self.norm
        if norm.starts is None:  # the text needed no normalising (most do not)
            return doc[start].idx, last.idx + len(last)
        return norm.to_original(doc[start].idx, last.idx + len(last))


ENTITY_CACHE_NAME = "entity-matcher"


def cached_entity_tagger(nlp, actors, cache_dir: str | Path):
    """The entity tagger of `actors` (a Registry, a registry path or None: the package's),
    its phrase keywords kept in `cache_dir` (`pipeline.nlp.build_cache`) under the
    registry's and cue lists' hashes and the code's: a rebuild replays them instead of
    expanding and tokenising every name and cue again. The matcher is the same either way."""
    from pipeline.nlp.build_cache import BuildCache, code_fingerprint
    from pipeline.nlp.entities import EntityTagger
    from pipeline.nlp.registry import Registry, load_registry

    registry = actors if isinstance(actors, Registry) else load_registry(actors)
    if not registry.sha256:  # built in memory: nothing to key a cache on
        return EntityTagger(nlp, registry)
    cache = BuildCache(cache_dir)
    cues = _cached_entity_cues(cache)
    key = f"{registry.sha256}/{cues.sha256}/{code_fingerprint()}"
    kept = cache.load(ENTITY_CACHE_NAME, key)
    keywords = list(kept) if isinstance(kept, list) else []
    tagger = EntityTagger(nlp, registry, keywords=keywords, cues=cues)
    if keywords != kept:
        cache.save(ENTITY_CACHE_NAME, key, keywords)
    tagger.matcher.keywords = None  # in the matcher now: release them
    _cached_english_words(cache)
    return tagger


def _cached_entity_cues(cache):
    """The package's entity cue lists; their checked document comes from the build cache
    when these bytes were checked by the same code (else loaded, checked and kept)."""
    import copy

    from pipeline.nlp.actors import build_entity_cues, default_cues_path, load_entity_cues
    from pipeline.nlp.build_cache import code_fingerprint

    try:
        sha256 = hashlib.sha256(default_cues_path().read_bytes()).hexdigest()
    except OSError:
        return load_entity_cues()  # reports the problem as usual
    key = f"{sha256}/{code_fingerprint()}"
    data = cache.load(ENTITY_CUES_CACHE_NAME, key)
    if isinstance(data, dict):
        return build_entity_cues(data, sha256)
    cues = load_entity_cues()
    if cues.sha256 == sha256:  # the file did not change while it was read
        cache.save(ENTITY_CUES_CACHE_NAME, key, copy.deepcopy(cues.raw))
    return cues


ENTITY_CUES_CACHE_NAME = "entity-cues"


def _cached_english_words(cache) -> None:
    """The entity pass's English word list (built from spacy-lookups-data's tables on the
    first text tagged) from the build cache, else built now and kept there."""
    from importlib import resources

    from pipeline.nlp import actors
    from pipeline.nlp.build_cache import code_fingerprint

    if actors.KNOWN_ENGLISH_WORDS or actors.english_words.cache_info().currsize:
        return  # known in this process already
    common = resources.files("pipeline") / "defaults" / actors.COMMON_WORDS_NAME
    key = f"{hashlib.sha256(common.read_bytes()).hexdigest()}/{code_fingerprint()}"
    words = cache.load(ENGLISH_WORDS_CACHE_NAME, key)
    if isinstance(words, frozenset):
        actors.KNOWN_ENGLISH_WORDS[:] = [words]
    else:
        cache.save(ENGLISH_WORDS_CACHE_NAME, key, actors.english_words())


ENGLISH_WORDS_CACHE_NAME = "english-words"


def tag_texts(texts: Iterable[str], codebook: Codebook | str | Path | None = None) -> list[dict]:
    """Tag texts with a codebook (the package default when None); ids are positions."""
    return Tagger(codebook).tag_texts(texts)
