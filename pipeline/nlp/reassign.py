"""The study's coding rules, applied to the mentions in the codebook's order.

First, a mention inside a longer mention is dropped ("language course" wins over "course").
Then each rule: `suppress`, `org_name` and `venue` drop mentions (a department's name, a
city's "legal obligation", the school where a class takes place); `reassign` moves a mention
to another code when context words are near (discrimination at work is economic);
`follow_service` moves interpreting and translation to the service they open. Every moved or
dropped mention keeps the rule's id and reason.
"""

from __future__ import annotations

from pipeline.nlp.analysis import Mention, analysis_of
from pipeline.nlp.compiled import CompiledCodebook
from pipeline.nlp.context import DocContext

LONGEST_MATCH = "longest_match"

# Words skipped between a venue preposition and the venue ("at the city's adult ... centre").
_VENUE_SKIP = frozenset({"the", "a", "an", "its", "their", "his", "her", "our", "local",
                         "public", "municipal", "city", "'s", "'", "new", "nearby", "main",
                         "central", "children", "child"})


def drop_contained(mentions: list[Mention]) -> tuple[list[Mention], list[Mention]]:
    """Mentions not inside a longer mention of the same kind, and the dropped ones."""
    kept, dropped = [], []
    for mention in mentions:
        inside = any(
            other is not mention and other.kind == mention.kind
            and other.start <= mention.start and mention.end <= other.end
            and (other.end - other.start) > (mention.end - mention.start)
            for other in mentions)
        if inside:
            mention.suppressed_by = LONGEST_MATCH
            mention.reason = "part of a longer match"
            dropped.append(mention)
        else:
            kept.append(mention)
    return kept, dropped


