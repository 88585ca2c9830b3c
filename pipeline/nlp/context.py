"""Context of each mention: negated, hypothetical, planned, asked about, in a problem clause.

Cues come from the codebook's cue lists (matched once per document). Each cue's scope runs
forward or backward from it, at most `window` tokens, inside its sentence, and ends at a
terminator ("but", ";", "although" ...), at a comma that starts a new clause (per cue), and
for negations at an auxiliary or modal verb further on ("Refugees who do not speak German
can attend ..." keeps "attend" outside the negation). Overlapping cues are resolved by
length: "not only" (pseudo) beats "not", "only a few" (negation) beats "a few" (pseudo).
A future or plan cue makes a mention `planned` only when the sentence names an actor;
otherwise it is `hypothetical`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy
from spacy.attrs import SENT_START

from pipeline.nlp.analysis import ANALYSIS_KEY, CueHit, DocAnalysis, Mention
from pipeline.nlp.compiled import CompiledCodebook
from pipeline.nlp.language import CODES_KEY


class Positions:
    """Sorted (start, end) matches of one group, searchable by position."""

    __slots__ = ("spans", "starts", "ends")

    def __init__(self, spans: list[tuple[int, int]]):
        self.spans = spans
        self.starts = [s for s, _ in spans]
        self.ends = sorted(e for _, e in spans)

    def first_start_in(self, low: int, high: int) -> int | None:
        """Smallest match start in [low, high)."""
        i = bisect_left(self.starts, low)
        if i < len(self.starts) and self.starts[i] < high:
            return self.starts[i]
        return None

    def last_end_in(self, low: int, high: int) -> int | None:
        """Largest match end in (low, high]."""
        i = bisect_right(self.ends, high)
        if i and self.ends[i - 1] > low:
            return self.ends[i - 1]
        return None

    def starts_in(self, low: int, high: int) -> list[int]:
        return self.starts[bisect_left(self.starts, low):bisect_left(self.starts, high)]

    def any_in(self, low: int, high: int) -> bool:
        return self.first_start_in(low, high) is not None


EMPTY = Positions([])


class DocContext:
    """Per-document helpers over the matched cue lists."""

    def __init__(self, analysis: DocAnalysis):
        self.analysis = analysis
        groups = analysis.groups
        self.terms = Positions(groups.get("term", []))
        self.stops = Positions(groups.get("stop", []))
        self.commas = Positions(groups.get("comma", []))
        self.starters = set(s for s, _ in groups.get("start", []))
        self.comma_starts = set(self.commas.starts)
        self.strong_starts = set(s for s, _ in groups.get("strong", []))
        self._positions: dict[str, Positions] = {}

    def positions(self, group: str) -> Positions:
        found = self._positions.get(group)
        if found is None:
            spans = self.analysis.groups.get(group)
            found = Positions(spans) if spans else EMPTY
            self._positions[group] = found
        return found

    def sentence_of(self, token: int) -> int:
        return bisect_right(self.analysis.sentence_starts, token) - 1

    def clause(self, start: int, end: int, sentence: int) -> tuple[int, int]:
        """The clause holding tokens [start, end): between terminators, inside the sentence."""
        sent_start, sent_end = self.analysis.sentence_bounds(sentence)
        left = self.terms.last_end_in(sent_start, start)
        right = self.terms.first_start_in(end, sent_end)
        return (left if left is not None else sent_start,
                right if right is not None else sent_end)

    def starts_clause(self, token: int) -> bool:
        return token in self.starters or token in self.strong_starts


def resolve_cues(groups: dict, cue_ids: dict) -> list[tuple[int, int, str]]:
    """Cue matches with overlaps resolved: the longest wins (ties: the earliest)."""
    found = []
    for group, spans in groups.items():
        if group.startswith("cue:"):
            cue_id = group[4:]
            if cue_id in cue_ids:
                found.extend((start, end, cue_id) for start, end in spans)
    if len(found) > 1:
        found.sort(key=lambda item: (item[0] - item[1], item[0]))
        kept: list[tuple[int, int, str]] = []
        for start, end, cue_id in found:
            if all(end <= k_start or start >= k_end for k_start, k_end, _ in kept):
                kept.append((start, end, cue_id))
        found = kept
    found.sort()
    return found


def scope_cue(ctx: DocContext, cue, start: int, end: int, sentence: int) -> tuple[int, int]:
    """Token range [low, high) that a cue at [start, end) covers."""
    sent_start, sent_end = ctx.analysis.sentence_bounds(sentence)
    low, high = end, end
    if cue.direction in ("forward", "both"):
        high = min(sent_end, end + cue.window)
        term = ctx.terms.first_start_in(end, high)
        if term is not None:
            high = term
        if cue.type == "negation":
            stop = ctx.stops.first_start_in(end + 1, high)
            if stop is not None:
                high = stop
        if cue.comma != "never":
            for comma in ctx.commas.starts_in(end, high):
                if cue.comma == "always" or ctx.starts_clause(comma + 1):
                    high = comma
                    break
        low = end
    if cue.direction == "backward":
        low = max(sent_start, start - cue.window)
        term = ctx.terms.last_end_in(low, start)
        if term is not None:
            low = term
        if cue.comma != "never":
            for comma in reversed(ctx.commas.starts_in(low, start)):
                if cue.comma == "always" or ctx.starts_clause(comma + 1):
                    low = comma + 1
                    break
        high = start
    elif cue.direction == "both":
        # back over the subject only: stop at a terminator, a comma, a clause starter or a
        # provision verb ("The NGO runs a shelter and would like to ..." keeps the shelter)
        low = max(sent_start, start - cue.back_window)
        term = ctx.terms.last_end_in(low, start)
        if term is not None:
            low = term
        for position in range(start - 1, low - 1, -1):
            if position in ctx.comma_starts or ctx.starts_clause(position):
                low = position + 1
                break
    return low, high


class ContextComponent:
    """Builds the document's analysis and flags every mention from the cue scopes."""

    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled

    def __call__(self, doc):
        length = len(doc)
        spans = doc.spans[CODES_KEY] if CODES_KEY in doc.spans else ()
        if not length or not len(spans):
            doc.user_data[ANALYSIS_KEY] = DocAnalysis([0], length, {})
            return doc
        sent_flags = doc.to_array(SENT_START)
        sentence_starts = numpy.flatnonzero(sent_flags == 1).tolist()
        if not sentence_starts or sentence_starts[0] != 0:
            sentence_starts.insert(0, 0)
        analysis = DocAnalysis(sentence_starts, length, self.compiled.groups(doc))
        doc.user_data[ANALYSIS_KEY] = analysis
        analysis.mentions = self._mentions(spans)
        ctx = DocContext(analysis)
        consumed = [(m.start, m.end) for m in analysis.mentions
                    if self.compiled.patterns.get(m.rule) is not None
                    and self.compiled.patterns[m.rule].consumes_cues]
        hits = self._cue_hits(ctx, consumed)
        analysis.cue_hits = hits
        actor_cache: dict[int, bool] = {}
        problem = ctx.positions("problem")
        mention_spans = [(m.start, m.end) for m in analysis.mentions if m.kind == "dimension"]
        negations = [hit for hit in hits if hit.type == "negation"]
        # a problem word counts unless it belongs to a mention ("challenge stereotypes",
        # "reduce discrimination") or is itself negated ("without losing pay")
        problem_starts = [
            start for start in problem.starts
            if not any(s <= start < e for s, e in mention_spans)
            and not any(hit.covers(start, start + 1) for hit in negations)]
        for mention in analysis.mentions:
            sentence = ctx.sentence_of(mention.start)
            mention.sentence = sentence
            mention.clause_start, mention.clause_end = ctx.clause(mention.start, mention.end,
                                                                  sentence)
            planned = False
            for hit in hits:
                if hit.sentence != sentence or not hit.covers(mention.start, mention.end):
                    continue
                mention.cues.append(hit)
                if hit.type == "negation":
                    mention.negated = True
                elif hit.type == "hypothetical":
                    mention.hypothetical = True
                elif hit.type == "background":
                    mention.background = True
                elif hit.type == "planned":
                    planned = True
            if planned and not mention.negated:
                if sentence not in actor_cache:
                    actor_cache[sentence] = self._names_actor(doc, ctx, sentence)
                if actor_cache[sentence]:
                    mention.planned = not mention.hypothetical
                else:
                    mention.hypothetical = True
            for start in problem_starts:
                if (mention.clause_start <= start < mention.clause_end
                        and not mention.start <= start < mention.end):
                    mention.problem = True
                    break
        return doc

    def _mentions(self, spans) -> list[Mention]:
        patterns = self.compiled.patterns
        kinds = self.compiled.kinds
        best: dict[tuple[int, int, str], Mention] = {}
        for span in spans:
            code = span.label_
            rule = span.id_
            pattern = patterns.get(rule)
            role = pattern.role if pattern is not None else "topic"
            key = (span.start, span.end, code)
            known = best.get(key)
            if known is not None and not (known.role == "topic" and role == "service"):
                continue
            best[key] = Mention(span.start, span.end, code, rule, kinds.get(code, "dimension"),
                                role=role, when=pattern.when if pattern is not None else ())
        return sorted(best.values(), key=lambda m: (m.start, m.end, m.code))

    def _cue_hits(self, ctx: DocContext, consumed: list[tuple[int, int]]) -> list[CueHit]:
        cues = self.compiled.cues
        hits = []
        for start, end, cue_id in resolve_cues(ctx.analysis.groups, cues):
            cue = cues[cue_id]
            if cue.type == "pseudo":
                continue
            if any(s <= start and end <= e for s, e in consumed):
                continue
            sentence = ctx.sentence_of(start)
            low, high = scope_cue(ctx, cue, start, end, sentence)
            hits.append(CueHit(cue_id, cue.type, start, end, low, high, sentence))
        kept = []
        for hit in hits:
            cue = cues[hit.cue]
            if cue.cancelled_by_prior_negation:
                clause_start, _ = ctx.clause(hit.start, hit.end, hit.sentence)
                if any(other.type == "negation" and other is not hit
                       and other.sentence == hit.sentence
                       and clause_start <= other.start < hit.start for other in hits):
                    continue
            kept.append(hit)
        return kept

    @staticmethod
    def _names_actor(doc, ctx: DocContext, sentence: int) -> bool:
        start, end = ctx.analysis.sentence_bounds(sentence)
        if ctx.positions("actor").any_in(start, end):
            return True
        for token in doc[start:end]:
            text = token.text
            if len(text) >= 2 and text.isupper() and text.isalpha():
                return True
        return False
