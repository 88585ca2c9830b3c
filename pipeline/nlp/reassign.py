"""The study's coding rules, applied to the mentions in the codebook's order.

First, a mention inside a longer mention of its kind is dropped ("language course" wins over
"course"). Then each rule: `suppress`, `org_name`, `venue` and `subject` drop mentions (a
department's name, a city's "legal obligation", the school where a class takes place, the
office that acts); `overlap` drops a pattern's matches that share words with another code
("entrepreneurship courses in Spanish"); `reassign` moves a mention to another code when
context words are near (discrimination at work is economic); `follow_service` moves
interpreting and translation to the service they open. Every moved or dropped mention keeps
the rule's id and reason.
"""

from __future__ import annotations

from pipeline.nlp.analysis import DocAnalysis, Mention, analysis_of
from pipeline.nlp.compiled import CompiledCodebook

LONGEST_MATCH = "longest_match"

# Words allowed between a venue preposition and the venue ("at the city's adult ... centre").
_VENUE_SKIP = frozenset({"the", "a", "an", "its", "their", "his", "her", "our", "'s", "'"})
# How many words a placing verb may stand before a venue preposition ("placed 200 asylum
# seekers in ...").
VENUE_VERB_REACH = 6
# Prepositions that make a match a whole noun phrase, not a modifier of a following name.
_PREPOSITIONS = frozenset({"of", "to", "for", "with", "in", "on", "at", "from", "by"})


def drop_contained(mentions: list[Mention]) -> tuple[list[Mention], list[Mention]]:
    """Mentions not inside a longer mention of the same kind, and the dropped ones."""
    contained = _contained(mentions)
    if not contained:
        return list(mentions), []
    kept, dropped = [], []
    for mention in mentions:
        if (mention.start, mention.end, mention.kind) in contained:
            mention.suppressed_by = LONGEST_MATCH
            mention.reason = "part of a longer match"
            dropped.append(mention)
        else:
            kept.append(mention)
    return kept, dropped


def _contained(mentions: list[Mention]) -> set[tuple[int, int, str]]:
    """(start, end, kind) of the spans inside a longer span of their kind. Sorted by start,
    the longest first, each distinct span is inside another exactly when one before it (of
    its kind) reaches as far."""
    found = set()
    kind, reach = None, -1
    for span_kind, start, back in sorted({(m.kind, m.start, -m.end) for m in mentions}):
        if span_kind != kind:
            kind, reach = span_kind, -1
        if reach >= -back:
            found.add((start, -back, kind))
        else:
            reach = -back
    return found


