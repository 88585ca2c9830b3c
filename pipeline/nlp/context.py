"""Context of each mention: negated, hypothetical, planned, background, in a problem clause.

Cues come from the codebook's cue lists (matched with the codes in one pass). Each cue's
scope runs forward (or backward, or both) from it, at most `window` tokens, inside its
sentence, and ends at a terminator ("but", ";", "although" ...), at a comma that starts a new
clause (per cue), and for negations at a modal verb further on ("Refugees who do not speak
German can attend ..." keeps "attend" outside the negation). Overlapping cues are resolved by
length: "not only" (pseudo) beats "not", "only a few" (negation) beats "a few" (pseudo).
A future or plan cue makes a mention `planned` only when its sentence names an actor;
otherwise it is `hypothetical`. Cues inside a match of a pattern marked `consumes_cues`
("never evaluated", "do not speak") scope over nothing else.
"""

from __future__ import annotations

import numpy
from spacy.attrs import SENT_START

from pipeline.nlp.analysis import ANALYSIS_KEY, CueHit, DocAnalysis, Mention
from pipeline.nlp.compiled import CompiledCodebook
from pipeline.nlp.language import CODES_KEY

CODE_MATCHES_KEY = "cityqda_code_matches"  # doc.user_data: (start, end, label, id) hashes

# Problem verbs that, as the aim of an activity ("workshops on avoiding debt", "a line to
# prevent evictions"), describe what an initiative works against rather than a difficulty.
AIM_VERBS = frozenset({"avoid", "avoiding", "prevent", "preventing", "reduce", "reducing",
                       "tackle", "tackling", "combat", "combating", "combatting"})
# Words before such a verb that make it an aim: a purpose "to", a topic "on"/"about", or a
# gerund listed among an activity's contents ("budgeting, savings and avoiding ...").
# Endings of adjectives ("isolated", "vulnerable", "homeless", "precarious") that, before a
# word naming people, say who a service is for.
RECIPIENT_ADJECTIVE_ENDINGS = ("ed", "able", "ible", "less", "ous")
AIM_LEADS = frozenset({"to", "on", "about", "against", "for", "in"})
AIM_LIST_LEADS = frozenset({"and", "or", ","})
# Verbs that, with "on"/"with", make the problem words after them what a body works on, not a
# difficulty of the clause ("is to focus in particular on the problems arising when ...",
# "deals with cases of discrimination").
WORK_ON_VERBS = frozenset({"focus", "focuses", "focused", "focusing", "concentrate",
                           "concentrates", "concentrating", "deal", "deals", "dealing", "dealt"})
WORK_ON_PREPOSITIONS = frozenset({"on", "with"})
# How far back (tokens) from a problem word such a verb may be.
WORK_ON_REACH = 5
# Relative pronouns that, after a word naming people, open a clause saying who they are
# ("women who have suffered violence get psychological support").
RELATIVE_PRONOUNS = frozenset({"who", "whose"})
# How far back (tokens) from a problem word such a pronoun may be.
RELATIVE_REACH = 7
# Tokens that end that clause before the problem word.
RELATIVE_BREAKS = frozenset({",", ";", ":", ".", "(", ")", "and", "but"})
# Words that, a few words before a problem word, say who the people served are
# ("women fleeing domestic violence", "victims of abuse", "survivors of torture").
RECIPIENT_LEADS = frozenset({"fleeing", "escaping", "affected"})
RECIPIENT_OF = frozenset({"victim", "victims", "survivor", "survivors"})
# Words that join modifiers sharing one noun ("legal and psychological support").
COORDINATORS = frozenset({"and", "or", ",", "&"})
# Endings of the adjectives that share a noun ("legal, medical and psychological support"); a
# noun in a list of objects ("food, clothes, money and health advice") has none of them.
SHARED_MODIFIER_ENDINGS = ("al", "ic", "ive", "ary", "ory", "ous", "ian", "ish", "ese", "ile")
# Words that join a second predicate a negated object's scope stops at ("or" is not one).
PREDICATE_JOINERS = frozenset({"and"})
# When two patterns of one code match the same words, the one that counts most easily wins: a
# named service counts anywhere, a topic near a provision verb, an object's head noun only
# right after one.
ROLE_RANK = {"service": 2, "topic": 1, "object": 0}
# Words after which a negation cue stands for the subject ("said that nobody ...").
SUBJECT_OPENERS = frozenset({"that", ",", ";", ":", "if", "because", "since", "as", "where"})
# Activities whose topics (after "on"/"about", in a list up to this many tokens long) are what
# they teach or raise awareness of, not difficulties of the clause.
ACTIVITY_NOUNS = frozenset({
    "project", "projects", "training", "trainings", "workshop", "workshops", "course",
    "courses", "session", "sessions", "seminar", "seminars", "campaign", "campaigns",
    "module", "modules", "class", "classes", "lecture", "lectures", "talk", "talks",
    "awareness", "information", "education", "guidance", "leaflets", "brochures"})
