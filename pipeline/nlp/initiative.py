"""Does a mention describe an initiative? Only those give the passage a dimension.

A clause describes an initiative when an actor does or provides something in it: a provision
verb ("offers", "runs", "funds", "helps") that is not itself negated, hypothetical or
background, or, when the clause reports no problem, a word naming something provided
("programme", "desk", "free") or a service pattern ("legal aid", "job fair"). A topic word
(housing, employment) counts only with a provision verb near it; in a problem statement it
gives, at most, a challenge.

Challenges come from challenge patterns whose `when` matches the mention's context, and from
dimension mentions that a challenge `derive`s from (negated housing -> challenge housing).
"""

from __future__ import annotations

from pipeline.codebook.model import DIMENSION_ORDER
from pipeline.nlp.analysis import Mention, analysis_of
from pipeline.nlp.compiled import CompiledCodebook

# How far (tokens) a provision verb may be from a topic word for the topic to count.
TOPIC_REACH = 12
# How many words may stand between a provision verb and the head noun of its object
# ("arranges rental flats", "gives each family two beds").
OBJECT_REACH = 6

_BLOCKING = frozenset({"negation", "hypothetical", "background"})
_CLAUSE_WORDS = frozenset({"and", "or", "to", "for", "with", "in", "of", "on", "that", "who",
                           "which"})
_POSSESSIVE = frozenset({"'s", "'", "’s", "’"})
DETERMINERS = frozenset({"the", "a", "an", "this", "these", "its", "their",
                         "his", "her", "our", "my", "your", "every", "each", "any"})
# Words that end a noun phrase: a head noun after one of them is not the verb's object
# ("runs a festival with food"), and a word before one of them may be a head noun.
_PHRASE_BREAKS = _CLAUSE_WORDS | frozenset({
    "but", "at", "from", "by", "about", "into", "through", "during", "after", "before",
    "until", "where", "when", "while", "because", "if", "as", "than", "like", "without",
    "near", "across", "under", "over", "between", "among", "so", "not", "no", "whose",
    "against", "per", "via", "towards", "toward", "including", "since"})
_OBJECT_GAP = frozenset({"and", "or", "of", "-", ","})
_AUXILIARIES = frozenset({"does", "do", "did", "will", "would", "is", "are", "was", "were",
                          "has", "have", "had", "can", "could", "still", "also", "now"})
# Modifiers that say a thing is provided to someone, with or without a verb.
_PROVIDED = frozenset({"free", "subsidised", "subsidized", "donated", "discounted",
                       "reduced-price", "low-cost"})
_VERB_NEGATORS = frozenset({"not", "n't", "cannot", "never"})
# Degree words that make a provision verb's participle an adjective ("low-paid jobs",
# "poorly funded schools"): it describes a thing, nobody provides anything.
_DEGREE = frozenset({"low", "lower", "lowest", "well", "better", "best", "badly", "poorly",
                     "ill", "under", "over", "high", "higher", "highest", "worse", "worst"})
# A body's remit: what it advises an institution on ("advises the council and the mayor on
# issues such as health, education and business development") names fields, not services.
_ADVISE = frozenset({"advise", "advises", "advised", "advising", "recommendations"})
_ADVISED = frozenset({"council", "councils", "mayor", "municipality", "city", "administration",
                      "government", "authorities", "councillors", "councilors", "board",
                      "department", "ministry", "municipalities", "administrations",
                      "executive", "assembly", "parliament", "senate", "cabinet"})
# How far back (tokens) "advise <institution> on" may stand before a field of its remit.
REMIT_REACH = 30
_AFTER_HEAD = _PHRASE_BREAKS | DETERMINERS | frozenset({
    "free", "them", "him", "her", "us", "weekly", "daily", "monthly", "once", "twice",
    "every", "each", "also", "too", "only"})


def _window(doc, start: int) -> tuple[int, int, list[str]]:
    """Where the sentence of `start` begins, and the lower-cased words up to `start` that a
    remit or member list may reach back over (from at most REMIT_REACH + 4 words back, within
    the sentence) with the first one's index: read once for both tests."""
    sentence_start = doc[start].sent.start if doc.has_annotation("SENT_START") else 0
    low = max(start - REMIT_REACH - 4, sentence_start, 0)
    return sentence_start, low, [token.lower_ for token in doc[low:start + 1]]


