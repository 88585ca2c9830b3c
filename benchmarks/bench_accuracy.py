"""Accuracy of the automatic coder against hand-labelled passages.

    python benchmarks/bench_accuracy.py [--codebook FILE] [--errors dev|sample|probes]
        [--probes-from ID] [--holdout] [--json]

Scores the development set (tests/data/devset/dev.yaml, plus the sample study's answer key
tests/data/sample_labels.yaml when present) and the frozen test half
(tests/data/devset/test.yaml) separately: precision, recall and F1 per dimension
(passage-level, multi-label), micro-F1, the share of passages whose negated or hypothetical
dimensions were correctly withheld, and micro-F1 of the challenge codes. `--errors` lists
the mistakes of a development split (never of the test half, so rules are not tuned on it).
`--probes-from p1261` also scores the dev passages from that id on as a split of their own
(a batch of probes labelled before the coder was run on it). `--holdout` also scores the
held-out set of real published content (tests/data/devset/holdout.yaml: paraphrased published
pages, labelled by people who never read the rules): read it once per session, at the end, as
the estimate of how the coder does on real text; never keep or drop a rule by it, and its
mistakes are never listed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.codebook.model import DIMENSION_ORDER  # noqa: E402

DEVSET = ROOT / "tests" / "data" / "devset"
SAMPLE = ROOT / "tests" / "data" / "sample_labels.yaml"


def load_devset(name: str) -> list[dict]:
    items = yaml.safe_load((DEVSET / f"{name}.yaml").read_text(encoding="utf-8"))
    return [{"id": it["id"], "text": it["text"], "dimensions": set(it["dimensions"]),
             "withheld": set(it.get("withheld", [])), "flags": set(it.get("flags", [])),
             "challenges": set(it.get("challenges", []))} for it in items]


def load_sample() -> list[dict]:
    """The sample study's answer key: every segment, labelled by the study's definitions."""
    if not SAMPLE.exists():
        return []
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    items = []
    for seg in data.get("segments", []):
        flags = {name for name in ("negated", "hypothetical", "planned") if seg.get(name)}
        items.append({"id": f"{seg['file']}#{seg['order']}", "text": seg["text"],
                      "dimensions": set(seg.get("dimensions", [])), "withheld": set(),
                      "flags": flags, "challenges": set(seg.get("challenges", []))})
    return items


def probes_from(items: list[dict], first_id: str) -> list[dict]:
    """The dev passages from `first_id` on: a probe batch keeps its own figure once it joins dev."""
    ids = [it["id"] for it in items]
    if first_id not in ids:
        raise SystemExit(f"--probes-from: no dev passage has the id {first_id!r}")
    return items[ids.index(first_id):]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(items: list[dict], results: list[dict]) -> dict:
    per = {d: [0, 0, 0] for d in DIMENSION_ORDER}
    ch = [0, 0, 0]
    withheld_total = withheld_ok = 0
    for item, result in zip(items, results, strict=True):
        predicted = set(result["dimensions"])
        for d in DIMENSION_ORDER:
            gold = d in item["dimensions"]
            got = d in predicted
            per[d][0] += gold and got
            per[d][1] += got and not gold
            per[d][2] += gold and not got
        if item["withheld"]:
            withheld_total += 1
            withheld_ok += not (item["withheld"] & predicted)
        gold_ch = {f"challenge.{c}" for c in item["challenges"]}
        got_ch = set(result["challenges"])
        ch[0] += len(gold_ch & got_ch)
        ch[1] += len(got_ch - gold_ch)
        ch[2] += len(gold_ch - got_ch)
    totals = [sum(v[i] for v in per.values()) for i in range(3)]
    return {
        "passages": len(items),
        "dimensions": {d: dict(zip(("precision", "recall", "f1"), prf(*per[d]), strict=True),
                               support=per[d][0] + per[d][2]) for d in DIMENSION_ORDER},
        "micro": dict(zip(("precision", "recall", "f1"), prf(*totals), strict=True)),
        "withheld": {"passages": withheld_total,
                     "share": withheld_ok / withheld_total if withheld_total else None},
        "challenges": dict(zip(("precision", "recall", "f1"), prf(*ch), strict=True)),
    }


def print_report(name: str, report: dict) -> None:
    print(f"\n{name}: {report['passages']} passages")
    print(f"  {'dimension':<20}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}")
    for d, s in report["dimensions"].items():
        print(f"  {d:<20}{s['precision']:7.3f}{s['recall']:7.3f}{s['f1']:7.3f}{s['support']:6d}")
    m = report["micro"]
    print(f"  {'micro':<20}{m['precision']:7.3f}{m['recall']:7.3f}{m['f1']:7.3f}")
    w = report["withheld"]
    share = "n/a" if w["share"] is None else f"{w['share']:.3f}"
    print(f"  negated/hypothetical correctly withheld: {share} of {w['passages']} passages")
    c = report["challenges"]
    print(f"  challenges (micro): P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f}")


def print_errors(items: list[dict], results: list[dict]) -> None:
    for item, result in zip(items, results, strict=True):
        predicted = set(result["dimensions"])
        gold_ch = {f"challenge.{c}" for c in item["challenges"]}
        if predicted == item["dimensions"] and set(result["challenges"]) == gold_ch:
            continue
        print(f"\n[{item['id']}] {item['text']}")
        print(f"  gold {sorted(item['dimensions'])} {sorted(item['challenges'])}"
              f"  withheld {sorted(item['withheld'])}")
        print(f"  got  {sorted(predicted)} {[c.split('.', 1)[1] for c in result['challenges']]}")
        for code in result["codes"]:
            flags = [f for f in ("negated", "hypothetical", "planned", "counts") if code[f]]
            moved = f" <-{code['reassigned_from']} by {code['reassigned_by']}" \
                if code["reassigned_by"] else ""
            print(f"    {code['code']:<40} {code['text']!r:<35} {','.join(flags)}{moved}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codebook", default=None)
    parser.add_argument("--errors", choices=["dev", "sample", "probes"], default=None)
    parser.add_argument("--probes-from", default=None, metavar="ID",
                        help="score dev passages from this id on (e.g. p1261) separately")
    parser.add_argument("--holdout", action="store_true",
                        help="also score the held-out real-content set (once per session, "
                             "at the end; never to keep or drop a rule)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from pipeline.nlp import Tagger

    tagger = Tagger(args.codebook)
    splits = {"dev": load_devset("dev"), "sample": load_sample(), "test": load_devset("test")}
    if args.probes_from:
        splits["probes"] = probes_from(splits["dev"], args.probes_from)
    if args.holdout:
        splits["holdout"] = load_devset("holdout")
    reports = {}
    started = time.perf_counter()
    for name, items in splits.items():
        if not items:
            continue
        results = tagger.tag_texts([it["text"] for it in items])
        reports[name] = score(items, results)
        if args.errors == name:
            print_errors(items, results)
    dev_side = splits["dev"] + splits["sample"]
    if splits["sample"]:
        reports["dev+sample"] = score(dev_side, tagger.tag_texts([it["text"] for it in dev_side]))
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    print(f"codebook {tagger.codebook.id} {tagger.codebook.version}; "
          f"{time.perf_counter() - started:.1f}s")
    for name in ("dev", "sample", "dev+sample", "probes", "test", "holdout"):
        if name in reports:
            print_report({"test": "test (frozen)",
                          "holdout": "holdout (real published content, frozen)"}.get(name, name),
                         reports[name])


if __name__ == "__main__":
    main()