TOPIC_LIST_REACH = 14
TOPIC_LIST_BREAKS = frozenset({";", ".", ":", "but", "although", "though", "while", "because",
                               "who", "which", "that", "where", "when", "since", "however"})
# Modals that, in a purpose clause ("so that they could ..."), state a result, and how far
# back (tokens) its "so that" / "in order that" may stand.
PURPOSE_MODALS = frozenset({"could", "can", "would", "might", "may"})
PURPOSE_REACH = 6
# Tokens after which a capitalised cue opens a quotation or heading, not a name.
NAME_BREAKS = frozenset({":", "\"", "“", "'", "‘", "(", "[", "-", "–", "—", ";"})
# Small words inside a name ("Advocates for Human Rights").
NAME_CONNECTORS = frozenset({"for", "of", "the", "and", "in", "on", "to", "&"})
# Words that open a subordinate clause placed before the main one: its first comma ends it.
FRONTED_SUBORDINATORS = frozenset({"although", "though", "while", "whilst", "whereas",
                                   "because", "since", "unless", "once", "until"})


def resolve_cues(cues: list[tuple[int, int, str]],
                 exact: frozenset = frozenset()) -> list[tuple[int, int, str]]:
    """Cue matches (in text order) with overlaps resolved: the longest wins (ties: a cue of
    `exact` word forms, which is the more specific one ("ended" over the lemma "end"), then
    the earliest)."""
    overlapping = any(cues[i + 1][0] < cues[i][1] for i in range(len(cues) - 1))
    if not overlapping:
        return cues
    found = sorted(cues, key=lambda item: (item[0] - item[1], item[0], item[2] not in exact))
    kept: list[tuple[int, int, str]] = []
    for start, end, cue_id in found:
        for k_start, k_end, _ in kept:
            if start < k_end and end > k_start:
                break
        else:
            kept.append((start, end, cue_id))
    kept.sort()
    return kept