def _advised_on(doc, start: int, window=None) -> bool:
    """Whether the word at `start` is in what a body advises an institution on ("advise the
    Municipal Council and the Mayor on ... health and human services, education"): its
    remit. Advice to people ("advises refugees on housing") is a service and stays."""
    sentence_start, low, words = window or _window(doc, start)
    on = None
    for index in range(start - 1, max(start - REMIT_REACH, sentence_start) - 1, -1):
        word = words[index - low]
        if word in (";", "."):
            return False
        if word == "on" and on is None:
            on = index
        elif on is not None and word in _ADVISE:
            return any(words[i - low] in _ADVISED for i in range(index + 1, on))
    return False


_MEMBERS = frozenset({"representatives", "members", "delegates", "experts", "participants"})
# the words that open a list of the fields members come from ("such as" needs its "as")
_MEMBER_LEADS = frozenset({"such", "including", "from"})


def _member_fields(doc, start: int, window=None) -> bool:
    """Whether the word at `start` names the fields a body's members come from ("two
    representatives of fields such as schools and day care, health and care, the language
    school", "participants from ... migration counselling services, language course
    providers"): who sits on it, not what it provides."""
    sentence_start, low, words = window or _window(doc, start)
    for index in range(start - 1, max(start - REMIT_REACH, sentence_start) - 1, -1):
        word = words[index - low]
        if word in (";", "."):
            return False
        if word in _MEMBER_LEADS and (word != "such" or words[index + 1 - low] == "as"):
            return any(words[i - low] in _MEMBERS for i in range(max(index - 4, low), index))
    return False


def _graded_participle(doc, start: int) -> bool:
    """Whether the verb at `start` follows a degree word, with or without a hyphen."""
    before = start - 1
    if before >= 0 and doc[before].text == "-":
        before -= 1
    return before >= 0 and doc[before].lower_ in _DEGREE


