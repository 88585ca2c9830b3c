"""Tagging throughput against the bare spaCy tokenizer on the same text.

    python benchmarks/bench_tag_speed.py [--words 1000000] [--seed 7] [--naive-share 20]
        [--profile]

Generates a corpus of interview-summary and policy-report paragraphs from a seeded phrase
grammar (initiatives, negations, plans, problems, background), then times, on one core:
the bare `spacy.blank("en")` tokenizer, the coder's spaCy pipeline (`nlp.pipe`), the
`Tagger` with codes only (normalisation, pipeline and the output objects), and the full
`Tagger` that `cityqda tag` uses (codes plus actors, initiatives and partnerships), and
the naive baseline: one compiled regular expression per codebook keyword over each text
(what a team writes in pandas; slow, so timed on --naive-share per cent of the corpus).
Words are whitespace-separated tokens of the input text; times are CPU seconds of the
process (one core), best of --repeat runs.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CITIES = ["Lyon", "Toronto", "Kampala", "Bogotá", "Athens", "Osaka", "Leipzig", "Quito",
          "Dakar", "Glasgow", "Medellín", "Gothenburg", "Tunis", "Denver", "Porto", "Seoul"]
ACTORS = ["the municipality", "the city council", "a local NGO", "the settlement agency",
          "the chamber of commerce", "a refugee-led association", "the regional government",
          "the company", "a faith-based charity", "the district office", "UNHCR", "the library"]
VERBS = ["runs", "offers", "funds", "organises", "provides", "coordinates", "supports",
         "has set up", "operates", "finances"]
SERVICES = ["free language courses", "English conversation circles", "a job placement desk",
            "vocational training in catering", "legal advice on residence permits",
            "emergency accommodation", "a homework club for refugee children",
            "psychosocial counselling", "a business incubator for migrant entrepreneurs",
            "microloans and financial literacy workshops", "an intercultural festival",
            "football tournaments", "a migrant advisory council", "help with family reunification",
            "anti-discrimination workshops", "interpreters at health centres",
            "a welcome desk for newcomers", "rent subsidies", "citizenship classes"]
GROUPS = ["refugees", "asylum seekers", "newly arrived migrants", "undocumented workers",
          "migrant women", "young newcomers", "families with children", "returnees"]
PROBLEMS = ["Housing remains the most pressing problem",
            "Many newcomers do not speak the language",
            "Funding has been cut twice since 2012",
            "Discrimination in the rental market is common",
            "Nobody has evaluated the programme", "Organisations rarely share information",
            "Waiting lists for courses are long", "Employers are reluctant to hire refugees"]
NEGATIONS = ["There is no", "The city does not offer any", "There are hardly any",
             "The region no longer funds", "Few organisations provide"]
HYPOTHETICALS = ["would like to open", "should create", "is considering", "recommended",
                 "hopes to expand"]
PLANS = ["will launch", "is setting up", "plans to open"]
OPENERS = ["The respondent explained that", "According to the interviewee,", "She said that",
           "He noted that", "The report states that", "In {city},", "Since 2015,"]
BACKGROUND = [
    "The interview took place in {city} in {month} {year} and lasted about an hour.",
    "The population of {city} grew by {n} per cent between {year} and 2013.",
    "Most newcomers arrive from neighbouring countries and settle near the old town.",
    "The organisation has {n} staff and about {m} volunteers, most of them retired teachers.",
    "The respondent has worked in the sector for {n} years and knows most of the actors.",
    "In her view, the political climate has become more tense since the last elections.",
    "He described the city as open, but said that attitudes differ between districts.",
    "The respondent could not give exact figures for {year}.",
    "According to official data, about {n} per cent of residents were born abroad.",
    "She pointed out that the situation changed quickly after {year}.",
    "The office is located in the city centre, close to the main railway station.",
    "Many families move on to other cities after a few years.",
    "The respondent believes that the national debate shapes what happens locally.",
    "He added that the city is proud of its long history of migration.",
    "The director was trained as an economist and joined the organisation in {year}.",
    "The interviewee preferred not to comment on the national elections.",
]
OPINIONS = ["the topic is important for the city", "things have improved in recent years",
            "the municipality listens more than before", "the press often exaggerates",
            "the situation in {city} is better than elsewhere"]
MONTHS = ["June", "July", "August", "September", "October"]


def sentence(rng: random.Random) -> str:
    """One sentence; the mix gives about as many codes per word as the sample study."""
    city = rng.choice(CITIES)
    kind = rng.random()
    opener = rng.choice(OPENERS).format(city=city)
    if kind < 0.18:
        text = (f"{opener} {rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(SERVICES)} "
                f"for {rng.choice(GROUPS)}")
    elif kind < 0.24:
        text = f"{rng.choice(NEGATIONS)} {rng.choice(SERVICES)} for {rng.choice(GROUPS)}"
        if rng.random() < 0.3:
            text += f", but {rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(SERVICES)}"
    elif kind < 0.29:
        text = f"{opener} {rng.choice(ACTORS)} {rng.choice(HYPOTHETICALS)} {rng.choice(SERVICES)}"
    elif kind < 0.33:
        text = (f"{opener} {rng.choice(ACTORS)} {rng.choice(PLANS)} {rng.choice(SERVICES)} "
                f"in {rng.choice(['2025', 'the spring', 'the coming months'])}")
    elif kind < 0.41:
        text = f"{rng.choice(PROBLEMS)} in {city}"
    elif kind < 0.52:
        text = f"{opener} {rng.choice(OPINIONS).format(city=city)}"
    else:
        return rng.choice(BACKGROUND).format(
            city=city, year=rng.randint(2000, 2013), n=rng.randint(2, 40),
            m=rng.randint(10, 200), month=rng.choice(MONTHS))
    return text[0].upper() + text[1:] + "."


def generate_corpus(words: int, seed: int) -> list[str]:
    """Paragraphs of 3 to 7 sentences until `words` whitespace words are reached."""
    rng = random.Random(seed)
    texts, total = [], 0
    while total < words:
        paragraph = " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))
        texts.append(paragraph)
        total += len(paragraph.split())
    return texts


def naive_keyword_regexes(codebook) -> list[tuple[str, re.Pattern]]:
    """The baseline a team writes in pandas: one compiled regular expression per keyword of
    the codebook (a written phrase; its {a|b} alternatives become a regex alternation),
    case-insensitive, from a word boundary; a prefix match also catches plurals."""
    from pipeline.nlp.compiled import token_pattern_as_phrases

    found = []
    for code in codebook.codes:
        for pattern in code.patterns:
            keywords = list(pattern.phrases)
            if pattern.tokens:
                keywords.extend(token_pattern_as_phrases(list(pattern.tokens)) or [])
            for keyword in keywords:
                body, position = "", 0
                for group in re.finditer(r"\{([^{}]*)\}", keyword):
                    body += re.escape(keyword[position:group.start()]) + "(?:" + "|".join(
                        re.escape(option) for option in group.group(1).split("|")) + ")"
                    position = group.end()
                body += re.escape(keyword[position:])
                body = r"\s*".join(body.replace("\\ ", " ").split())
                found.append((code.id, re.compile(r"\b" + body, re.IGNORECASE)))
    return found


def naive_code(regexes, texts: list[str]) -> list[list[tuple[str, int, int]]]:
    """Every keyword match of every text, with its code and offsets."""
    return [[(code, m.start(), m.end()) for code, regex in regexes
             for m in regex.finditer(text)] for text in texts]


def timed(label: str, function, words: int, repeat: int) -> float:
    """CPU seconds of one process (one core), best of `repeat` runs: the machine may be
    shared, and the best run is the least disturbed."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    rate = words / best
    print(f"  {label:<34}{best:8.2f} s {rate:12,.0f} words/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement; best kept.")
    parser.add_argument("--naive-share", type=int, default=20, metavar="PERCENT",
                        help="Share of the corpus the (slow) naive regex coder runs on.")
    parser.add_argument("--profile", action="store_true",
                        help="Profile the Tagger run with pyinstrument (if installed).")
    args = parser.parse_args()

    import spacy

    from pipeline.nlp import Tagger

    texts = generate_corpus(args.words, args.seed)
    words = sum(len(text.split()) for text in texts)
    print(f"corpus: {len(texts):,} paragraphs, {words:,} words (seed {args.seed}); "
          f"Python {platform.python_version()}, spaCy {spacy.__version__}, "
          f"{platform.machine()}")
    started = time.perf_counter()
    tagger = Tagger(entities=False)
    print(f"  {'build pipeline (once)':<34}{time.perf_counter() - started:8.2f} s")
    tagger.tag_texts(texts[:200])  # warm the vocabulary caches
    full = Tagger()  # with actors, initiatives and partnerships (the entities coder)
    full.tag_texts(texts[:200])

    bare = spacy.blank("en")
    bare_rate = timed("bare spaCy tokenizer", lambda: [len(d) for d in
                      bare.tokenizer.pipe(texts, batch_size=256)], words, args.repeat)
    pipe_rate = timed("coder pipeline (nlp.pipe)", lambda: [len(d) for d in
                      tagger.nlp.pipe(texts, batch_size=256)], words, args.repeat)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    tag_rate = timed("tag: codes (normalise+pipeline+out)", lambda: tagger.tag_texts(texts),
                     words, 1 if args.profile else args.repeat)
    if args.profile:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
    full_rate = timed("tag: codes + actors, initiatives", lambda: full.tag_texts(texts),
                      words, args.repeat)
    regexes = naive_keyword_regexes(tagger.codebook)
    naive_texts = texts[:max(1, len(texts) * args.naive_share // 100)]
    naive_words = sum(len(text.split()) for text in naive_texts)
    naive_rate = timed(f"naive: {len(regexes)} keyword regexes", lambda: naive_code(
        regexes, naive_texts), naive_words, 1)
    if naive_words != words:
        print(f"  (naive coder timed on the first {len(naive_texts):,} paragraphs, "
              f"{naive_words:,} words)")
    for label, rate in (("pipeline", pipe_rate), ("tag codes", tag_rate),
                        ("full tag", full_rate)):
        print(f"  ratio {label + ' / tokenizer:':<24}{rate / bare_rate:6.2f}   "
              f"{label} / naive regex: {rate / naive_rate:6.2f}")


if __name__ == "__main__":
    main()
