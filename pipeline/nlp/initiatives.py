"""Named initiatives: programmes, projects, plans, services, desks, centres, funds, campaigns,
courses, with the actors that run or fund them, their dimensions and their status.

A capitalised or quoted name is an initiative when its last word says so ("Fast Track",
"Refugee Week", "Adult Migrant English Program"), when a lower-case word after it does ("the
Papyrus operation"), when it is quoted, or when something is run, opened or funded under it
("runs the Integration Centre", "ActionNYC, launched by ..."); the actor recogniser decides
which names these are (`DocView.initiative_chunks`). Here each gets:

- actors: who runs or funds it: "X runs/launched/funds the Y", "Y, run by X", "X's Y", and
  partners named with it ("run jointly with A and B");
- dimensions: those of the coder's counted codings in the same clause, else the sentence;
- status: ended ("which ended in 2018", "until 2019", "between 2015 and 2018", "was
  discontinued"), planned (a plan or future cue with a starting verb: "will launch", "plans to
  open", "to be set up"), else existing. A wished initiative ("would like to open") is
  `hypothetical`, a denied one ("there is no") `negated`; neither counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.nlp.actors import CAP, COMMA, LOWER, NUM, QUOTE, DocView, is_year

_AUX = ("is", "was", "are", "were", "has", "have", "had", "been", "be", "being", "will")


@dataclass
class InitiativeMention:
    start: int
    end: int
    name: str
    sentence: int
    actors: list = field(default_factory=list)  # ActorMention, in order, unique by key
    dimensions: list[str] = field(default_factory=list)
    status: str = "existing"
    negated: bool = False
    hypothetical: bool = False
    cues: list[str] = field(default_factory=list)

    @property
    def counts(self) -> bool:
        return not (self.negated or self.hypothetical)


def status_cues_in(view: DocView, start: int, end: int) -> dict[str, list[tuple[int, int]]]:
    """Status cue matches in [start, end), the longest winning, by status; a capitalised
    word of a name is no cue ("the Latgale Planning Region")."""
    found: dict[str, list[tuple[int, int]]] = {}
    for s, e, status in view.longest("status", start, end):
        if view.shape[s] == CAP and status != "negated":
            actor = view.actor_at(s)
            if actor is not None and not actor.generic:
                continue
        found.setdefault(status, []).append((s, e))
    return found


def year_ended(view: DocView, start: int, end: int) -> bool:
    """ "until 2019", "between 2015 and 2018", "ended in 2012" mark something finished."""
    for i in range(start, min(end, view.length) - 1):
        word = view.folded(i)
        if word in ("until", "till") and view.shape[i + 1] == NUM and is_year(view.text(i + 1)):
            return True
        if word == "between" and i + 3 < end and is_year(view.text(i + 1)) \
                and view.folded(i + 2) in ("and", "to") and is_year(view.text(i + 3)):
            return True
    return False


def but_clause_end(view: DocView, clause_end: int) -> int:
    """The end of a following "but ..." or "; ..." clause (where an ending is often told)."""
    if clause_end >= view.length:
        return clause_end
    sent_end = view.sentence_bounds(int(view.sent[clause_end]))[1]
    if clause_end < sent_end and view.folded(clause_end) in ("but", "however", "yet", ";"):
        return view.clause_bounds(min(clause_end + 1, sent_end - 1), min(clause_end + 2,
                                                                       sent_end))[1]
    return clause_end


class InitiativeRecognizer:
    def __init__(self, cues):
        self.cues = cues

    def __call__(self, view: DocView, analysis=None, dimension_of=None
                 ) -> list[InitiativeMention]:
        found: list[InitiativeMention] = []
        seen: set[tuple[int, int]] = set()
        for chunk in sorted(view.initiative_chunks, key=lambda c: (c.start, c.end)):
            start, end = chunk.start, chunk.end
            if (start, end) in seen:
                continue
            seen.add((start, end))
            if view.folded(start) == "the" and end - start > 1:
                start += 1
            mention = InitiativeMention(start, end, view.span_text(start, end),
                                        int(view.sent[start]))
            mention.actors = self._actors(view, start, end)
            self._status(view, mention)
            mention.dimensions = self._dimensions(view, mention, analysis, dimension_of)
            found.append(mention)
        return found

    # -- who runs it ---------------------------------------------------------------------
    def _actors(self, view: DocView, start: int, end: int) -> list:
        clause_start, clause_end = view.clause_bounds(start, end)
        actors = []
        # "BRAC's Migration Programme", "Barcelona City Council's SAIER service"
        if start >= 2 and view.text(start - 1) in ("'s", "\u2019s", "'"):
            owner = view.actor_at(start - 2)
            if owner is not None:
                actors.append(owner)
        # "Y, run by X", "Y is funded by X and Z"
        k = end
        while k < clause_end and (view.shape[k] in (COMMA, QUOTE) or view.folded(k) in _AUX
                                  or view.shape[k] == LOWER and view.in_group(
                                      "init_lower_heads", k, k + 1)):
            k += 1
        for s, e, _ in view.groups.get("init_by_verbs", ()):
            if s == k or (s == k + 1 and view.folded(k) in ("jointly", "partly", "mainly")):
                agents, _ = view.coordinated(e, clause_end)
                actors.extend(agents)
        # "X runs the Y": the subject of a run verb before the name
        for s, e, _ in view.groups.get("init_run_verbs", ()):
            if clause_start <= s and e <= start and start - e <= 4:
                subject = self._subject(view, clause_start, s)
                actors.extend(subject)
                break
        # partners named with it: "run jointly with A and B", "funded by C"
        for s, e, data in view.groups.get("pcue", ()):
            if end <= s and e <= clause_end and s - end <= 6 and data[1] in ("with", "by"):
                partners, _ = view.coordinated(e, clause_end)
                actors.extend(partners)
        unique, keys = [], set()
        for actor in actors:
            if actor.key not in keys:
                keys.add(actor.key)
                unique.append(actor)
        return unique

    @staticmethod
    def _subject(view: DocView, clause_start: int, verb: int) -> list:
        """The actors before a verb in its clause, after any "X said" that reports it."""
        region = clause_start
        for s, e, _ in view.groups.get("report", ()):
            if clause_start <= s and e <= verb:
                region = e
        candidates = view.actors_in(region, verb)
        if not candidates:
            candidates = view.actors_in(clause_start, verb)
        if not candidates:
            return []
        first, _ = view.coordinated(candidates[0].start, verb, skip_first=0)
        # "The City of Vienna's Municipal Department": the department acts
        return [a for a in first if not (a.end < view.length and view.text(a.end) in (
            "'s", "\u2019s"))] or first

    # -- status and dimensions -----------------------------------------------------------
    def _status(self, view: DocView, mention: InitiativeMention) -> None:
        clause_start, clause_end = view.clause_bounds(mention.start, mention.end)
        cues = status_cues_in(view, clause_start, but_clause_end(view, clause_end))
        before = [c for c in cues.get("negated", ()) if mention.start - 3 <= c[0] < mention.start
                  and c[0] >= clause_start]
        if before:
            mention.negated = True
            mention.cues.append("negated")
        wishes = [c for c in cues.get("desired", ()) if clause_start <= c[0] < mention.start]
        starts = [s for group in ("init_start_verbs", "init_run_verbs")
                  for s, _, _ in view.groups.get(group, ()) if clause_start <= s < clause_end]
        plans = cues.get("planned", [])
        if wishes:
            mention.hypothetical = True
            mention.cues.append("hypothetical")
        if cues.get("ended") or year_ended(view, clause_start, but_clause_end(view, clause_end)):
            mention.status = "ended"
        elif plans and (starts or any(view.folded(p[0]) in ("next", "from", "in")
                                      for p in plans)):
            mention.status = "planned"
        elif any(m.planned for m in self._mentions_in(view, clause_start, clause_end)):
            mention.status = "planned"

    def _dimensions(self, view, mention, analysis, dimension_of) -> list[str]:
        if analysis is None or dimension_of is None:
            return []
        from pipeline.codebook.model import DIMENSION_ORDER

        order = {d: i for i, d in enumerate(DIMENSION_ORDER)}
        clause_start, clause_end = view.clause_bounds(mention.start, mention.end)
        sent_start, sent_end = view.sentence_bounds(mention.sentence)
        for low, high in ((clause_start, clause_end), (sent_start, sent_end)):
            dims = {dimension_of.get(m.code) for m in self._mentions_in(view, low, high, analysis)
                    if m.kind == "dimension" and (m.counts or m.planned)}
            dims.discard(None)
            if dims:
                return sorted(dims, key=lambda d: (order.get(d, len(order)), d))
        return []

    @staticmethod
    def _mentions_in(view, low, high, analysis=None):
        analysis = analysis if analysis is not None else view.context.get("_analysis")
        if analysis is None:
            return []
        return [m for m in analysis.mentions if low <= m.start and m.end <= high]