class InitiativeComponent:
    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled
        self.dimension_of = compiled.dimension_of
        self.derivations: dict[str, list] = {}
        for code in compiled.codebook.codes:
            for derivation in code.derive:
                for source in derivation.sources:
                    self.derivations.setdefault(source, []).append(derivation)
        self.follow_rules = {rule.id for rule in compiled.codebook.rules
                             if rule.type == "follow_service"}
        self.refer_rules = [rule for rule in compiled.codebook.rules
                            if rule.type == "refer_back"]
        order = {d: i for i, d in enumerate(DIMENSION_ORDER)}
        self._order = lambda d: (order.get(d, len(order)), d)

    def __call__(self, doc):
        analysis = analysis_of(doc)
        if analysis is None or not analysis.mentions:
            return doc
        mentions = analysis.mentions
        blocking = [hit for hit in analysis.cue_hits if hit.type in _BLOCKING]

        # the words inside a negated, hypothetical or background scope (not its cue's own)
        blocked = {position for hit in blocking
                   for position in range(hit.scope_start, hit.scope_end)
                   if not hit.start <= position < hit.end}

        def free(positions: list[tuple[int, int]], low: int, high: int) -> list[int]:
            """Starts in [low, high) of markers outside negated/hypothetical/background scope."""
            return [start for start, _ in positions
                    if low <= start < high and start not in blocked]

        strong = analysis.groups.get("strong", ())
        if strong:
            # a provision verb that ends a coded match ("overcrowded shelters", "legal
            # support") or follows a determiner ("the issue", "their help") is a noun: it
            # names a thing, not someone providing it
            last_words = {m.end - 1 for m in mentions if m.kind == "dimension"}
            strong = [(s, e) for s, e in strong
                      if s not in last_words
                      and not (s and doc[s - 1].lower_ in DETERMINERS)
                      and not _graded_participle(doc, s)]
        strong_ends = dict(strong)
        weak = analysis.groups.get("weak", ())
        services = [(m.start, m.end) for m in mentions
                    if m.role == "service" and m.kind == "dimension"
                    and not (m.negated or m.hypothetical or m.background)]
        negations = [hit for hit in blocking if hit.type == "negation"]
        if negations:
            self._negate_subjects(doc, mentions, negations)
        clause_cache: dict[tuple[int, int], tuple[list[int], bool]] = {}
        for mention in mentions:
            key = (mention.clause_start, mention.clause_end)
            markers = clause_cache.get(key)
            if markers is None:
                low, high = key
                strong_free = free(strong, low, high)
                # a named service is itself a sign that something is provided
                has_weak = bool(free(weak, low, high)) or any(
                    low <= s < high for s, _ in services)
                markers = clause_cache[key] = (strong_free, has_weak)
            strong_free, has_weak = markers
            if mention.kind == "dimension" and mention.role == "topic":
                # a topic word needs an actor doing something close to it, and is not that
                # actor itself ("set up in 1998 by Turkish business owners")
                low, high = mention.start - TOPIC_REACH, mention.end + TOPIC_REACH
                mention.initiative = (any(low <= p < high for p in strong_free)
                                      and not self._agent(doc, mention.start))
            elif mention.kind == "dimension" and mention.role == "object":
                mention.initiative = (not self._inside_other(mention, mentions)
                                      and self._object_of(doc, mention, strong_free,
                                                          strong_ends))
            else:
                mention.initiative = bool(strong_free) or (has_weak and not mention.problem)
            if mention.kind == "dimension" and mention.initiative \
                    and not mention.code.startswith("political.") \
                    and self._remit_or_members(doc, mention.start):
                mention.initiative = False
            if mention.kind == "dimension":
                flagged = mention.negated or mention.hypothetical
                mention.counts = mention.initiative and not (flagged or mention.background)
                mention.emitted = mention.counts or (flagged and not mention.background)
            elif mention.background and "always" not in mention.when:
                mention.emitted = False  # "... kept responsibility for housing allocation"
            else:
                mention.emitted = bool(set(mention.when) & mention.contexts)

        for rule in self.refer_rules:
            heads = analysis.groups.get(f"rule:{rule.id}:heads")
            if heads:
                mentions = self._refer_back(analysis, rule, heads, strong, free)
        # a named service that is the agent of a passive ("is offered by the refugee
        # council's caseworkers") is who provides, like R17's subject: what it provides
        # is coded instead, when it is
        for mention in mentions:
            if (mention.counts and mention.role == "service" and mention.kind == "dimension"
                    and self._agent(doc, mention.start, reach=6)
                    and any(other.counts and other.kind == "dimension"
                            and other.sentence == mention.sentence
                            and other.end <= mention.start and other.code != mention.code
                            for other in mentions)):
                mention.counts = mention.initiative = False
                mention.emitted = False

        # "unserved": a challenge that counts only where its sentence describes no
        # initiative ("patients who speak no French" are whom the interpreters serve)
        served = None
        for mention in mentions:
            if mention.kind == "challenge" and "unserved" in mention.when:
                if served is None:
                    served = {m.sentence for m in mentions
                              if m.counts and m.kind == "dimension"}
                mention.emitted = mention.emitted or mention.sentence not in served

        challenges: dict[tuple[str, int, int], Mention] = {}
        derivations = self.derivations
        for mention in mentions:
            if mention.kind == "challenge":
                if mention.emitted:
                    challenges.setdefault((mention.code, mention.start, mention.end), mention)
                continue
            if mention.background:
                continue
            found = derivations.get(mention.code, ())
            if mention.reassigned_from is not None:
                if mention.reassigned_by in self.follow_rules:
                    # interpreting moved to the service it opens: its challenge stays language
                    found = derivations.get(mention.reassigned_from, ())
                else:
                    found = [*found, *derivations.get(mention.reassigned_from, ())]
            if not found:
                continue
            contexts = mention.contexts
            for derivation in found:
                if not contexts.isdisjoint(derivation.when):
                    key = (derivation.code, mention.start, mention.end)
                    if key not in challenges:
                        challenges[key] = self._derived(mention, derivation)
        if challenges:
            found = list(challenges.values())
            ordered = sorted(
                (m for m in found
                 if not any(o is not m and o.code == m.code and o.start <= m.start
                            and m.end <= o.end and (o.end - o.start) > (m.end - m.start)
                            for o in found)),
                key=lambda m: (m.start, m.end, m.code))
            # a coder gives a passage each challenge once: the first mention of a challenge
            # code is its coding ("affordable housing ... overcrowded flats ... rents" is one
            # housing challenge, not three)
            first: dict[str, Mention] = {}
            for m in ordered:
                first.setdefault(m.code, m)
            analysis.challenges = [m for m in ordered if first[m.code] is m]
        dimension_of = self.dimension_of
        analysis.dimensions = sorted(
            {dimension_of[m.code] for m in mentions
             if m.counts and m.kind == "dimension" and dimension_of.get(m.code)},
            key=self._order)
        return doc

    @staticmethod
    def _remit_or_members(doc, start: int) -> bool:
        window = _window(doc, start)
        return _advised_on(doc, start, window) or _member_fields(doc, start, window)

    @staticmethod
    def _refer_back(analysis, rule, heads, strong, free) -> list[Mention]:
        """Codings for words that refer back to an earlier coding that did not count ("offers
        no Arabic classes; these courses are run by ..."): a word of `heads` outside any
        coding, in a later clause where someone provides, names the nearest earlier coding
        that ends in a word of `heads`, and counts as it."""
        mentions = analysis.mentions
        head_ends = {e for _, e in heads}
        added = []
        for start, end in heads:
            if any(m.start < end and start < m.end for m in mentions if m.kind == "dimension"):
                continue
            sentence = analysis.sentence_of(start)
            low, high = analysis.clause(start, end, sentence)
            if not free([(start, end)], low, high) or not free(strong, low, high):
                continue
            antecedent = None
            for mention in mentions:
                if (mention.kind == "dimension" and mention.end <= low
                        and mention.end in head_ends and not mention.background
                        and (antecedent is None or mention.end >= antecedent.end)):
                    antecedent = mention
            if antecedent is None or antecedent.counts or any(
                    m.counts and m.code == antecedent.code for m in [*mentions, *added]):
                continue
            reference = Mention(start, end, antecedent.code, antecedent.rule, "dimension",
                                antecedent.role, antecedent.when)
            reference.sentence, reference.clause_start, reference.clause_end = \
                sentence, low, high
            reference.initiative = reference.counts = reference.emitted = True
            reference.reassigned_by = rule.id
            reference.reason = rule.reason
            added.append(reference)
        if added:
            mentions = analysis.mentions = sorted([*mentions, *added],
                                                  key=lambda m: (m.start, m.end))
        return mentions

    @staticmethod
    def _negate_subjects(doc, mentions: list[Mention], negations: list) -> None:
        """A named service whose own verb is negated provides nothing: "the clinic does not
        see patients without insurance", "the shelter never takes families"."""
        starts = {hit.start for hit in negations if doc[hit.start].lower_ in _VERB_NEGATORS}
        for mention in mentions:
            if mention.kind != "dimension" or mention.role != "service" or mention.negated:
                continue
            i = mention.end
            while i < len(doc) and i - mention.end < 2 and doc[i].lower_ in _AUXILIARIES:
                i += 1
            if i in starts:
                mention.negated = True

    @staticmethod
    def _inside_other(mention: Mention, mentions: list[Mention]) -> bool:
        """Whether a longer coding of another code covers the head noun: "language school"
        names a course, not schooling."""
        return any(other.kind == "dimension" and other.code != mention.code
                   and other.start <= mention.start and mention.end <= other.end
                   and other.end - other.start > mention.end - mention.start
                   for other in mentions)

    @staticmethod
    def _object_of(doc, mention: Mention, verbs: list[int], ends: dict[int, int]) -> bool:
        """Whether the noun heads the object of a free provision verb before it, or follows a
        modifier saying it is provided ("free lunches"): the verb at
        most OBJECT_REACH words back, only modifiers, a list or "of" between (no possessive:
        "pays the trainees' allowance" is a wage) ("arranges
        rental flats", "hands out a box of groceries, bedding and towels"), and the noun the
        last word of its phrase ("food safety training" is training, not food)."""
        after = mention.end
        if after < len(doc):
            word = doc[after]
            if (word.is_alpha or word.lower_ == "-") and word.lower_ not in _AFTER_HEAD:
                return False
        i = mention.start - 1
        while i >= 0 and mention.start - i <= OBJECT_REACH and doc[i].is_alpha \
                and doc[i].lower_ not in _PHRASE_BREAKS:
            if doc[i].lower_ in _PROVIDED:
                return True  # "free lunches", "subsidised school meals"
            i -= 1
        for verb in verbs:
            end = ends[verb]
            if not (mention.start - OBJECT_REACH <= end <= mention.start):
                continue
            gap = doc[end:mention.start]
            if all(t.lower_ in _OBJECT_GAP or t.like_num
                   or (t.is_alpha and t.lower_ not in _PHRASE_BREAKS) for t in gap):
                return True
        return False

    @staticmethod
    def _agent(doc, start: int, reach: int = 3) -> bool:
        """Whether the words at `start` follow "by" (fewer than `reach` words between, a
        possessive allowed): the agent of a passive, not what is provided."""
        for i in range(start - 1, max(-1, start - 1 - reach), -1):
            word = doc[i].lower_
            if word == "by":
                return True
            if not (doc[i].is_alpha or word in _POSSESSIVE) or word in _CLAUSE_WORDS:
                return False
        return False

    @staticmethod
    def _derived(mention: Mention, derivation) -> Mention:
        derived = Mention(mention.start, mention.end, derivation.code, derivation.id,
                          "challenge", when=derivation.when)
        for name in ("sentence", "clause_start", "clause_end", "negated", "hypothetical",
                     "planned", "problem", "initiative", "cues"):
            setattr(derived, name, getattr(mention, name))
        derived.emitted = True
        derived.reason = f"derived from {mention.code}"
        return derived