class ReassignComponent:
    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled
        self.rules = compiled.codebook.rules
        self.dimension_of = compiled.dimension_of

    def __call__(self, doc):
        analysis = analysis_of(doc)
        if analysis is None or not analysis.mentions:
            return doc
        mentions, dropped = drop_contained(analysis.mentions)
        analysis.suppressed.extend(dropped)
        ctx = DocContext(analysis)
        for rule in self.rules:
            if rule.type == "suppress":
                mentions = self._suppress(mentions, rule, ctx.positions(f"rule:{rule.id}:phrases"),
                                          analysis)
            elif rule.type == "org_name":
                mentions = self._org_name(doc, mentions, rule, ctx, analysis)
            elif rule.type == "venue":
                mentions = self._venue(doc, mentions, rule, ctx, analysis)
            elif rule.type == "reassign":
                self._reassign(mentions, rule, ctx)
            elif rule.type == "follow_service":
                self._follow(mentions, rule)
            elif rule.type == "subject":
                mentions = self._subject(doc, mentions, rule, ctx, analysis)
            elif rule.type == "overlap":
                mentions = self._overlap(mentions, rule, analysis)
        analysis.mentions = mentions
        return doc

    @staticmethod
    def _drop(mention: Mention, rule, analysis) -> None:
        mention.suppressed_by = rule.id
        mention.reason = rule.reason
        analysis.suppressed.append(mention)

    def _suppress(self, mentions, rule, phrases, analysis):
        if not phrases.spans:
            return mentions
        kept = []
        for mention in mentions:
            if any(s <= mention.start and mention.end <= e for s, e in phrases.spans):
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    def _org_name(self, doc, mentions, rule, ctx: DocContext, analysis):
        heads = ctx.positions(f"rule:{rule.id}:heads")
        if not heads.spans:
            return mentions
        head_starts = {s: e for s, e in heads.spans}
        head_ends = {e: s for s, e in heads.spans}
        connectors = set(rule.connectors)
        kept = []
        for mention in mentions:
            if self._in_org_name(doc, mention, head_starts, head_ends, connectors):
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    @staticmethod
    def _in_org_name(doc, mention, head_starts, head_ends, connectors) -> bool:
        words = doc[mention.start:mention.end]
        if all(t.is_title or t.is_upper or t.lower_ in connectors for t in words):
            # capitalised chain to the right or the left that reaches a capitalised head
            i = mention.end
            while i < len(doc) and i - mention.end < 8:
                if i in head_starts and doc[i].is_title:
                    return True
                token = doc[i]
                if not (token.is_title or token.is_upper or token.lower_ in connectors):
                    break
                i += 1
            i = mention.start
            while i > 0 and mention.start - i < 8:
                if i in head_ends and doc[head_ends[i]].is_title:
                    return True
                token = doc[i - 1]
                if not (token.is_title or token.is_upper or token.lower_ in connectors):
                    break
                i -= 1
        # lower-case field word right before a head: "the education secretariat",
        # "the housing and employment departments"
        i = mention.end
        if i in head_starts:
            return True
        if i + 1 < len(doc) and doc[i].lower_ in ("and", ",") and i + 2 in head_starts:
            return True
        return False

    def _venue(self, doc, mentions, rule, ctx: DocContext, analysis):
        heads = ctx.positions(f"rule:{rule.id}:heads")
        before = ctx.positions(f"rule:{rule.id}:before")
        if not heads.spans or not before.spans:
            return mentions
        head_starts = set(heads.starts)
        head_ends = set(e for _, e in heads.spans)
        before_ends = set(e for _, e in before.spans)
        kept = []
        for mention in mentions:
            is_place = mention.end in head_ends or mention.end in head_starts
            if is_place:
                # "at the (city's) (adult) ... centre": a venue preposition shortly before
                is_place = any(i in before_ends and all(
                    doc[j].is_alpha or doc[j].lower_ in _VENUE_SKIP for j in range(i, mention.start))
                    for i in range(max(0, mention.start - 4), mention.start + 1))
            if is_place and mention.kind == "dimension":
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    def _subject(self, doc, mentions, rule, ctx: DocContext, analysis):
        """Drop a service named as the actor of a provision verb ("the job centre pays ...")."""
        heads = ctx.positions(f"rule:{rule.id}:heads")
        if not heads.spans:
            return mentions
        head_ends = set(e for _, e in heads.spans)
        strong = set(s for s, _ in analysis.groups.get("strong", []))
        skip = set(rule.skip)
        kept = []
        for mention in mentions:
            dropped = False
            if mention.kind == "dimension" and mention.end in head_ends:
                i = mention.end
                while i < len(doc) and i - mention.end < 3 and doc[i].lower_ in skip:
                    i += 1
                dropped = i in strong
            if dropped:
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    def _overlap(self, mentions, rule, analysis):
        """Drop matches of `rule.patterns` that share words with a match of another code."""
        patterns = set(rule.patterns)
        kept = []
        for mention in mentions:
            clash = mention.rule in patterns and any(
                other is not mention and other.kind == mention.kind and other.code != mention.code
                and other.start < mention.end and mention.start < other.end
                for other in mentions)
            if clash:
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    def _reassign(self, mentions, rule, ctx: DocContext):
        sources = set(rule.sources)
        targets = [m for m in mentions if m.code in sources and m.reassigned_by is None]
        if not targets:
            return
        context = ctx.positions(f"rule:{rule.id}:context")
        if not context.spans:
            return
        for mention in targets:
            if rule.scope == "window":
                low, high = mention.start - rule.window, mention.end + rule.window
            elif rule.scope == "clause":
                low, high = mention.clause_start, mention.clause_end
            else:
                low, high = ctx.analysis.sentence_bounds(mention.sentence)
            if any(s < high and e > low for s, e in context.spans):
                self._move(mention, rule.target, rule)

    def _follow(self, mentions, rule):
        sources = set(rule.sources)
        services = set(rule.services)
        for mention in mentions:
            if mention.code not in sources or mention.reassigned_by is not None:
                continue
            candidates = [m for m in mentions
                          if m is not mention and m.sentence == mention.sentence
                          and m.code in services and m.kind == "dimension"]
            if candidates:
                nearest = min(candidates, key=lambda m: (abs(m.start - mention.start), m.start))
                self._move(mention, nearest.code, rule)

    @staticmethod
    def _move(mention: Mention, target: str, rule) -> None:
        if target == mention.code:
            return
        mention.reassigned_from = mention.code
        mention.code = target
        mention.reassigned_by = rule.id
        mention.reason = rule.reason