class ContextComponent:
    """Builds the document's analysis and flags every mention from the cue scopes."""

    def __init__(self, compiled: CompiledCodebook):
        self.compiled = compiled
        self.cues = compiled.cues
        self.exact_cues = frozenset(c.id for c in compiled.cues.values() if c.attr == "LOWER")
        self.starter_norms = compiled.starter_norms
        self.strong_first = compiled.strong_first_norms
        self.actor_norms = compiled.actor_norms
        self.recipient_norms = compiled.recipient_norms
        self.consuming = {p.id for p in compiled.patterns.values() if p.consumes_cues}
        self.pattern_cues = {p.id: p.cue for p in compiled.patterns.values() if p.cue}
        self._codes: dict[int, tuple[str, str, str, tuple]] = {}
        self._pairs: dict[tuple[int, int], tuple[str, str, str, tuple]] | None = None

    def __call__(self, doc):
        length = len(doc)
        matches = doc.user_data.get(CODE_MATCHES_KEY)
        if matches is None:
            spans = doc.spans[CODES_KEY] if CODES_KEY in doc.spans else ()
            matches = [(s.start, s.end, s.label, s.id) for s in spans]
        if not length or not matches:
            doc.user_data[ANALYSIS_KEY] = DocAnalysis([0], length, {})
            return doc
        sentence_starts = doc.user_data.get("cityqda_sentences")
        if sentence_starts is None:
            sentence_starts = numpy.flatnonzero(doc.to_array(SENT_START) == 1).tolist()
            if not sentence_starts or sentence_starts[0] != 0:
                sentence_starts.insert(0, 0)
        groups, cues = self.compiled.groups(doc)
        analysis = DocAnalysis(sentence_starts, length, groups)
        doc.user_data[ANALYSIS_KEY] = analysis
        mentions, shared = self._mentions(doc, matches)
        analysis.mentions = mentions
        hits = []
        pseudo: list[tuple[int, int]] = []
        if cues:
            consumed = [(m.start, m.end) for m in mentions if m.rule in self.consuming]
            # words inside a coded match after its first ("night shelter") are nouns, not
            # the provision verbs that would end a cue's reach back over the subject
            inner = {p for m in mentions for p in range(m.start + 1, m.end)}
            hits = self._cue_hits(doc, analysis, cues, consumed, inner, pseudo)
        for mention in mentions:
            cue_type = self.pattern_cues.get(mention.rule)
            if cue_type is not None:  # "lobbies parliament for easier family reunification"
                sentence = analysis.sentence_of(mention.start)
                if self._in_name(doc, analysis, mention.start, mention.end, sentence):
                    # "The Advocates for Human Rights" names a body: like an advocacy
                    # body's name, it counts only as what someone funds or supports
                    mention.role = "object"
                    continue
                _, high = analysis.clause(mention.start, mention.end, sentence)
                hits.append(CueHit(mention.rule, cue_type, mention.start, mention.end,
                                   mention.end, high, sentence))
        analysis.cue_hits = hits
        by_sentence: dict[int, list[CueHit]] = {}
        for hit in hits:
            by_sentence.setdefault(hit.sentence, []).append(hit)
        problem_starts = self._problem_starts(doc, analysis, hits, mentions, pseudo)
        actor_cache: dict[int, bool] = {}
        sentence_of = analysis.sentence_of
        clause = analysis.clause
        for mention in mentions:
            start, end = mention.start, mention.end
            sentence = sentence_of(start)
            mention.sentence = sentence
            mention.clause_start, mention.clause_end = clause(start, end, sentence)
            sentence_hits = by_sentence.get(sentence)
            if sentence_hits:
                planned = False
                covering = []
                for hit in sentence_hits:
                    # hit.covers(start, end), inline: this loop meets every mention
                    if (start < hit.end and end > hit.start) or not (
                            start < hit.scope_end and end > hit.scope_start):
                        continue
                    covering.append(hit)
                    kind = hit.type
                    if kind == "negation":
                        mention.negated = True
                    elif kind == "hypothetical":
                        mention.hypothetical = True
                    elif kind == "background":
                        mention.background = True
                    else:
                        planned = True
                if covering:
                    mention.cues = covering
                if planned and not mention.negated:
                    named = actor_cache.get(sentence)
                    if named is None:
                        named = actor_cache[sentence] = self._names_actor(doc, analysis,
                                                                          sentence)
                    if named:
                        mention.planned = not mention.hypothetical
                    else:
                        mention.hypothetical = True
            low, high = mention.clause_start, mention.clause_end
            for position in problem_starts:
                if low <= position < high and not start <= position < end:
                    mention.problem = True
                    break
        for modifier, noun in shared:
            # "no legal or medical help": what holds for the shared noun holds for each
            for name in ("negated", "hypothetical", "planned", "background", "problem"):
                if getattr(noun, name):
                    setattr(modifier, name, True)
            if modifier.negated or modifier.hypothetical:
                modifier.planned = False
        return doc

    def _problem_starts(self, doc, analysis: DocAnalysis, hits: list[CueHit],
                        mentions: list[Mention],
                        pseudo: list[tuple[int, int]] = ()) -> list[int]:
        """Where the problem words that count start (few documents have any)."""
        problems = analysis.groups.get("problem")
        if not problems:
            return []
        negations = [hit for hit in hits if hit.type == "negation"]
        negation_starts = {hit.start for hit in negations}
        dimension_spans = [(m.start, m.end) for m in mentions if m.kind == "dimension"]
        # a cue's own words are not a problem ("matters concerning migrants"), nor are the
        # words of a pseudo cue ("the first issue of the journal", "the search for a flat")
        dimension_spans += [(hit.start, hit.end) for hit in hits if hit.type == "background"]
        dimension_spans += pseudo
        problem_starts = []
        for start, _ in problems:
            # a problem word counts unless it belongs to a mention ("challenge stereotypes",
            # "reduce discrimination") or is itself negated ("without losing pay")
            if any(s <= start < e for s, e in dimension_spans):
                continue
            if any(hit.covers(start, start + 1) for hit in negations):
                continue
            if start and (self._is_aim(doc, start) or self._worked_on(doc, start)
                          or self._fronted_purpose(doc, analysis, start)
                          or self._activity_topic(doc, start)):
                continue
            if self._describes_recipients(doc, start):
                continue
            # a negation word ("who lack papers") stays a problem: it may cancel a refusal
            if start not in negation_starts and self._recipient_clause(doc, start):
                continue
            problem_starts.append(start)
        return problem_starts

    def _describes_recipients(self, doc, start: int) -> bool:
        """Whether the problem word at `start` is an adjective saying who is served
        ("isolated refugee families", "vulnerable Syrian women"), not a difficulty."""
        if not doc[start].lower_.endswith(RECIPIENT_ADJECTIVE_ENDINGS):
            return False
        recipients = self.recipient_norms
        for token in doc[start + 1:start + 4]:
            if token.norm in recipients:
                return True
            if not (token.is_title or token.text == "-"):
                return False
        return False

    def _recipient_clause(self, doc, start: int) -> bool:
        """Whether the problem word at `start` is in words saying who the people served are
        ("women who have suffered violence", "families whose homes were destroyed", "women
        fleeing violence", "victims of abuse"): it describes them, not a difficulty of what
        is offered to them."""
        for index in range(start - 1, max(start - RELATIVE_REACH, 0) - 1, -1):
            word = doc[index].lower_
            if word in RELATIVE_BREAKS:
                return False
            if word in RELATIVE_PRONOUNS:
                return index > 0 and doc[index - 1].norm in self.recipient_norms
            if start - index <= 3 and (word in RECIPIENT_LEADS or (
                    word in ("of", "by") and index > 0
                    and doc[index - 1].lower_ in RECIPIENT_OF | {"affected"})):
                return True
        return False

    @staticmethod
    def _worked_on(doc, start: int) -> bool:
        """Whether the problem word at `start` is what a body focuses on, deals with or
        addresses ("is to focus in particular on the problems arising ..."): its remit."""
        preposition = False
        for index in range(start - 1, max(start - WORK_ON_REACH, 0) - 1, -1):
            word = doc[index].lower_
            if word in RELATIVE_BREAKS:
                return False
            if preposition and word in WORK_ON_VERBS:
                return True
            preposition = preposition or word in WORK_ON_PREPOSITIONS
        return False

    @staticmethod
    def _in_name(doc, analysis: DocAnalysis, start: int, end: int, sentence: int) -> bool:
        """Whether a cue's words are part of a name: each capitalised, the first not opening
        its sentence or a quotation ("The Advocates for Human Rights", "Children in Need")."""
        if not doc[start].is_title:  # most cues: a lower-case word, decided at once
            return False
        low, _ = analysis.sentence_bounds(sentence)
        if start == low or doc[start - 1].text in NAME_BREAKS:
            return False
        words = [token for token in doc[start:end] if token.is_alpha]
        return bool(words) and words[0].is_title and all(
            token.is_title or token.lower_ in NAME_CONNECTORS for token in words)

    @staticmethod
    def _activity_topic(doc, start: int) -> bool:
        """Whether the problem word at `start` is in the list of topics of an activity
        ("awareness projects on human rights, gender equality, gender-based violence",
        "workshops about racism and exclusion"): what is taught, not a difficulty."""
        for index in range(start - 1, max(start - TOPIC_LIST_REACH, 1) - 1, -1):
            word = doc[index].lower_
            if word in TOPIC_LIST_BREAKS:
                return False
            if word in ("on", "about") and doc[index - 1].lower_ in ACTIVITY_NOUNS:
                return True
        return False

    @staticmethod
    def _purpose_modal(doc, start: int, end: int) -> bool:
        """Whether a modal cue is the verb of a purpose clause ("granted extra money so that
        more job consultants could be hired"): the result of what was done, not a wish."""
        if end - start != 1 or doc[start].lower_ not in PURPOSE_MODALS:
            return False
        for index in range(start - 1, max(start - PURPOSE_REACH, 1) - 1, -1):
            word = doc[index].lower_
            if word in RELATIVE_BREAKS or word in ("if", "unless", "whether"):
                return False
            if word == "that" and doc[index - 1].lower_ in ("so", "order"):
                return True
        return False

    @staticmethod
    def _fronted_purpose(doc, analysis: DocAnalysis, start: int) -> bool:
        """Whether the problem word at `start` is the verb of a purpose clause opening its
        sentence ("To cut the number of fines, a team ...", "In order to avoid ..."): what
        the main clause works towards, not a difficulty."""
        low, _ = analysis.sentence_bounds(analysis.sentence_of(start))
        lead = start - 1
        if doc[lead].lower_ != "to":
            return False
        if lead == low:
            return True
        return (lead - 2 == low and doc[low].lower_ == "in"
                and doc[low + 1].lower_ == "order")

    @staticmethod
    def _is_aim(doc, start: int) -> bool:
        """Whether the problem word at `start` is the aim of an activity, not a difficulty."""
        word = doc[start].lower_
        if word not in AIM_VERBS:
            return False
        lead = doc[start - 1].lower_
        return lead in AIM_LEADS or (word.endswith("ing") and lead in AIM_LIST_LEADS)

    def _code(self, label: int, pattern: int, strings) -> tuple[str, str, str, tuple]:
        """(code, pattern id, role, when) for a match's label and span id hashes."""
        key = (label << 1) ^ pattern
        found = self._codes.get(key)
        if found is None:
            code, rule = strings[label], strings[pattern]
            meta = self.compiled.patterns.get(rule)
            found = (code, rule, meta.role if meta is not None else "topic",
                     meta.when if meta is not None else ())
            self._codes[key] = found
        return found

    def _mentions(self, doc, matches) -> tuple[list[Mention], list[tuple[Mention, Mention]]]:
        kinds = self.compiled.kinds
        strings = doc.vocab.strings
        best: dict[tuple[int, int, str], Mention] = {}
        known_codes = self._codes
        for start, end, label, pattern in matches:
            found = known_codes.get((label << 1) ^ pattern)
            if found is None:
                found = self._code(label, pattern, strings)
            code, rule, role, when = found
            key = (start, end, code)
            known = best.get(key)
            if known is not None and ROLE_RANK.get(known.role, 0) >= ROLE_RANK.get(role, 0):
                continue
            best[key] = Mention(start, end, code, rule, kinds.get(code, "dimension"), role, when)
        mentions = list(best.values())
        shared = self._shared_noun(doc, mentions)
        mentions.extend(modifier for modifier, _ in shared)
        mentions.sort(key=lambda m: (m.start, m.end, m.code))
        return mentions, shared

    def _pair_table(self, vocab) -> dict[tuple[int, int], tuple[str, str, str, tuple]]:
        """(modifier, noun) NORM hashes of every two-word dimension phrase ("legal support")
        -> (code, pattern id, role, when)."""
        if self._pairs is None:
            from pipeline.codebook.phrases import expand_phrase

            pairs: dict[tuple[int, int], tuple[str, str, str, tuple]] = {}
            for pattern in self.compiled.patterns.values():
                if self.compiled.kinds.get(pattern.code) != "dimension" or pattern.attr != "LEMMA":
                    continue
                for phrase in pattern.phrases:
                    for text in expand_phrase(phrase):
                        words = text.split()
                        if len(words) == 2 and all(w.isalpha() for w in words):
                            key = (vocab[words[0]].norm, vocab[words[1]].norm)
                            pairs.setdefault(key, (pattern.code, pattern.id, pattern.role,
                                                   pattern.when))
            self._pairs = pairs
        return self._pairs

    def _shared_noun(self, doc, mentions: list[Mention]) -> list[tuple[Mention, Mention]]:
        """Modifiers that share a coded two-word match's noun ("legal and psychological
        support", "legal, social and medical advice"): each is coded as its own phrase
        with that noun would be, on the modifier's word."""
        candidates = [m for m in mentions if m.kind == "dimension" and m.end - m.start == 2
                      and m.start >= 2 and doc[m.start - 1].lower_ in COORDINATORS]
        if not candidates:
            return []
        table = self._pair_table(doc.vocab)
        kinds = self.compiled.kinds
        covered = {p for m in mentions for p in range(m.start, m.end)}
        added = []
        for mention in candidates:
            noun = doc[mention.end - 1].norm
            joiner = mention.start - 1
            chain = []
            in_object_list = False
            while joiner >= 1 and doc[joiner].lower_ in COORDINATORS:
                word = joiner - 1
                if word in covered or not doc[word].is_alpha:
                    # a coded item before a comma: the chain is a list of objects ("food,
                    # clothes, money and health advice"), where only adjectives share the noun
                    in_object_list = word in covered and doc[joiner].lower_ == ","
                    break
                found = table.get((doc[word].norm, noun))
                if found is None:
                    break
                code, rule, role, when = found
                if mention.role == "topic":  # a topic noun needs someone providing, shared
                    role = "topic"
                chain.append((Mention(word, word + 1, code, rule,
                                      kinds.get(code, "dimension"), role, when), mention))
                covered.add(word)
                joiner = word - 1
            if in_object_list:
                chain = [pair for pair in chain
                         if doc[pair[0].start].lower_.endswith(SHARED_MODIFIER_ENDINGS)]
            added.extend(chain)
        return added

    def _starts_clause(self, doc, token: int) -> bool:
        if token >= len(doc):
            return False
        norm = doc[token].norm
        return norm in self.starter_norms or norm in self.strong_first

    def _coordinated_verb(self, doc, sent_start: int, start: int, end: int, high: int) -> int:
        """Where a negated object's scope ends: at "and" before a provision verb, which
        starts a predicate of its own ("has no budget and refers them to the shelter"). A cue
        that opens its clause negates the subject, and so both verbs ("nobody offers X and
        runs Y"), and keeps its scope. A negation reaches over "or" ("unable to open an
        account or register a SIM card"): "not X or Y" denies both."""
        if start == sent_start or self._starts_clause(doc, start - 1) \
                or doc[start - 1].lower_ in SUBJECT_OPENERS:
            return high
        for position in range(end + 1, high - 1):
            if doc[position].lower_ in PREDICATE_JOINERS \
                    and doc[position + 1].norm in self.strong_first:
                return position
        return high

    def _scope(self, doc, analysis: DocAnalysis, cue, start: int, end: int,
               sentence: int, inner: frozenset | set = frozenset()) -> tuple[int, int]:
        """Token range [low, high) that a cue at [start, end) covers."""
        sent_start, sent_end = analysis.sentence_bounds(sentence)
        terms = analysis.positions("term")
        commas = analysis.positions("comma")
        direction = cue.direction
        low = high = end
        if direction != "backward" and cue.through_terminators:
            # a heading ("Recommendations: ...; ...") covers its whole list
            return end, min(sent_end, end + cue.window)
        if direction != "backward":
            high = min(sent_end, end + cue.window)
            term = terms.first_start_in(end, high)
            if term is not None:
                high = term
            if cue.type == "negation":
                stop = analysis.positions("stop").first_start_in(end + 1, high)
                if stop is not None:
                    high = stop
                high = self._coordinated_verb(doc, sent_start, start, end, high)
            if commas.spans:
                # in a fronted subordinate clause ("Although the state provides no housing,
                # the city rents ...") the first comma ends it, whatever the cue says
                fronted = (doc[sent_start].lower_ in FRONTED_SUBORDINATORS
                           and not commas.any_in(sent_start, start))
                for comma in commas.starts_in(end, high):
                    if fronted or cue.comma == "always" or (
                            cue.comma != "never" and self._starts_clause(doc, comma + 1)):
                        high = comma
                        break
        if direction == "backward":
            low = max(sent_start, start - cue.window)
            term = terms.last_end_in(low, start)
            if term is not None:
                low = term
            if cue.comma != "never" and commas.spans:
                for comma in reversed(commas.starts_in(low, start)):
                    if cue.comma == "always" or self._starts_clause(doc, comma + 1):
                        low = comma + 1
                        break
            high = start
        elif direction == "both":
            # back over the subject only: stop at a terminator, a comma, a clause starter or
            # a provision verb ("The NGO runs a shelter and would like to ..." keeps the shelter)
            low = max(sent_start, start - cue.back_window)
            term = terms.last_end_in(low, start)
            if term is not None:
                low = term
            comma_starts = commas.starts
            clauses = cue.type != "background"  # "Permits and residence are handled by ..."
            for position in range(start - 1, low - 1, -1):
                if position in comma_starts or (clauses and position not in inner
                                                and self._starts_clause(doc, position)):
                    low = position + 1
                    break
        return low, high

    def _cue_hits(self, doc, analysis: DocAnalysis, found, consumed,
                  inner: frozenset | set = frozenset(),
                  pseudo: list | None = None) -> list[CueHit]:
        """The scoped cues; the spans of pseudo cues go to `pseudo` when it is given."""
        cues = self.cues
        hits = []
        for start, end, cue_id in resolve_cues(found, self.exact_cues):
            cue = cues[cue_id]
            if cue.type == "pseudo":
                if pseudo is not None:
                    pseudo.append((start, end))
                continue
            if consumed and any(s <= start and end <= e for s, e in consumed):
                continue
            sentence = analysis.sentence_of(start)
            if self._in_name(doc, analysis, start, end, sentence):
                continue
            # a purpose clause's modal states a result, unless the sentence is a wish already
            # ("He would like the desk to ... so that refugees could use ...")
            if (cue.type == "hypothetical" and self._purpose_modal(doc, start, end)
                    and not any(hit.type == "hypothetical" and hit.sentence == sentence
                                for hit in hits)):
                continue
            low, high = self._scope(doc, analysis, cue, start, end, sentence, inner)
            hits.append(CueHit(cue_id, cue.type, start, end, low, high, sentence))
        if not any(cues[hit.cue].cancelled_by_prior_negation for hit in hits):
            return hits
        kept = []
        for hit in hits:
            cue = cues[hit.cue]
            if cue.cancelled_by_prior_negation:
                clause_start, _ = analysis.clause(hit.start, hit.end, hit.sentence)
                reach = cue.cancel_reach
                prior = [other for other in hits
                         if other.type == "negation" and other is not hit
                         and other.sentence == hit.sentence
                         and clause_start <= other.start < hit.start
                         # "does not prevent", not "Lack of documents prevents"
                         and (reach is None or hit.start - other.end <= reach)]
                if prior:
                    # "no one is left without legal aid": the two negations cancel out; the
                    # first still covers the second's words, so "refused" is no problem word
                    for other in prior:
                        other.scope_end = min(other.scope_end, hit.end)
                    continue
            kept.append(hit)
        return kept

    def _names_actor(self, doc, analysis: DocAnalysis, sentence: int) -> bool:
        start, end = analysis.sentence_bounds(sentence)
        actors = self.actor_norms
        for token in doc[start:end]:
            if token.norm in actors:
                return True
            text = token.text
            if len(text) >= 2 and text.isupper() and text.isalpha():
                return True
        return False