class ReassignComponent:
    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled
        self.rules = compiled.codebook.rules
        self.strong_first = compiled.strong_first_norms
        self.venue_rules = {rule.id for rule in self.rules if rule.type == "venue"}
        # per rule, in the codebook's order: how to apply it and the phrase groups it needs
        # matched in a document (built once: 32 rules meet every document)
        self.steps: list[tuple] = []
        for rule in self.rules:
            step = self._step_of(rule)
            if step is not None:
                self.steps.append(step)
        # most rules need a phrase group that few documents match: a document's steps are
        # found from the groups it matched (by each step's first needed group)
        self.unconditional = [i for i, (_, _, needed) in enumerate(self.steps) if not needed]
        self.by_group: dict[str, list[int]] = {}
        for i, (_, _, needed) in enumerate(self.steps):
            if needed:
                self.by_group.setdefault(needed[0], []).append(i)

    def _step_of(self, rule) -> tuple | None:
        """(apply, rule, needed group names) for a rule this component applies."""
        def group(part):
            return f"rule:{rule.id}:{part}"

        kind = rule.type
        if kind == "reassign":
            return self._reassign, rule, (group("context"),)
        if kind == "follow_service":
            return self._follow, rule, ()
        if kind == "overlap":
            return self._overlap, rule, ()
        if kind == "suppress":
            return self._suppress, rule, (group("phrases"),)
        if kind == "org_name":
            return self._org_name, rule, (group("heads"),)
        if kind == "venue":
            return self._venue, rule, (group("heads"), group("before"))
        if kind == "subject":
            return self._subject, rule, (group("heads"),)
        return None

    def __call__(self, doc):
        analysis = analysis_of(doc)
        if analysis is None or not analysis.mentions:
            return doc
        mentions, dropped = drop_contained(analysis.mentions)
        analysis.suppressed.extend(dropped)
        groups = analysis.groups
        order = list(self.unconditional)
        by_group = self.by_group
        for name in groups:
            found = by_group.get(name)
            if found is not None:
                order.extend(found)
        order.sort()
        steps = self.steps
        for i in order:
            apply, rule, needed = steps[i]
            for name in needed:
                if name not in groups:
                    break
            else:
                mentions = apply(doc, mentions, rule, analysis)
        analysis.mentions = mentions
        return doc

    @staticmethod
    def _drop(mention: Mention, rule, analysis: DocAnalysis) -> None:
        mention.suppressed_by = rule.id
        mention.reason = rule.reason
        analysis.suppressed.append(mention)

    def _filter(self, mentions, rule, analysis, test):
        kept = []
        for mention in mentions:
            if test(mention):
                self._drop(mention, rule, analysis)
            else:
                kept.append(mention)
        return kept

    def _suppress(self, doc, mentions, rule, analysis):
        spans = analysis.groups[f"rule:{rule.id}:phrases"]
        return self._filter(mentions, rule, analysis, lambda m: any(
            s <= m.start and m.end <= e for s, e in spans))

    def _org_name(self, doc, mentions, rule, analysis):
        heads = analysis.groups[f"rule:{rule.id}:heads"]
        head_starts = {s for s, _ in heads}
        head_ends = {e: s for s, e in heads}
        connectors = set(rule.connectors)

        def capitalised(token):
            return token.is_title or token.is_upper or token.lower_ in connectors

        def in_name(mention):
            # a phrase with a preposition inside ("a working group of refugees") is a whole
            # noun phrase, never the modifier of a head after it
            modifier = not any(t.lower_ in _PREPOSITIONS for t in doc[mention.start:mention.end])
            if modifier and mention.end in head_starts:  # "the education secretariat"
                return True
            i = mention.end
            if (modifier and i + 2 in head_starts and i + 1 < len(doc)
                    and doc[i].lower_ in ("and", ",")):
                return True  # "the housing and employment departments"
            i = mention.start - (mention.start > 0 and doc[mention.start - 1].lower_ == "the")
            if i >= 2 and doc[i - 1].lower_ in ("for", "of") and i - 1 in head_ends:
                return True  # "the councillor for social services", "ministry of labour"
            if (i >= 4 and doc[i - 1].lower_ in ("and", "&") and doc[i - 2].is_alpha
                    and doc[i - 3].lower_ in ("for", "of") and i - 3 in head_ends):
                return True  # the second of two: "the council for interculturality and citizenship"
            if not all(capitalised(t) for t in doc[mention.start:mention.end]):
                return False
            # a capitalised chain to the right or the left that reaches a capitalised head
            i = mention.end
            while i < len(doc) and i - mention.end < 8:
                if i in head_starts and doc[i].is_title:
                    return True
                if not capitalised(doc[i]):
                    break
                i += 1
            i = mention.start
            while i > 0 and mention.start - i < 8:
                if i in head_ends and doc[head_ends[i]].is_title:
                    return True
                if not capitalised(doc[i - 1]):
                    break
                i -= 1
            return False

        return self._filter(mentions, rule, analysis, in_name)

    def _venue(self, doc, mentions, rule, analysis):
        heads = analysis.groups[f"rule:{rule.id}:heads"]
        places = {s for s, _ in heads} | {e for _, e in heads}
        before = analysis.groups[f"rule:{rule.id}:before"]
        before_ends = {e: s for s, e in before}
        # a verb that puts people in the place makes it what is provided ("placed 200 asylum
        # seekers in reception centres"), not where something else happens
        unless_starts = [s for s, _ in analysis.groups.get(f"rule:{rule.id}:unless", ())]

        def is_venue(mention):
            # "at the (city's) (adult) ... centre": a venue preposition shortly before
            if mention.kind != "dimension" or mention.end not in places:
                return False
            for i in range(max(0, mention.start - 4), mention.start + 1):
                if i in before_ends and all(doc[j].is_alpha or doc[j].lower_ in _VENUE_SKIP
                                            for j in range(i, mention.start)):
                    cue = before_ends[i]
                    return not any(cue - VENUE_VERB_REACH <= s < cue for s in unless_starts)
            return False

        return self._filter(mentions, rule, analysis, is_venue)

    def _subject(self, doc, mentions, rule, analysis):
        """Drop a service named as the actor of a provision verb when what it provides is
        coded ("the job centre pays the rent")."""
        head_ends = {e for _, e in analysis.groups[f"rule:{rule.id}:heads"]}
        skip = set(rule.skip)
        strong = self.strong_first
        length = len(doc)

        def acts(mention):
            if mention.kind != "dimension" or mention.end not in head_ends:
                return False
            i = mention.end
            while i < length and i - mention.end < 3 and doc[i].lower_ in skip:
                i += 1
            if i >= length or doc[i].norm not in strong:
                return False
            if i + 1 < length and doc[i + 1].lower_ == "by":
                return False  # a passive participle: "centres run by NGOs teach children"
            # only when what it provides is coded too ("the legal aid office helps
            # refugees" keeps its legal aid); a bare head noun is not known to be provided
            # yet ("centres teach children who are barred from public schools")
            return any(other is not mention and other.kind == "dimension"
                       and other.role != "object"
                       and i <= other.start < mention.clause_end for other in mentions)

        acting = [(m.start, m.end) for m in mentions if acts(m)]
        # a match overlapping the actor's name is part of it ("the social welfare office")
        return self._filter(mentions, rule, analysis, lambda m: any(
            m.kind == "dimension" and m.start < end and start < m.end and m.end <= end
            for start, end in acting))

    def _overlap(self, doc, mentions, rule, analysis):
        """Drop matches of `rule.patterns` that share words with, or touch, a match of another
        code ("financial education workshops in Spanish")."""
        patterns = set(rule.patterns)
        if not any(m.rule in patterns for m in mentions):
            return mentions
        return self._filter(mentions, rule, analysis, lambda m: m.rule in patterns and any(
            other is not m and other.kind == m.kind and other.code != m.code
            and other.start <= m.end and m.start <= other.end for other in mentions))

    def _reassign(self, doc, mentions, rule, analysis):
        sources = rule.sources
        patterns = rule.patterns
        context = analysis.groups[f"rule:{rule.id}:context"]
        unless = analysis.groups.get(f"rule:{rule.id}:unless", ())
        copies = []
        for mention in mentions:
            if mention.code not in sources or mention.reassigned_by is not None:
                continue
            if patterns and mention.rule not in patterns:
                continue
            if rule.scope == "window":
                low, high = mention.start - rule.window, mention.end + rule.window
            elif rule.scope == "clause":
                low, high = mention.clause_start, mention.clause_end
            else:
                low, high = analysis.sentence_bounds(mention.sentence)
            if not any(s < high and e > low for s, e in context):
                continue
            if any(s < high and e > low for s, e in unless):
                # the other setting is named too ("discrimination in housing and at work"):
                # the mention stays, and with `split` it is also coded as the target
                if rule.split:
                    copies.append(self._copy(mention, rule))
                continue
            self._move(mention, rule.target, rule)
        if copies:
            mentions.extend(copies)
            mentions.sort(key=lambda m: (m.start, m.end))
        return mentions

    def _follow(self, doc, mentions, rule, analysis):
        # a service named only as the place ("interpreters at health centres") still
        # tells which service the interpreting opens
        places = [m for m in analysis.suppressed if m.suppressed_by in self.venue_rules]
        sources = rule.sources
        services = rule.services
        patterns = rule.patterns
        for mention in mentions:
            if mention.code not in sources or mention.reassigned_by is not None:
                continue
            if patterns and mention.rule not in patterns:
                continue  # R40 moves only the generic desks and lines of welfare
            nearest = None
            # a desk or line (R40) delivers the services coded in its sentence, not a place
            # named only as where people are taken ("a guided visit to the employment office")
            for other in (mentions if patterns else [*mentions, *places]):
                if (other is not mention and other.sentence == mention.sentence
                        and other.code in services and other.kind == "dimension"):
                    distance = (abs(other.start - mention.start), other.start)
                    if nearest is None or distance < nearest[0]:
                        nearest = (distance, other)
            if nearest is not None:
                self._move(mention, nearest[1].code, rule)
        return mentions

    @classmethod
    def _copy(cls, mention: Mention, rule) -> Mention:
        copy = Mention(mention.start, mention.end, mention.code, mention.rule, mention.kind,
                       mention.role, mention.when)
        for name in Mention.__slots__:
            setattr(copy, name, getattr(mention, name))
        cls._move(copy, rule.target, rule)
        return copy

    @staticmethod
    def _move(mention: Mention, target: str, rule) -> None:
        if target == mention.code:
            return
        mention.reassigned_from = mention.code
        mention.code = target
        mention.reassigned_by = rule.id
        mention.reason = rule.reason
