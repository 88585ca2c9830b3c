"""Narrowing a re-code to the segments a codebook change can touch.

When the only matching change between the codebook that coded a segment and the current one
is in the patterns of some codes (a phrase added, a token pattern fixed, a new code with
patterns), a segment where none of those codes' old or new patterns match gets exactly the
same codings under both: every other code matches as before, and rules, cues and context
only act on what matched. Such segments are not coded again; their coding state (and the
codebook version of their codings) moves to the new codebook. Whether a pattern matches is
decided by the coder's own tokenizer, lemmatizer and ruler, run on a codebook holding just
the changed codes' old and new patterns; any other kind of change (rules, cues, context,
lemmatizer, hierarchy, removed codes, another coder version) re-codes every segment.
"""

from __future__ import annotations

import copy

from pipeline.codebook.diff import matching_content

OLD_PREFIX = "previous"


def _codes_by_id(content: dict) -> dict[str, dict]:
    return {c["id"]: c for c in content.get("codes") or []}


def changed_pattern_codes(old: dict, new: dict) -> set[str] | None:
    """Codes whose patterns alone differ between two codebook documents, or None when
    anything else that decides codings differs too."""
    old_content, new_content = matching_content(old), matching_content(new)
    old_codes, new_codes = _codes_by_id(old_content), _codes_by_id(new_content)
    if set(old_codes) - set(new_codes):
        return None  # removed codes
    old_order = [c for c in new_codes if c in old_codes]
    if old_order != list(old_codes):
        return None  # reordered codes
    changed = set()
    for code_id, code in new_codes.items():
        before = old_codes.get(code_id)
        if before is None:
            if code.get("derive") or code.get("kind") not in ("subcode", "challenge") \
                    or code.get("retired"):
                return None
            if code.get("patterns"):
                changed.add(code_id)
            continue
        rest_before = {k: v for k, v in before.items() if k != "patterns"}
        rest_after = {k: v for k, v in code.items() if k != "patterns"}
        if rest_before != rest_after:
            return None
        if before.get("patterns") != code.get("patterns"):
            changed.add(code_id)
    strip = {k: v for k, v in new_content.items() if k != "codes"}
    if strip != {k: v for k, v in old_content.items() if k != "codes"}:
        return None
    return changed or None


def probe_codebook(old: dict, new: dict, codes: set[str]) -> dict:
    """A codebook document holding only the old and new patterns of `codes` (and the
    parents they need), with no rules: what the ruler matches with it marks candidates."""
    data = copy.deepcopy({k: v for k, v in new.items() if k not in ("codes", "rules",
                                                                     "changes")})
    new_codes, old_codes = _codes_by_id(new), _codes_by_id(old)
    kept = []
    for code in new.get("codes") or []:
        if code["kind"] in ("dimension", "challenge_group"):
            kept.append({k: code[k] for k in ("id", "kind", "label", "definition")})
    for code_id in sorted(codes):
        current = new_codes[code_id]
        base = {k: current[k] for k in ("id", "kind", "label", "definition", "parent")
                if k in current}
        kept.append(dict(base, patterns=copy.deepcopy(current.get("patterns") or [])))
        previous = (old_codes.get(code_id) or {}).get("patterns") or []
        if previous:
            patterns = []
            for pattern in copy.deepcopy(previous):
                pattern["id"] = f"{OLD_PREFIX}.{pattern['id']}"
                patterns.append(pattern)
            kept.append(dict(base, id=f"{code_id}.{OLD_PREFIX}", patterns=patterns))
    data["codes"] = kept
    data["rules"] = []
    data["changes"] = []
    return data


def matching_segments(old: dict, new: dict, codes: set[str],
                      texts: list[tuple[int, str]]) -> set[int]:
    """Ids of the (id, text) segments where an old or new pattern of `codes` matches."""
    from pipeline.codebook.load import build_codebook
    from pipeline.nlp.language import CODES_KEY
    from pipeline.nlp.normalise import normalise
    from pipeline.nlp.pipeline import pipeline_for

    probe = build_codebook(probe_codebook(old, new, codes), sha256="probe")
    nlp = pipeline_for(probe)
    keep = [name for name in nlp.pipe_names if name in ("cityqda_lemmatizer",
                                                        "cityqda_codes")]
    found = set()
    with nlp.select_pipes(enable=keep):
        prepared = ((normalise(text).text, segment_id) for segment_id, text in texts)
        for doc, segment_id in nlp.pipe(prepared, as_tuples=True, batch_size=512):
            if CODES_KEY in doc.spans and len(doc.spans[CODES_KEY]):
                found.add(segment_id)
    return found
