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

from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.codebook.load import load_codebook
from pipeline.codebook.model import Codebook
from pipeline.nlp.analysis import Mention, analysis_of
from pipeline.nlp.normalise import NormalisedText, normalise
from pipeline.nlp.pipeline import pipeline_for


class Tagger:
    """Codes texts with one codebook; build once, reuse for many texts."""

    def __init__(self, codebook: Codebook | str | Path | None = None, batch_size: int = 256):
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
        self.nlp = pipeline_for(self.codebook)
        self.batch_size = batch_size
        self._dimension_of = {code.id: self.codebook.dimension_of(code.id)
                              for code in self.codebook.codes}

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
        if analysis is not None:
            shown = [m for m in analysis.mentions if m.kind == "dimension" and m.emitted]
            shown.extend(analysis.challenges)
            shown.sort(key=lambda m: (m.start, m.end, m.kind != "dimension", m.code))
            codes = [self._coding(m, doc, norm, analysis) for m in shown]
            challenges = sorted({m.code for m in analysis.challenges})
            suppressed = [self._suppressed(m, doc, norm) for m in
                          sorted(analysis.suppressed, key=lambda m: (m.start, m.end, m.code))]
        return {
            "id": record_id,
            "dimensions": list(analysis.dimensions) if analysis is not None else [],
            "codes": codes,
            "actors": [],
            "initiatives": [],
            "partnerships": [],
            "challenges": challenges,
            "suppressed": suppressed,
        }

    def _span(self, doc, norm: NormalisedText, start: int, end: int) -> tuple[int, int]:
        span = doc[start:end]
        return norm.to_original(span.start_char, span.end_char)

    def _coding(self, mention: Mention, doc, norm: NormalisedText, analysis) -> dict:
        start, end = self._span(doc, norm, mention.start, mention.end)
        sent_first, sent_last = analysis.sentence_bounds(mention.sentence)
        sent_start, sent_end = self._span(doc, norm, sent_first, sent_last)
        sentence = norm.original[sent_start:sent_end]
        stripped = sentence.strip()
        if stripped != sentence:
            sent_start += len(sentence) - len(sentence.lstrip())
            sent_end = sent_start + len(stripped)
        cues = []
        for hit in mention.cues:
            cue_start, cue_end = self._span(doc, norm, hit.start, hit.end)
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
            "sentence": stripped,
            "sentence_start": sent_start,
            "sentence_end": sent_end,
            "cues": cues,
            "reassigned_from": mention.reassigned_from,
            "reassigned_by": mention.reassigned_by,
            "reason": mention.reason,
        }

    def _suppressed(self, mention: Mention, doc, norm: NormalisedText) -> dict:
        start, end = self._span(doc, norm, mention.start, mention.end)
        return {"code": mention.code, "start": start, "end": end,
                "text": norm.original[start:end], "rule": mention.rule,
                "suppressed_by": mention.suppressed_by, "reason": mention.reason}


def tag_texts(texts: Iterable[str], codebook: Codebook | str | Path | None = None) -> list[dict]:
    """Tag texts with a codebook (the package default when None); ids are positions."""
    return Tagger(codebook).tag_texts(texts)
