"""Build `ft_words.json`: English words where an ``ft`` reading beats an ``st`` reading.

U+FB05 is the *long s + t* ligature, and NFKC turns it into ``st``. In modern English
transcripts it almost always comes from a font's ``ft`` ligature that a PDF or OCR step
encoded as U+FB05 ("aﬅer", "leﬅ"), so reading it as ``st`` corrupts words. The
normaliser reads the word both ways and keeps ``ft`` when the ``ft`` word is listed here.

The list is derived from spaCy's English word probabilities (spacy-lookups-data, MIT):
every lower-case word containing ``ft`` that is more probable than the word with that
``ft`` replaced by ``st``. Regenerate with ``python -m pipeline.ingest.ligature_words``.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("ft_words.json")
MIN_LOG_PROB = -18.0


def build_ft_words() -> list[str]:
    import spacy_lookups_data

    source = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        probs = json.load(handle)
    words = set()
    for word, prob in probs.items():
        if prob < MIN_LOG_PROB or "ft" not in word or not re.fullmatch(r"[a-z]+", word):
            continue
        for match in re.finditer("ft", word):
            alternative = word[:match.start()] + "st" + word[match.end():]
            if probs.get(alternative, -99.0) < prob:
                words.add(word)
                break
    return sorted(words)


if __name__ == "__main__":
    OUTPUT.write_text(json.dumps(build_ft_words(), indent=0) + "\n", encoding="utf-8")
    sys.stderr.write(f"wrote {OUTPUT}\n")
