"""Accuracy of actor, initiative and partnership recognition against hand-labelled passages.

    python benchmarks/bench_entities.py [--errors dev|sample|sample_bare] [--json]
    python benchmarks/bench_entities.py --sets dev,sample_bare --ids p053-p103
    python benchmarks/bench_entities.py --speed 1000000


Scores three sets separately: the development half (tests/data/devset/entities_dev.yaml), the
frozen test half (entities_test.yaml; its sha256 is checked) and the sample study's answer key
(tests/data/sample_labels.yaml, with the sample study's registry codebooks/actors.yaml and the
interviewee's organisation as the speaker) and that key again as unseen text ("sample_bare": the
package's default registry, no speaker; scored against the same labels). The dev and test halves
use the package's default registry, which holds none of their invented organisations.

- actors: a labelled actor is found when a recognised actor overlaps one of its mentions;
  category accuracy is over the found ones (named actors; generic mentions such as "the
  municipality" are scored apart). Precision: recognised named actors overlapping a labelled
  one (dev and test only: the sample key labels registry names only).
- initiatives: recall of labelled initiatives named in the text (overlap), and status
  accuracy over the found ones.
- partnerships: a labelled partnership is found when a recognised one shares two of its
  parties (all of them when it has fewer); type and status accuracy are over the found ones;
  "type end-to-end" counts a partnership right only when it is found with the right type.
`--errors` lists the mistakes of a development split (never of the test half).

`--speed WORDS` times `Tagger(entities=False)` (the coder alone) and `Tagger()` on the corpus
of benchmarks/bench_tag_speed.py (same generator and seed), CPU time of this process, best
of three runs each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVSET = ROOT / "tests" / "data" / "devset"
SAMPLE = ROOT / "tests" / "data" / "sample_labels.yaml"
SAMPLE_SOURCES = ROOT / "scripts" / "sample_study"
SAMPLE_REGISTRY = ROOT / "codebooks" / "actors.yaml"
SETS = ("dev", "test", "sample", "sample_bare")
# Scored only when asked (`--sets holdout`), once per session at the end: the held-out set of
# real published content, which no rule is written from and no rule is kept or dropped by.
HOLDOUT = "holdout"
HOLDOUT_SHA256 = "4c509f861e30d25045f15431d20159ee9271516dc4bc599b0204d5db5f94e988"
TEST_SHA256 = "019e4597500862c3832c6f9bcb81750e01727b70aaf3552524d4872440e631df"


def load_devset(name: str) -> list[dict]:
    path = DEVSET / f"entities_{name}.yaml"
    frozen = {"test": TEST_SHA256, HOLDOUT: HOLDOUT_SHA256}.get(name)
    if frozen:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != frozen:
            raise SystemExit(f"{path} changed (sha256 {digest}); the {name} set is frozen")
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{"id": it["id"], "text": it["text"], "actors": it["actors"],
             "initiatives": it["initiatives"], "partnerships": it["partnerships"],
             "context": {}} for it in items]


def _interviews() -> dict[str, dict]:
    """Sample transcript file -> its city, country and the interviewee's organisation."""
    found = {}
    for path in sorted(SAMPLE_SOURCES.glob("*-*-*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        register = data.get("register") or {}
        found[data.get("file", f"{path.stem}.docx")] = {
            "organisation": register.get("organisation"), "city": data.get("city"),
            "country": data.get("country")}
    return found


def load_sample(registry) -> list[dict]:
    """The sample key, one item per segment, with the interviewee's organisation as speaker."""
    from pipeline.nlp.registry import find_actor

    if not SAMPLE.exists():
        return []
    interviews = _interviews()
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    items = []
    for seg in data.get("segments", []):
        actors = [{"name": a["mention"], "canonical": a["name"], "category": a["category"],
                   "sector": a["sector"]} for a in seg.get("actors", [])]
        interview = interviews.get(seg["file"], {})
        context = {"city": interview.get("city"), "country": interview.get("country")}
        entry = find_actor(registry, interview.get("organisation"), interview.get("city"))
        if entry is not None:
            context["speaker"] = {"name": entry.name, "category": entry.category,
                                  "sector": entry.sector, "registry_id": entry.id}
        items.append({"id": f"{seg['file']}#{seg['order']}", "text": seg["text"],
                      "actors": actors,
                      "initiatives": [i for i in seg.get("initiatives", [])
                                      if i["name"].lower() in seg["text"].lower()],
                      "partnerships": seg.get("partnerships", []), "context": context})
    return items


def occurrences(text: str, name: str) -> list[tuple[int, int]]:
    pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
    spans = [m.span() for m in pattern.finditer(text)]
    if not spans:
        spans = [m.span() for m in re.finditer(re.escape(name), text, re.IGNORECASE)]
    return spans


def overlaps(a: tuple[int, int], spans) -> bool:
    return any(a[0] < e and a[1] > s for s, e in spans)


class Scorer:
    def __init__(self, registry):
        from pipeline.nlp.registry import fold_key

        self.fold = fold_key
        self.lookup = {}
        for actor in registry.actors:
            for name in actor.names:
                self.lookup.setdefault(fold_key(name), actor.id)
        self.counts = {k: 0 for k in (
            "actors", "actors_found", "actors_category", "predicted_named", "predicted_true",
            "generic", "generic_found", "generic_category", "initiatives", "initiatives_found",
            "initiatives_status", "partnerships", "partnerships_found", "partnerships_type",
            "partnerships_status", "predicted_partnerships", "predicted_partnerships_true")}
        self.errors: list[str] = []

    def identity(self, name: str | None) -> str:
        key = self.fold(name or "")
        return f"id:{self.lookup[key]}" if key in self.lookup else f"name:{key}"

    def score(self, item: dict, result: dict) -> None:
        c, text, lines = self.counts, item["text"], []
        gold_spans = []
        for gold in item["actors"]:
            spans = [s for name in [gold["name"], *gold.get("also", [])]
                     for s in occurrences(text, name)]
            gold_spans.append((gold, spans))
            hits = [a for a in result["actors"] if overlaps((a["start"], a["end"]), spans)]
            hits.sort(key=lambda a: (a["generic"], -(min(a["end"], spans[0][1]) -
                                                     max(a["start"], spans[0][0]))))
            prefix = "generic" if gold.get("generic") else "actors"
            c[prefix] += 1
            if hits:
                c[f"{prefix}_found"] += 1
                if hits[0]["category"] == gold["category"]:
                    c[f"{prefix}_category"] += 1
                else:
                    lines.append(f"  actor category {hits[0]['category']} for {gold['name']!r}"
                                 f" (labelled {gold['category']})")
            else:
                lines.append(f"  actor missed {gold['name']!r} ({gold['category']})")
        if item.get("score_precision", True):
            for actor in result["actors"]:
                if actor["generic"]:
                    continue
                c["predicted_named"] += 1
                if any(overlaps((actor["start"], actor["end"]), spans) for _, spans in gold_spans):
                    c["predicted_true"] += 1
                else:
                    lines.append(f"  actor extra {actor['name']!r} ({actor['category']}, "
                                 f"{', '.join(actor['evidence'])})")
        for gold in item["initiatives"]:
            c["initiatives"] += 1
            spans = occurrences(text, gold["name"])
            hits = [i for i in result["initiatives"] if overlaps((i["start"], i["end"]), spans)]
            if hits:
                c["initiatives_found"] += 1
                if hits[0]["status"] == gold["status"]:
                    c["initiatives_status"] += 1
                else:
                    lines.append(f"  initiative status {hits[0]['status']} for {gold['name']!r}"
                                 f" (labelled {gold['status']})")
            else:
                lines.append(f"  initiative missed {gold['name']!r}")
        predicted = [self._parties(p, gold_spans) for p in result["partnerships"]]
        used = set()
        for gold in item["partnerships"]:
            c["partnerships"] += 1
            names = {self._gold_id(n, item) for n in gold["parties"]}
            need = min(2, len(names))
            best, overlap = None, 0
            for index, parties in enumerate(predicted):
                common = len(names & parties)
                if common >= need and common > overlap:
                    best, overlap = index, common
            if best is None:
                lines.append(f"  partnership missed {gold['parties']} ({gold['type']})")
                continue
            used.add(best)
            found = result["partnerships"][best]
            c["partnerships_found"] += 1
            c["partnerships_type"] += found["type"] == gold["type"]
            c["partnerships_status"] += found["status"] == gold["status"]
            if found["type"] != gold["type"] or found["status"] != gold["status"]:
                lines.append(f"  partnership {found['parties']} {found['type']}/"
                             f"{found['status']} (labelled {gold['parties']} {gold['type']}/"
                             f"{gold['status']})")
        c["predicted_partnerships"] += len(predicted)
        c["predicted_partnerships_true"] += len(used)
        for index, found in enumerate(result["partnerships"]):
            if index not in used:
                lines.append(f"  partnership extra {found['parties']} {found['type']}/"
                             f"{found['status']} (cue {found['cue']!r})")
        if lines:
            self.errors.append(f"{item['id']}: {text}\n" + "\n".join(lines))

    def _gold_id(self, name: str, item: dict) -> str:
        for gold in item["actors"]:
            if gold["name"] == name or gold.get("canonical") == name:
                return self.identity(gold.get("canonical") or gold["name"])
        return self.identity(name)

    def _parties(self, partnership: dict, gold_spans) -> set[str]:
        found = set()
        for party in partnership["party_mentions"]:
            if party["start"] is not None:
                hits = [g for g, spans in gold_spans
                        if overlaps((party["start"], party["end"]), spans)]
                if hits:
                    found.add(self.identity(hits[0].get("canonical") or hits[0]["name"]))
                    continue
            if party["registry_id"]:
                found.add(f"id:{party['registry_id']}")
            else:
                found.add(self.identity(party["canonical"]))
        return found

    def summary(self) -> dict:
        c = self.counts

        def ratio(a, b):
            return round(c[a] / c[b], 3) if c[b] else None

        return {
            "actors": c["actors"], "actor_found_rate": ratio("actors_found", "actors"),
            "actor_category_accuracy": ratio("actors_category", "actors_found"),
            "actor_precision": ratio("predicted_true", "predicted_named"),
            "generic": c["generic"], "generic_found_rate": ratio("generic_found", "generic"),
            "generic_category_accuracy": ratio("generic_category", "generic_found"),
            "initiatives": c["initiatives"],
            "initiative_recall": ratio("initiatives_found", "initiatives"),
            "initiative_status_accuracy": ratio("initiatives_status", "initiatives_found"),
            "partnerships": c["partnerships"],
            "partnership_found_rate": ratio("partnerships_found", "partnerships"),
            "partnership_type_accuracy": ratio("partnerships_type", "partnerships_found"),
            "partnership_type_end_to_end": ratio("partnerships_type", "partnerships"),
            "partnership_status_accuracy": ratio("partnerships_status", "partnerships_found"),
            "partnership_precision": ratio("predicted_partnerships_true",
                                           "predicted_partnerships"),
        }


def run(items: list[dict], tagger, entities) -> tuple[list[dict], float]:
    import time

    from pipeline.nlp.analysis import analysis_of
    from pipeline.nlp.normalise import normalise

    started = time.perf_counter()
    results = []
    norms = [normalise(item["text"]) for item in items]
    docs = tagger.nlp.pipe([n.text for n in norms], batch_size=256)
    for item, norm, doc in zip(items, norms, docs, strict=True):
        results.append(entities.extract(doc, norm, analysis_of(doc), tagger._dimension_of,
                                        item["context"]))
    return results, time.perf_counter() - started


def speed(words: int) -> None:
    import platform
    import time

    import spacy

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_tag_speed import generate_corpus

    from pipeline.nlp.tagger import Tagger

    texts = generate_corpus(words, 7)
    count = sum(len(text.split()) for text in texts)
    print(f"corpus: {len(texts):,} paragraphs, {count:,} words (seed 7); Python "
          f"{platform.python_version()}, spaCy {spacy.__version__}")
    for entities in (False, True):
        tagger = Tagger(entities=entities)
        tagger.tag_texts(texts[:200])
        best = None
        for _ in range(3):
            started = time.process_time()
            tagger.tag_texts(texts)
            seconds = time.process_time() - started
            best = seconds if best is None else min(best, seconds)
        label = "tag with actors, initiatives, partnerships" if entities else "tag, codes only"
        print(f"  {label:<46}{best:7.2f} s {count / best:10,.0f} words/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", choices=["dev", "sample", "sample_bare"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--speed", type=int, metavar="WORDS")
    parser.add_argument("--sets", default=",".join(SETS),
                        help="comma-separated sets to score (quicker while iterating)")
    parser.add_argument("--ids", metavar="FIRST-LAST",
                        help="score only the dev passages with ids in this range (p053-p103)")
    args = parser.parse_args()
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = sorted(set(sets) - set(SETS) - {HOLDOUT})
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(SETS + (HOLDOUT,))}")
    if args.speed:
        speed(args.speed)
        return

    from pipeline.nlp.entities import EntityTagger
    from pipeline.nlp.registry import load_registry
    from pipeline.nlp.tagger import Tagger

    tagger = Tagger()
    default_registry = load_registry()
    sample_registry = load_registry(SAMPLE_REGISTRY)
    default_entities = EntityTagger(tagger.nlp, default_registry)
    sample_entities = EntityTagger(tagger.nlp, sample_registry)
    report = {}
    loaders = {
        "dev": (lambda: load_devset("dev"), default_entities, default_registry),
        "test": (lambda: load_devset("test"), default_entities, default_registry),
        HOLDOUT: (lambda: load_devset(HOLDOUT), default_entities, default_registry),
        "sample": (lambda: load_sample(sample_registry), sample_entities, sample_registry),
        "sample_bare": (lambda: load_sample(sample_registry), default_entities,
                        sample_registry)}
    for name in [n for n in SETS + (HOLDOUT,) if n in sets]:
        load, entities, registry = loaders[name]
        items = load()
        if name == "dev" and args.ids:
            first, _, last = args.ids.partition("-")
            items = [it for it in items if first <= it["id"] <= (last or first)]
        if name == "sample_bare":
            for item in items:  # unseen text: no registry entry, no known speaker
                item["context"].pop("speaker", None)
        if name.startswith("sample"):
            for item in items:
                item["score_precision"] = False
        results, seconds = run(items, tagger, entities)
        scorer = Scorer(registry)
        for item, result in zip(items, results, strict=True):
            scorer.score(item, result)
        report[name] = {"passages": len(items), **scorer.summary(),
                        "seconds": round(seconds, 2)}
        if args.errors == name:
            print("\n\n".join(scorer.errors))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    keys = [k for k in next(iter(report.values())) if k != "seconds"]
    print(f"{'':34}" + "".join(f"{name:>12}" for name in report))
    for key in keys:
        values = "".join(f"{'' if report[n][key] is None else report[n][key]:>12}"
                         for n in report)
        print(f"{key:34}{values}")


if __name__ == "__main__":
    main()
