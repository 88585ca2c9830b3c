"""Partnerships: a partnership cue with two or more actors in its clause.

Cues (`partnership_cues` in entity_cues.yaml) come in five kinds; the parties are
- with     the subject of the clause and the actors listed after the cue ("X partners with Y
           and Z", "in cooperation with");
- by       the subject (or the body that runs what is funded) and the actors after the cue
           ("funded by Y", "with support from Y");
- between  the actors listed after the cue ("agreement between X and Y");
- joint    the actors of the subject ("X and Y jointly run", "signed an agreement");
- verb     the subject and the actors after the verb ("X funds Y", "X commissioned Y").
The subject is the first actor of the clause (with those listed with it), after any "the
director of X said" that reports the clause; if the reported clause names no actor, the
reporting one is the subject, and with a known speaker (`context["speaker"]`) an unnamed
subject is the speaker. A name owned by another ("the City of Vienna's Municipal Department")
acts for itself. A party named twice counts once.

Type (DESIGN.md), from the set of the parties' sectors: exactly public and private ->
public_private, third and private -> third_actor_private, third and public ->
third_actor_public; one sector only, or all three -> other. So a city, a ministry and a company
make a public_private partnership, and a city, a company and an NGO one of type other.

Status: desired when a wish, request or condition comes before the cue in its clause ("would
like to partner with", "has asked ... for"); ended when the clause (or a following "but"
clause) says it ended ("until 2019", "was not renewed", "used to"); planned when it holds a
plan or future cue ("will", "is preparing", "next year"); else existing. A denied one ("has no
agreement with", "never worked with") is not a partnership.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.nlp.actors import (
    CAP,
    CLOSE,
    COMMA,
    HYPHEN,
    LOWER,
    OPEN,
    ActorMention,
    DocView,
    after_preposition,
    workplace_after,
)
from pipeline.nlp.initiatives import but_clause_end, status_cues_in, year_ended

PAIR_TYPES = {
    frozenset({"public", "private"}): "public_private",
    frozenset({"third", "private"}): "third_actor_private",
    frozenset({"third", "public"}): "third_actor_public",
}
STATUS_ORDER = ("desired", "ended", "planned", "existing")
_ADVERBIAL_STARTS = frozenset({"with", "in", "under", "through", "thanks", "together",
                               "jointly", "alongside", "hand", "on"})
_PRONOUNS = frozenset({"it", "they", "its", "their"})
_PARTNER_WORDS = frozenset({"with", "by", "from", "to", "between", "and"})
_ADVERBS = ("jointly", "also", "together", "now", "currently", "both", "have", "has", "had",
            "will", "recently", "already", "still", "each", "are", "were")
_PUBLIC_MONEY_WORDS = frozenset({
    "funded", "financed", "cofinanced", "co-financed", "co-funded", "cofunded", "subsidised",
    "subsidized", "funding", "money", "grant", "grants", "subsidy", "subsidies", "financial",
    "funds", "finances", "subsidises", "subsidizes", "co-finances", "co-funds", "lends", "lent",
    "lend"})
_PAIR_NOUNS = frozenset({"organisations", "organizations", "bodies", "partners", "institutions",
                         "agencies", "groups", "ngos", "charities", "entities"})
# The people and parts of an activity a later clause may point back at ("selects the
# trainees", "pays for the teaching materials", "the centre's graduates").
_TIE_NOUNS = frozenset({
    "trainees", "participants", "graduates", "students", "users", "clients", "residents",
    "learners", "pupils", "beneficiaries", "interns", "apprentices", "teachers", "trainers",
    "tutors", "mentors", "coaches", "interpreters", "caseworkers", "course", "courses",
    "classes", "lessons", "programme", "program", "scheme", "project", "centre", "center",
    "desk", "office", "clinic", "shelter", "hub", "unit", "training", "traineeship",
    "workshops", "scholarships", "materials", "textbooks", "equipment", "land", "vouchers",
    "salaries", "wages", "microloans"})
_ACTIVITY_NOUNS = frozenset({
    "centre", "center", "clinic", "office", "service", "course", "programme", "program",
    "scheme", "shelter", "hub", "desk", "unit", "project", "school", "club", "camp"})
_SUBJECT_PRONOUNS = ("they", "we", "it", "he", "she", "who", "that", "which")
_OWNED_UNITS = frozenset({"social", "fund", "foundation", "local", "branch", "office", "plant",
                          "csr", "team"})


def _adverbial(view: DocView, mention) -> bool:
    """A cue that qualifies the clause's verb rather than being one ("with funding from",
    "in cooperation with", "under an agreement with")."""
    return view.folded(mention.cue_start) in _ADVERBIAL_STARTS


def _owner_of_place(view: DocView, i: int) -> ActorMention | None:
    """The generic body before "of <Place>" that ends at token i ("the Catholic diocese of
    Douala"), or None."""
    k = i
    while k > 0 and i - k < 4 and view.shape[k] == CAP:
        k -= 1
    if k == i or k < 1 or view.folded(k) != "of":
        return None
    actor = view.actor_at(k - 1)
    return actor if actor is not None and actor.generic and actor.end == k else None


def _possessor_of(view: DocView, i: int) -> ActorMention | None:
    """The organisation owning the lower-case words ending at `i` ("BRAC's migration
    programme and the X run ...", "the University of Limerick's law school"): it acts."""
    k = i
    while k >= 0 and i - k < 3 and view.shape[k] == LOWER:
        k -= 1
    if k == i or k < 1 or view.text(k) not in ("'s", "\u2019s"):
        return None
    owner = view.actor_at(k - 1)
    return owner if owner is not None and owner.end == k else None


def _branch_owner(view: DocView, start: int, clause_end: int) -> int | None:
    """The "of" before the named owner of a branch ("through the job centre of the Munich
    Employment Agency", "through the Salzburg regional office of the AMS"): the owner is the
    party."""
    for k in range(start, min(clause_end - 1, start + 6)):
        actor = view.actor_at(k)
        if actor is not None and not actor.generic:
            return None
        if view.folded(k) == "of":
            j = k + 1 + (view.folded(k + 1) == "the")
            owner = view.actor_at(j)
            return k if owner is not None and owner.start == j and not owner.generic else None
    return None


def _relative_subject(view: DocView, cue: int) -> ActorMention | None:
    """The actor right before the cue that opens a relative clause ("..., which the state of
    X co-finances", "a clinic, which the Red Cross staffs"): it works with the actors that run
    the thing the main clause names."""
    k = cue - 1
    while k > 0 and cue - k < 3 and view.shape[k] in (CAP, HYPHEN) and view.actor_at(k) is None:
        k -= 1  # "the state of Rhineland-Palatinate": the name's hyphenated end
    actor = view.actor_at(k) if k >= 0 else None
    if actor is None or actor.generic:
        return None
    k = actor.start - 1
    if k >= 0 and view.folded(k) == "the":
        k -= 1
    return actor if k > 0 and view.folded(k) in ("which", "that") and \
        view.shape[k - 1] == COMMA else None


def _not_business(actor: ActorMention) -> bool:
    """A public body, or a third actor that no bare-name default made one."""
    return actor.sector == "public" or (actor.sector == "third"
                                        and "third_actor_verb" not in actor.evidence)


def _funded_by_the_state(subject: list[ActorMention]) -> None:
    """A bare name that public money funds is a third actor more often than a brand ("Red
    Barnet runs homework cafés with money from Odense Kommune")."""
    for actor in subject:
        if "bare_name" in actor.evidence:
            actor.category, actor.sector = "civil_society", "third"
            actor.evidence.append("publicly_funded")


def _owners_after(view: DocView, end: int) -> list[ActorMention]:
    """The actors an initiative's name is said to belong to right after it: "... programme of
    Z", "..., the employment programme of Z", "..., which Z (and W) run(s)"."""
    sent_end = view.sentence_bounds(int(view.sent[end - 1]))[1]
    k = end
    if k + 1 < sent_end and view.shape[k] == COMMA and view.folded(k + 1) in ("which", "that"):
        owners, stop = view.coordinated(k + 2, sent_end, 1)
        while stop < sent_end and stop - k < 12 and view.folded(stop) in _ADVERBS + (
                "plans", "plan", "to", "intends", "is", "will"):
            stop += 1
        if owners and any(s == stop for group in ("init_run_verbs", "init_start_verbs")
                          for s, _, _ in view.in_group(group, stop, min(sent_end, stop + 3))):
            return owners
        return []
    while k < sent_end and k - end < 5 and view.actor_at(k) is None and (
            view.shape[k] in (LOWER, COMMA) and view.folded(k) not in (
                "which", "that", "and", "or", "with", "by", "for", "in", "to", "from")):
        if view.folded(k) == "of":
            j = k + 1 + (k + 1 < sent_end and view.folded(k + 1) == "the")
            owner = view.actor_at(j) if j < sent_end else None
            return [owner] if owner is not None and owner.start == j else []
        k += 1
    return []


def _aside_before(view: DocView, i: int) -> int | None:
    """Where a list of parties goes on, read backwards from `i`, past a bracketed acronym
    ("X (XA) and Y run") or an apposition ("X, a Turkish NGO, and Y run", "X, the university
    of applied sciences, and Y"); None when `i` ends neither. ", the municipality, and" is a
    party of the list, not an aside."""
    if view.shape[i] == CLOSE:
        k = i - 1
        while k > 0 and i - k < 8 and view.shape[k] not in (OPEN, CLOSE):
            k -= 1
        return k - 1 if k > 0 and view.shape[k] == OPEN and view.actor_at(k - 1) else None
    if view.shape[i] != COMMA or i < 3 or (i + 1 < view.length and view.folded(i + 1) != "and"):
        return None
    k = i - 1
    while k > 0 and i - k < 14 and view.shape[k] != COMMA:
        k -= 1
    if view.shape[k] != COMMA or k == i - 1 or view.folded(k + 1) not in ("a", "an", "the") \
            or view.actor_at(k - 1) is None or view.sent[k] != view.sent[i]:
        return None
    inside = [a for a in view.actors if k < a.start and a.end <= i]
    if any(not a.generic for a in inside) or (
            view.folded(k + 1) == "the" and any(a.end == i for a in inside)):
        return None
    return k - 1


def _clause_openings(view: DocView, start: int) -> list[int]:
    """Where the clauses after `start` open, to the end of the next sentence: after ";",
    ", and", "and that", and at the next sentence's start."""
    if start >= view.length:
        return []
    sentence = int(view.sent[start])
    sent_end = view.sentence_bounds(sentence)[1]
    openings = []
    for k in range(start, sent_end - 1):
        word = view.folded(k)
        if word == ";" or (view.shape[k] == COMMA and view.folded(k + 1) == "and"):
            openings.append(k + 1 + (word != ";"))
        elif word == "and" and view.folded(k + 1) == "that" and view.shape[k - 1] != COMMA:
            openings.append(k + 1)
    if sentence + 1 < len(view.sentence_starts):
        openings.append(sent_end)
    return openings


def _clause_subject(view: DocView, opening: int, end: int) -> tuple[ActorMention, int] | None:
    """The one actor a clause opens with ("that the construction company Skanska hires",
    "Sonangol's social fund finances") and where its verb starts, or None."""
    k = opening + (opening < end and view.folded(opening) == "that")
    k += k < end and view.folded(k) in ("the", "a", "an")
    words = 0
    while k < end and view.actor_at(k) is None and view.shape[k] == LOWER and words < 3:
        k, words = k + 1, words + 1
    subject = view.actor_at(k) if k < end else None
    if subject is None or subject.start != k or subject.generic:
        return None
    verb = subject.end
    if verb < end and view.text(verb) in ("'s", "\u2019s"):
        verb += 1
        while verb < end and verb - subject.end < 4 and view.shape[verb] == LOWER and \
                view.folded(verb) in _OWNED_UNITS:
            verb += 1
    if verb >= end or view.shape[verb] != LOWER or view.folded(verb) in (
            "and", "or", "which", "who", "that"):
        return None
    return subject, verb


def _ties_back(view: DocView, start: int, end: int) -> bool:
    """Words that point back at the pair's activity or its people: "its classes" (not "its
    own"), "the trainees", "graduates of the course", "the centre's scholarships", "through
    it"."""
    for k in range(start, end):
        word = view.folded(k)
        if word == "its" and k + 1 < end and view.folded(k + 1) != "own":
            return True
        if word == "through" and k + 1 < end and view.folded(k + 1) == "it":
            return True
        if word in _TIE_NOUNS:
            j = k - 1
            while j >= start and k - j <= 3 and view.shape[j] == LOWER and \
                    view.folded(j) not in ("the", "its") + _SUBJECT_PRONOUNS:
                j -= 1
            if j >= start and view.folded(j) in ("the", "its"):
                return True
        if word in _ACTIVITY_NOUNS and k + 1 < end and view.text(k + 1) in ("'s", "\u2019s") \
                and view.folded(k - 1) == "the":
            return True
    return False


def _passive_agents(view: DocView, opening: int, end: int) -> list[ActorMention]:
    """ "...; it is staffed by the association Fontenova", "... The centre is funded by Z":
    the agents of a clause whose subject is the activity itself."""
    k = opening + (opening < end and view.folded(opening) == "that")
    if k < end and view.folded(k) == "the" and k + 1 < end and \
            view.folded(k + 1) in _ACTIVITY_NOUNS:
        k += 2
    elif k < end and view.folded(k) == "it":
        k += 1
    else:
        return []
    while k < end and view.folded(k) in ("is", "was", "are", "were", "has", "been", "also",
                                         "now", "partly", "mainly"):
        k += 1
    for s, e, _ in view.groups.get("init_by_verbs", ()):
        if s == k and e <= end:
            return view.coordinated(e, end)[0]
    return []


def _tied_subjects(view: DocView, mention) -> list[ActorMention]:
    """The actors that open a clause after the mention's, do something for its activity
    (`_ties_back`) and name no other actor; none when the mention's clause runs nothing."""
    openings = _clause_openings(view, mention.end)
    if not openings:
        return []
    sent_start = view.sentence_bounds(mention.sentence)[0]
    if mention.kind != "joint" and not any(
            sent_start <= s and e <= openings[0]
            for group in ("init_run_verbs", "init_start_verbs", "joint_verb")
            for s, e, _ in view.groups.get(group, ())):
        return []
    keys = mention.keys
    found = []
    for index, opening in enumerate(openings):
        end = openings[index + 1] if index + 1 < len(openings) else \
            view.sentence_bounds(int(view.sent[min(opening, view.length - 1)]))[1]
        if opening >= view.length:
            break
        if opening == view.sentence_bounds(int(view.sent[opening]))[0]:
            end = min(end, view.sentence_bounds(int(view.sent[opening]))[1])
        subject = _clause_subject(view, opening, end)
        if subject is None:
            found.extend(a for a in _passive_agents(view, opening, end)
                         if a.key not in keys and not a.generic)
            continue
        actor, verb = subject
        if actor.key in keys or any(a.key not in keys and a is not actor
                                    for a in view.actors_in(verb, end)):
            continue
        if _ties_back(view, verb, end):
            found.append(actor)
    return found


def partnership_type(sectors) -> str:
    """The study's partnership type from the parties' sectors (see the module docstring)."""
    return PAIR_TYPES.get(frozenset(sectors), "other")


@dataclass
class PartnershipMention:
    parties: list[ActorMention]
    type: str
    status: str
    cue_start: int
    cue_end: int
    kind: str
    sentence: int
    start: int = 0
    end: int = 0
    implicit: list[dict] = field(default_factory=list)  # parties known only from context

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(p.key for p in self.parties) | frozenset(
            f"name:{p['name']}" for p in self.implicit)


class PartnershipRecognizer:
    def __init__(self, cues):
        self.cues = cues

    def __call__(self, view: DocView, initiatives=()) -> list[PartnershipMention]:
        if len(view.actors) < (1 if view.context.get("speaker") else 2):
            return []  # two parties are needed, the speaker being one at most
        found: dict[frozenset, PartnershipMention] = {}
        for s, e, kind in self._cues(view):
            mention = self._one(view, s, e, kind, initiatives)
            if mention is None:
                continue
            known = found.get(mention.keys)
            if known is None:
                found[mention.keys] = mention
            elif STATUS_ORDER.index(mention.status) < STATUS_ORDER.index(known.status):
                known.status = mention.status
        for mention in self._through_initiatives(view, initiatives):
            found.setdefault(mention.keys, mention)
        self._merge_same_activity(view, found)
        self._join_tied_clauses(view, found)
        # a partnership of the same sentence whose parties are all in a larger one is that one
        kept = []
        for mention in found.values():
            if not any(other is not mention and other.sentence == mention.sentence
                       and mention.keys < other.keys for other in found.values()):
                kept.append(mention)
        return sorted(kept, key=lambda m: (m.start, m.end))

    @staticmethod
    def _merge_same_activity(view: DocView, found: dict) -> None:
        """One activity with several partners is one partnership: "A runs a scheme with
        funding from B and in cooperation with C", "A opened accounts under an agreement
        with B, with technical support from C" (same subject, same clause, same status)."""
        mentions = sorted(found.values(), key=lambda m: (m.cue_start, m.cue_end))
        for i, first in enumerate(mentions):
            # "A and B jointly opened X, with the support of C": C joins the pair too
            if first.kind not in ("with", "by", "verb", "joint") or not first.parties:
                continue
            clause = view.clause_bounds(first.cue_start, first.cue_end)
            for other in mentions[i + 1:]:
                if other.kind not in ("with", "by", "verb") or not other.parties or \
                        other.sentence != first.sentence or other.status != first.status or \
                        other.parties[0].key != first.parties[0].key and not (
                            first.kind == "joint" and other.parties[0].key in first.keys) or \
                        view.clause_bounds(other.cue_start, other.cue_end) != clause or \
                        first.keys.isdisjoint(other.keys) or first.keys == other.keys:
                    continue
                if not _adverbial(view, other) or (
                        not _adverbial(view, first)
                        and view.folded(other.cue_start - 1) == "and"):
                    # "receives funding from B and works with C", "works with B, ..., and
                    # with C": two activities; "works with B, with funding from C": one
                    continue
                found.pop(other.keys, None)
                found.pop(first.keys, None)
                if first.kind == "joint":
                    first.kind = other.kind  # the cue that names the third party
                keys = {p.key for p in first.parties}
                first.parties = first.parties + [p for p in other.parties if p.key not in keys]
                first.implicit = first.implicit + [p for p in other.implicit
                                                   if p not in first.implicit]
                sectors = {p.sector for p in first.parties} | {
                    p.get("sector") for p in first.implicit}
                sectors.discard(None)
                first.type = partnership_type(sectors)
                first.start, first.end = min(first.start, other.start), max(first.end, other.end)
                found[first.keys] = first
                other.parties = []

    @staticmethod
    def _join_tied_clauses(view: DocView, found: dict) -> None:
        """A later clause whose one actor does something for the pair's activity or its
        people joins the pair's partnership ("A and B run a traineeship, and C selects the
        trainees", "...; C pays for the centre's interpreters", "... C sends volunteers to its
        classes"): one activity, every party in it. A clause that only serves the same people
        ("C offers them lodging", "C trains some of them") does not."""
        owner: dict[int, tuple[PartnershipMention, ActorMention]] = {}
        for mention in found.values():
            if len(mention.parties) < 2 or mention.status != "existing":
                continue
            for joiner in _tied_subjects(view, mention):
                known = owner.get(joiner.start)
                if known is None or known[0].end < mention.end:
                    owner[joiner.start] = (mention, joiner)
        for mention, joiner in sorted(owner.values(), key=lambda pair: pair[1].start):
            if mention.keys not in found or found[mention.keys] is not mention:
                continue
            keys = mention.keys | {joiner.key}
            for other in list(found.values()):
                if other is not mention and joiner.key in other.keys and other.keys <= keys:
                    found.pop(other.keys, None)
            found.pop(mention.keys, None)
            mention.parties = mention.parties + [joiner]
            sectors = {p.sector for p in mention.parties} | {
                p.get("sector") for p in mention.implicit}
            sectors.discard(None)
            mention.type = partnership_type(sectors)
            mention.end = max(mention.end, joiner.end)
            found[mention.keys] = mention

    def _cues(self, view: DocView) -> list[tuple[int, int, str]]:
        """The cue list's matches, and patterns around them: actors listed together doing
        something ("X and Y opened a centre"), "<something run> ... operated by Y" after a
        verb of running, "<a scheme> with Y", a text opening "With Y, ...", "signed an
        agreement in 2012 with Y", "donations of food from Y"."""
        cues = [(s, e, data[1]) for s, e, data in view.longest("pcue")]
        taken = {i for s, e, _ in cues for i in range(s, e)}

        def add(s, e, kind):
            cues.append((s, e, kind))
            taken.update(range(s, e))

        for group_name in ("init_run_verbs", "joint_verb"):
            for s, e, _ in view.groups.get(group_name, ()):
                last = None if s in taken else self._subject_end(view, s)
                if last is None:
                    continue
                group = self._group_ending(view, last)
                if len({a.key for a in group}) >= 2 and (
                        group_name == "init_run_verbs" or self._listed(view, group)):
                    add(s, e, "joint")
        for s, e, _ in view.groups.get("transfer_verb", ()):
            if s not in taken and self._receiver_after(view, e):
                add(s, e, "verb")
        for _, e, _ in view.groups.get("through_verb", ()):
            through = self._through_partner(view, e)
            if through is not None and through not in taken:
                add(through, through + 1, "with")
        run_verbs = view.groups.get("init_run_verbs", ())
        for s, e, _ in view.groups.get("init_by_verbs", ()):
            clause_start, clause_end = view.clause_bounds(s, e)
            if s not in taken and any(clause_start <= rs and re_ < s for rs, re_, _ in run_verbs):
                add(s, e, "by")
            elif s not in taken and len({a.key for a in view.coordinated(
                    e, clause_end)[0]}) >= 2:
                # "a centre run (jointly) by A and B": the agents run it together
                cues[:] = [c for c in cues if not (s <= c[0] and c[1] <= e)]
                add(s, e, "between")
        for _, e, _ in view.groups.get("init_lower_heads", ()):
            if e < view.length and view.folded(e) == "with" and e not in taken:
                add(e, e + 1, "with")
        for _, e, _ in [*run_verbs, *view.groups.get("init_start_verbs", ()),
                        *view.groups.get("joint_verb", ())]:
            # "plans to open a one-stop shop with the Lithuanian Red Cross"
            with_at = self._with_partner_after(view, e)
            if with_at is not None and with_at not in taken:
                add(with_at, with_at + 1, "with")
        for s, e, kind in list(cues):
            if kind != "with" or view.folded(e - 1) != "with":
                continue
            # "works with X, which runs two centres, and with Y": a second partnership
            sent_end = view.sentence_bounds(int(view.sent[s]))[1]
            relative = False
            for k in range(e + 1, min(sent_end - 2, e + 20)):
                if view.shape[k] == COMMA and view.folded(k + 1) in ("which", "who", "where"):
                    relative = True
                elif relative and view.shape[k] == COMMA and view.folded(k + 1) == "and" and \
                        view.folded(k + 2) == "with" and k + 2 not in taken:
                    add(k + 2, k + 3, "with")
                    break
        for start in view.sentence_starts:
            if start < view.length and view.folded(start) == "with" and start not in taken and (
                    view.actor_at(start + 1) is not None or (
                        start + 2 < view.length and view.folded(start + 1) == "the"
                        and view.actor_at(start + 2) is not None)):
                add(start, start + 1, "with")
        for group, kind, word in (("agreement", "with", "with"), ("funding", "by", "from")):
            for s, e, _ in view.groups.get(group, ()):
                for k in range(e, min(view.length, e + 6)):
                    if view.shape[k] == COMMA or view.actor_at(k) is not None:
                        break
                    if view.folded(k) == word:
                        if k not in taken:
                            add(k, k + 1, kind)
                        break
                if group == "agreement" and s not in taken and any(
                        view.folded(k) in ("signed", "sign", "signs")
                        for k in range(max(0, s - 3), s)):
                    add(s, e, "joint")
        cues.sort()
        return cues

    @staticmethod
    def _through_partner(view: DocView, verb_end: int) -> int | None:
        """The "through" of "hired 60 refugees through Y" (a few words on, in the clause,
        with no named actor between), or the "from" of "takes refugees from Y on as interns",
        when a named actor follows it."""
        clause_end = view.clause_bounds(verb_end - 1, verb_end)[1]
        for k in range(verb_end, min(clause_end - 1, verb_end + 10)):
            if view.actor_at(k) is not None and not view.actor_at(k).generic:
                return None
            if view.folded(k) == "with" and view.folded(k + 1) in ("them", "us"):
                return k  # "places students with them": whom, _one decides
            if view.folded(k) in ("through", "from") or (
                    view.folded(k) == "at" and workplace_after(view, k + 1)):
                j = k + 1 + (view.folded(k + 1) == "the")
                partner = view.actor_at(j)
                named = partner is not None and partner.start == j and not partner.generic
                return k if named else _branch_owner(view, k + 1, clause_end)
        return None

    @staticmethod
    def _receiver_after(view: DocView, verb_end: int) -> bool:
        """A named receiver right after a verb of paying or giving, then "to <verb>" or what
        it is given ("pays the Hunar Foundation, a charity, to teach", "gave X a building")."""
        j = verb_end + (verb_end < view.length and view.folded(verb_end) == "the")
        if j + 1 < view.length and view.folded(j) in ("them", "us", "their", "our") and \
                view.shape[j + 1] == LOWER and view.sent[j + 1] == view.sent[verb_end]:
            return True  # "gives them classrooms", "pays their lawyers": whom, _one decides
        receiver = view.actor_at(j) if j < view.length else None
        if receiver is None or receiver.start != j or receiver.generic:
            return False
        k = receiver.end
        if k < view.length and view.shape[k] == COMMA:  # past an apposition
            close = k + 1
            while close < view.length and close - k < 12 and view.shape[close] != COMMA:
                close += 1
            k = close + 1
        if k + 1 >= view.length or view.sent[k] != view.sent[verb_end]:
            return False
        return (view.folded(k) == "to" and view.shape[k + 1] == LOWER) or view.folded(k) in (
            "a", "an", "its", "their")

    @staticmethod
    def _through_initiatives(view: DocView, initiatives) -> list[PartnershipMention]:
        """Who runs or funds an initiative works with the actor that owns it: "X supports the
        Y mentoring programme of Z", "through Y, the employment programme of Z", "X co-funds Y,
        which Z plans to open"."""
        found = []
        for initiative in initiatives:
            if not initiative.actors or not initiative.counts:
                continue
            owners = _owners_after(view, initiative.end)
            keys = {a.key for a in initiative.actors}
            owners = [a for a in owners if not a.generic and a.key not in keys]
            if not owners:
                continue
            parties = list(initiative.actors) + owners
            tokens = [initiative.start] + [p.start for p in parties] + [p.end for p in parties]
            found.append(PartnershipMention(
                parties, partnership_type({p.sector for p in parties}), initiative.status,
                initiative.start, initiative.end, "verb", initiative.sentence, min(tokens),
                max(tokens)))
        return found

    @staticmethod
    def _with_partner_after(view: DocView, verb_end: int) -> int | None:
        """A "with" a few words after a verb of running or starting, before a named actor and
        with no named actor in between: whom the thing is run with."""
        sent_end = view.sentence_bounds(int(view.sent[verb_end - 1]))[1]
        for k in range(verb_end, min(sent_end - 1, verb_end + 8)):
            if view.shape[k] == COMMA or k in view.terminator_at:
                return None
            if view.folded(k) == "with":
                if any(a.end > verb_end and a.start < k and not a.generic for a in view.actors):
                    return None
                j = k + 1 + (view.folded(k + 1) == "the")
                partner = view.actor_at(j) if j < sent_end else None
                if partner is not None and partner.start == j and not partner.generic:
                    return k
                return None
        return None

    @staticmethod
    def _subject_end(view: DocView, verb: int) -> ActorMention | None:
        """The actor right before a verb, past adverbs and one apposition ("X and Nutrien, the
        fertiliser company, have launched")."""
        k = verb
        while k > 0 and verb - k < 3 and (view.folded(k - 1) in _ADVERBS
                                          or view.shape[k - 1] == COMMA):
            k -= 1
        if k > 2 and view.shape[k - 1] == CLOSE and view.shape[k - 3] == OPEN:
            k -= 3  # "X and the Ministry of Y (MHAVE) built": past the bracketed acronym
        if k > 0 and view.actor_at(k - 1) is None and view.shape[k] == COMMA:
            opening = k - 2
            while opening > 0 and k - opening < 10 and view.shape[opening] != COMMA:
                opening -= 1
            if view.shape[opening] == COMMA and view.folded(opening + 1) in ("the", "a", "an"):
                k = opening
                if k > 2 and view.shape[k - 1] == CLOSE and view.shape[k - 3] == OPEN:
                    k -= 3  # "X and Y (YA), a Kurdish NGO, manage"
        last = view.actor_at(k - 1) if k > 0 else None
        if last is None or last.end != k or int(view.sent[last.start]) != int(view.sent[verb]):
            return None
        return last

    @staticmethod
    def _listed(view: DocView, group: list[ActorMention]) -> bool:
        """A list that is the clause's subject, each member joined to the next by "and", "&"
        or a comma ("X and Y give loans"), not by an article ("a language school the group
        hires") or as an apposition ("METAdrasi, a Greek NGO, trains")."""
        if after_preposition(view, group[0].start):
            return False  # "gave laptops to X, and Y trains": X is no subject
        return all(any(view.folded(k) in ("and", "&") or (
            view.shape[k] == COMMA and view.folded(k + 1) not in ("a", "an"))
            for k in range(first.end, second.start)) for first, second in pairwise(group))

    @staticmethod
    def _group_ending(view: DocView, last: ActorMention) -> list[ActorMention]:
        """The actors listed together that end with `last` ("A, B and C")."""
        group = [last]
        i = last.start - 1
        while i >= 0:
            skip_to = _aside_before(view, i)
            if skip_to is not None:
                i = skip_to
                continue
            if view.shape[i] == COMMA or view.consumed[i] or view.folded(i) in (
                    "and", "&", "the", "together", "with", "as", "well", "a", "an"):
                i -= 1
                continue
            actor = view.actor_at(i)
            if actor is None:
                actor = _owner_of_place(view, i) or _possessor_of(view, i)
            if actor is None or int(view.sent[actor.start]) != int(view.sent[last.start]):
                break
            group.insert(0, actor)
            i = actor.start - 1
        return group

    def _one(self, view: DocView, s: int, e: int, kind: str, initiatives):
        relative = _relative_subject(view, s)
        if kind == "joint" and relative is not None:
            kind = "verb"  # "a centre, which the state co-finances": the state funds its runners
        clause_start, clause_end = view.clause_bounds(s, e)
        region = clause_start
        attribution: list[ActorMention] = []
        reported = False
        for rs, re_, _ in view.groups.get("report", ()):
            if clause_start <= rs and re_ <= s:
                if view.actors_in(region, rs):
                    attribution = view.actors_in(region, rs)[:1]
                    reported = True
                region = re_
        if not attribution:
            sent_start = view.sentence_bounds(int(view.sent[s]))[0]
            attribution = [a for a in view.actors_in(sent_start, region) if not a.generic][:1]
        right: list[ActorMention] = []
        stop = e
        object_end = self._next_reported_clause(view, e, clause_end)
        if kind in ("with", "by", "between", "verb"):
            right, stop = view.coordinated(e, object_end, skip_first=4 if kind != "verb" else 6)
            if kind == "verb" and not right:
                # "funds the 'X' initiative, a coalition of ..., run by Y": objects further on
                right = [a for a in view.actors_in(e, self._object_end(view, e, object_end))]
        subject = self._subject(view, region, s, kind, initiatives)
        if kind == "between":
            parties = right
        elif kind == "joint":
            parties = subject
            if len(parties) < 2:
                parties = subject + [a for a in view.actors_in(region, s) if a not in subject]
            if len(parties) < 2:
                parties = parties + right
        else:
            possessive = e - 1 if view.folded(e - 1) in ("its", "their") else (
                e if e < clause_end and view.folded(e) in ("its", "their") else None)
            if possessive is not None and attribution and subject and \
                    attribution[0].key not in {a.key for a in subject}:
                # "X's respondent said that Y funded its clinic": its = the reporting X
                right = [a for a in right if not (a.generic and a.start - possessive <= 3)]
                right = attribution + right
            if reported and self._speaker_subject(view, region, s):
                subject = list(attribution)
            if reported and kind != "joint" and (not right or any(
                    view.folded(k) in ("them", "us") for k in range(s, min(e + 1, object_end))
            )) and self._speaker_object(view, s, e, object_end):
                # "lets them hold clinics": the pronoun is the object, whatever follows
                right = [a for a in attribution if a.key not in {p.key for p in subject}]
            if not subject and kind == "by" and (s in view.sentence_starts
                                                 or s - 1 in view.sentence_starts):
                # "With funding from X, A and B provide ...": the main clause's subject
                sent_end = view.sentence_bounds(int(view.sent[s]))[1]
                k = right[-1].end if right else e
                while k < sent_end and view.shape[k] != COMMA:
                    k += 1
                if k + 1 < sent_end:
                    subject, _ = view.coordinated(k + 1, sent_end)
            if not subject and attribution:
                subject = attribution
            if not subject:
                subject = self._pronoun_antecedent(view, region, s)
            parties = subject + right
        if relative is not None and relative.key not in {p.key for p in parties}:
            parties = parties + [relative]
        parties = self._clean(view, parties)
        if kind == "verb" and not right and len(parties) == 1 and not parties[0].generic and (
                "its" in (view.folded(e - 1), view.folded(min(e, clause_end - 1)))
                or self._opens_with_object(view, parties[0], e, clause_end)):
            # "X runs schools for refugee children. Y funds its youth programme.", "X offers
            # classes. Y pays for the teachers.", "... Y lends it rooms."
            parties = self._opening_group(view, int(view.sent[s]) - 1) + parties
            parties = self._clean(view, parties)
        if len({p.key for p in parties}) == 1 and attribution and kind != "between" and \
                attribution[0].key not in {p.key for p in parties}:
            opener = attribution[0].start
            if opener > 0 and view.folded(opener - 1) == "the":
                opener -= 1
            sent_start = view.sentence_bounds(int(view.sent[s]))[0]
            if not reported and all(view.shape[k] == LOWER or k == sent_start
                                    for k in range(sent_start, opener)):
                # "Meat processor X and Y run ...; Z supplies the teachers"
                # "X and Y give courses; Z pays for the materials": the opening pair
                attribution = view.coordinated(attribution[0].start, region, 0)[0]
            parties = attribution + parties
        implicit = []
        speaker = view.context.get("speaker")
        if speaker and kind != "between" and not subject and right and not any(
                (speaker.get("registry_id") and p.registry_id == speaker.get("registry_id"))
                or p.canonical == speaker.get("name") for p in parties):
            implicit.append(speaker)  # never a partnership of the speaker with itself
        if len({p.key for p in parties}) + len(implicit) < 2:
            return None
        status = self._status(view, s, e, clause_start, max(stop, e), region)
        if status is None:
            return None
        if any(view.folded(i) in _PUBLIC_MONEY_WORDS for i in range(s, e)):
            # a funder that is a public body, a foundation, an NGO or an IO funds no brand
            if kind == "by" and right and all(_not_business(p) for p in right):
                _funded_by_the_state(subject)
            elif kind == "verb" and subject and all(_not_business(p) for p in subject):
                _funded_by_the_state(right)  # "the Basque Government finances X's places"
        sectors = {p.sector for p in parties} | {p.get("sector") for p in implicit}
        sectors.discard(None)
        tokens = [s, e] + [p.start for p in parties] + [p.end for p in parties]
        mention = PartnershipMention(parties, partnership_type(sectors), status, s, e, kind,
                                     int(view.sent[s]), min(tokens), max(tokens), implicit)
        return mention

    @staticmethod
    def _next_reported_clause(view: DocView, e: int, clause_end: int) -> int:
        """Where the next "and that" / ", that" clause starts: another statement ("said that
        Y pays for the beds and that they work with Z": Z is no object of "pays")."""
        for k in range(e + 1, clause_end):
            if view.folded(k) == "that" and (view.folded(k - 1) == "and"
                                             or view.shape[k - 1] == COMMA):
                return k - 1
        return clause_end

    @staticmethod
    def _speaker_subject(view: DocView, region: int, cue: int) -> bool:
        """A reported clause whose subject is "they" or "we" before the cue, no actor between
        ("the director of X said that they work closely with Y", "... that we have a
        memorandum with Y"): in an interview summary, the reporting organisation."""
        k = cue - 1
        while k >= region and view.actor_at(k) is None and view.shape[k] != COMMA and \
                view.folded(k) not in ("that", "they", "we"):
            k -= 1
        return k >= region and view.folded(k) in ("they", "we")

    @staticmethod
    def _speaker_object(view: DocView, s: int, e: int, clause_end: int) -> bool:
        """An object pronoun in or just after the cue, no actor named ("Y funds them", "Y
        seconds a caseworker to them", "Y lets us use", "Y finances two of their coaches"):
        in a reported clause, the reporting organisation."""
        for k in range(s, min(clause_end, e + 6)):
            if k >= e and view.actor_at(k) is not None:
                return False
            if view.folded(k) in ("them", "us", "their", "our"):
                return True
        return False

    @staticmethod
    def _opens_with_object(view: DocView, party: ActorMention, e: int, clause_end: int) -> bool:
        """A sentence that opens with its one actor and gives a thing or pays for one, with no
        other actor: "Y pays for the teachers", "Y lends it rooms" (what the sentence before
        runs)."""
        opener = view.sentence_bounds(party.sentence)[0]
        if party.start - opener > 1 or e >= clause_end:
            return False
        if view.folded(e) in ("it", "them"):
            return True
        return view.folded(e) in ("the", "a", "an") and e + 1 < clause_end and \
            view.shape[e + 1] == LOWER and view.actor_at(e + 1) is None

    @staticmethod
    def _pronoun_antecedent(view: DocView, region: int, cue: int) -> list[ActorMention]:
        """ "X runs workshops. It works with Y", "They receive funding from Y", "Its partners
        include Y": a pronoun subject is the first actor named in the sentence before."""
        k = region
        while k < cue and (view.shape[k] == COMMA or view.folded(k) in ("and", "also", "now")):
            k += 1
        pair = k + 1 < cue and (  # "The two organisations received", "Both partners"
            (view.folded(k) == "the" and view.folded(k + 1) in ("two", "partners"))
            or (view.folded(k) == "both" and view.folded(k + 1) in _PAIR_NOUNS))
        if k >= cue or not (pair or view.folded(k) in _PRONOUNS) or any(
                not after_preposition(view, a.start, _PARTNER_WORDS)
                for a in view.actors_in(region, cue)):
            return []  # "It receives funding from X and works with Y": X is no subject
        sentence = int(view.sent[k])
        for previous in range(sentence - 1, max(-1, sentence - 3), -1):
            start, end = view.sentence_bounds(previous)
            named = [a for a in view.actors_in(start, end) if not a.generic or a.refers_to]
            if pair and len({a.key for a in named}) >= 2:
                first, _ = view.coordinated(named[0].start, end, skip_first=0)
                if len({a.key for a in first}) == 2:
                    return first
                return []
            if named and not pair:
                return named[:1]
        return []

    @staticmethod
    def _opening_group(view: DocView, sentence: int) -> list[ActorMention]:
        """The named actors a sentence opens with ("The Edhi Foundation and the Sindh Labour
        Department ..."), none when it opens otherwise."""
        if sentence < 0:
            return []
        start, end = view.sentence_bounds(sentence)
        while start < end and view.folded(start) in ("the", "a", "an"):
            start += 1
        first = view.actor_at(start)
        if first is None or first.start != start or first.generic:
            return []
        return [a for a in view.coordinated(start, end, 0)[0] if not a.generic]

    @staticmethod
    def _object_end(view: DocView, start: int, clause_end: int) -> int:
        for i in range(start, clause_end - 1):
            if view.shape[i] == COMMA and view.folded(i + 1) in ("and", "but") and \
                    view.actor_at(i + 2) is None and view.actor_at(i + 3) is None:
                return i
        return clause_end

    def _subject(self, view: DocView, region: int, cue: int, kind: str, initiatives
                 ) -> list[ActorMention]:
        # a passive agent is the subject: "is run by the county's public health department
        # together with ..." (not an aside between commas: "X, run by Y, receives ...")
        aside: list[ActorMention] = []
        for s, e, _ in view.groups.get("init_by_verbs", ()):
            if region <= s and e <= cue and not any(
                    view.folded(k) == "that" for k in range(e, cue)):  # "and that X donated"
                agents, _ = view.coordinated(e, cue)
                if not (s > 0 and view.shape[s - 1] == COMMA):
                    if agents:
                        return agents
                elif not aside:
                    aside = agents
        before = view.actors_in(region, cue)
        candidates = [a for a in before if not after_preposition(view, a.start)] or [
            a for a in before if not after_preposition(view, a.start, _PARTNER_WORDS)]
        if not candidates:
            # "The programme, implemented by X and financed by Y": with no actor as the
            # subject, the agent of the aside runs what Y funds
            return aside if kind == "by" else []
        opener = candidates[0]
        for actor in candidates[1:]:  # "..., and the Foundation trains ...": a new subject
            before = actor.start - 1
            while before > region and view.folded(before) in ("the", "a", "an"):
                before -= 1
            if before > region and view.shape[before] == COMMA:
                # "... and that a mobile operator, Play, donated": past a fronted description
                k = before - 1
                while k > region and before - k <= 5 and view.shape[k] == LOWER and \
                        view.folded(k) not in ("that", "and"):
                    k -= 1
                if view.folded(k) == "that" and before - k > 1:
                    before = k
            if before > region and (
                    view.folded(before) == "that"
                    or (view.folded(before) == "and" and view.shape[before - 1] == COMMA)):
                opener = actor
        while opener.end < view.length and view.text(opener.end) in ("'s", "\u2019s"):
            # a name owned by another acts for itself ("Reykjavík City's Welfare Department")
            owned = view.actor_at(opener.end + 1)
            if owned is None or owned.start >= cue:
                break
            opener = owned
        first, _ = view.coordinated(opener.start, cue, skip_first=0)
        subject = [a for a in first if not (a.end < view.length and view.text(a.end) in (
            "'s", "\u2019s"))] or first
        # what is funded may be an initiative run by someone: "the X programme, run by Y,
        # is funded by Z" -> Y
        if kind == "by" and not subject:
            for initiative in initiatives:
                if region <= initiative.start < cue and initiative.actors:
                    return list(initiative.actors)
        return subject

    @staticmethod
    def _clean(view: DocView, parties: list[ActorMention]) -> list[ActorMention]:
        """One mention per actor; a generic group dropped when its members are named ("partner
        employers such as RBC and Deloitte"); owners of a named part dropped."""
        unique: list[ActorMention] = []
        keys: set[str] = set()
        named = [p for p in parties if not p.generic]
        for party in parties:
            if party.generic and not party.refers_to and any(
                    (0 < n.start - party.end <= 3
                     and view.in_group("member", party.end, n.start))
                    or n.start == party.end for n in named):
                continue  # "employers such as X", "the language school X": X is the party
            if party.key in keys:
                continue
            keys.add(party.key)
            unique.append(party)
        return unique

    def _status(self, view: DocView, s: int, e: int, clause_start: int, stop: int, region: int
                ) -> str | None:
        clause_end = view.clause_bounds(s, e)[1]
        cues = status_cues_in(view, clause_start, but_clause_end(view, clause_end))
        inside = status_cues_in(view, clause_start, stop)
        for ns, _ne in inside.get("negated", ()):
            if view.actor_at(ns) is not None:
                continue  # "Doctors Without Borders": a word of a name negates nothing
            if max(region, s - 6) <= ns < s or s <= ns < e:
                return None
        if any(region <= ds < s or clause_start <= ds < s for ds, _ in inside.get("desired", ())):
            return "desired"
        if cues.get("ended") or year_ended(view, clause_start, but_clause_end(view, clause_end)):
            return "ended"
        if inside.get("planned"):
            return "planned"
        return "existing"
