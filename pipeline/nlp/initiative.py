"""Does a mention describe an initiative? Only those give the passage a dimension.

A clause describes an initiative when an actor does or provides something in it: a provision
verb ("offers", "runs", "funds", "helps") that is not itself negated or hypothetical, or,
when the clause reports no problem, a word naming something provided ("programme", "desk",
"free") or a service pattern ("legal aid", "job fair"). A topic word (housing, employment)
counts only in such a clause; in a problem statement it gives, at most, a challenge.

Challenges come from challenge patterns whose `when` matches the mention's context, and from
dimension mentions that a challenge `derive`s from (negated housing -> challenge housing).
"""

from __future__ import annotations

from pipeline.codebook.model import DIMENSION_ORDER
from pipeline.nlp.analysis import Mention, analysis_of
from pipeline.nlp.compiled import CompiledCodebook
from pipeline.nlp.context import DocContext

# How far (tokens) a provision verb may be from a topic word for the topic to count.
TOPIC_REACH = 12


class InitiativeComponent:
    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled
        self.dimension_of = compiled.dimension_of
        self.derivations: dict[str, list] = {}
        for code in compiled.codebook.codes:
            for derivation in code.derive:
                for source in derivation.sources:
                    self.derivations.setdefault(source, []).append(derivation)
        order = {d: i for i, d in enumerate(DIMENSION_ORDER)}
        self._order = lambda d: (order.get(d, len(order)), d)

    def __call__(self, doc):
        analysis = analysis_of(doc)
        if analysis is None or not analysis.mentions:
            return doc
        ctx = DocContext(analysis)
        strong = ctx.positions("strong")
        weak = ctx.positions("weak")
        blocking = [hit for hit in analysis.cue_hits
                    if hit.type in ("negation", "hypothetical", "background")]
        clause_cache: dict[tuple[int, int], tuple[bool, bool]] = {}
        mentions = analysis.mentions

        def free(position: int, sentence: int) -> bool:
            """Not inside a negated, hypothetical or background scope."""
            return not any(hit.sentence == sentence and hit.covers(position, position + 1)
                           for hit in blocking)

        for mention in mentions:
            key = (mention.clause_start, mention.clause_end)
            markers = clause_cache.get(key)
            if markers is None:
                strong_free = [p for p in strong.starts_in(*key) if free(p, mention.sentence)]
                has_weak = any(free(p, mention.sentence) for p in weak.starts_in(*key)) or any(
                    other.role == "service" and other.kind == "dimension"
                    and key[0] <= other.start < key[1]
                    and not (other.negated or other.hypothetical or other.background)
                    for other in mentions)
                markers = (strong_free, has_weak)
                clause_cache[key] = markers
            strong_free, has_weak = markers
            if mention.kind == "dimension" and mention.role == "topic":
                # a topic word needs an actor doing something close to it
                mention.initiative = any(
                    mention.start - TOPIC_REACH <= p < mention.end + TOPIC_REACH
                    for p in strong_free)
            else:
                mention.initiative = bool(strong_free) or (has_weak and not mention.problem)
            if mention.kind == "dimension":
                mention.counts = mention.initiative and not (
                    mention.negated or mention.hypothetical or mention.background)
                mention.emitted = mention.counts or (
                    (mention.negated or mention.hypothetical) and not mention.background)
            else:
                mention.emitted = bool(set(mention.when) & mention.contexts)

        challenges: dict[tuple[str, int, int], Mention] = {}
        for mention in mentions:
            if mention.kind == "challenge":
                if mention.emitted:
                    challenges.setdefault((mention.code, mention.start, mention.end), mention)
                continue
            if mention.background:
                continue
            sources = (mention.code,) if mention.reassigned_from is None else (
                mention.code, mention.reassigned_from)
            derivations = [d for source in sources for d in self.derivations.get(source, ())]
            for derivation in derivations:
                if set(derivation.when) & mention.contexts:
                    key = (derivation.code, mention.start, mention.end)
                    if key not in challenges:
                        challenges[key] = self._derived(mention, derivation)
        found = list(challenges.values())
        analysis.challenges = sorted(
            (m for m in found
             if not any(o is not m and o.code == m.code and o.start <= m.start
                        and m.end <= o.end and (o.end - o.start) > (m.end - m.start)
                        for o in found)),
            key=lambda m: (m.start, m.end, m.code))
        analysis.dimensions = sorted(
            {self.dimension_of[m.code] for m in mentions
             if m.kind == "dimension" and m.counts and self.dimension_of.get(m.code)},
            key=self._order)
        return doc

    @staticmethod
    def _derived(mention: Mention, derivation) -> Mention:
        return Mention(
            mention.start, mention.end, derivation.code, derivation.id, "challenge",
            sentence=mention.sentence, clause_start=mention.clause_start,
            clause_end=mention.clause_end, negated=mention.negated,
            hypothetical=mention.hypothetical, planned=mention.planned,
            problem=mention.problem, initiative=mention.initiative, emitted=True,
            cues=list(mention.cues), reason=f"derived from {mention.code}",
            when=derivation.when)
