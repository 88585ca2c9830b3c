"""The matcher's built input kept on disk: the same pipeline from the cache, plain data only."""

from __future__ import annotations

import pickle

import pytest

from pipeline.codebook.load import load_codebook
from pipeline.nlp.build_cache import BuildCache
from pipeline.nlp.language import CODES_KEY, GROUPS_KEY
from pipeline.nlp.pipeline import BUILD_CACHE_NAME, build_pipeline

TEXTS = [
    "The city runs a night shelter and offers housing support. There is no French class.",
    "Emergency shelters were full; an English course is planned, but accommodation is not.",
    "Nothing here matches.",
]


def _matches(nlp) -> list:
    found = []
    for doc in nlp.pipe(TEXTS):
        found.append(([(s.start, s.end, s.label_, s.id_) for s in doc.spans[CODES_KEY]],
                      doc.user_data[GROUPS_KEY]))
    return found


def test_build_cache_pipeline_from_the_cache_matches_as_a_fresh_build(
        minimal_codebook_path, tmp_path):
    codebook = load_codebook(minimal_codebook_path)
    folder = tmp_path / "cache"
    fresh = _matches(build_pipeline(codebook))
    written = build_pipeline(codebook, cache_dir=folder)
    assert (folder / f"{BUILD_CACHE_NAME}.pickle").is_file()
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    read = build_pipeline(codebook, cache_dir=folder)
    assert read.get_pipe("cityqda_codes").tokenised == 0  # nothing tokenised
    assert _matches(written) == fresh
    assert _matches(read) == fresh
    assert any(spans for spans, _ in fresh)


def test_build_cache_reads_only_the_key_it_was_written_with(tmp_path):
    cache = BuildCache(tmp_path)
    assert cache.save("x", "key-1", {"tokens": {"night shelter": ((1, 2), ("night",))}})
    assert cache.load("x", "key-1") == {"tokens": {"night shelter": ((1, 2), ("night",))}}
    assert cache.load("x", "key-2") is None
    assert cache.load("other", "key-1") is None


@pytest.mark.parametrize("content", [
    b"not a pickle",
    pickle.dumps({"format": 1, "key": "k", "data": BuildCache("somewhere")}),  # a class
    pickle.dumps(["format", 1]),
])
def test_build_cache_unreadable_or_not_plain_data_is_a_miss(tmp_path, content):
    (tmp_path / "x.pickle").write_bytes(content)
    assert BuildCache(tmp_path).load("x", "k") is None


def test_build_cache_broken_file_is_rebuilt(minimal_codebook_path, tmp_path):
    codebook = load_codebook(minimal_codebook_path)
    (tmp_path / f"{BUILD_CACHE_NAME}.pickle").write_bytes(b"\x80\x05broken")
    nlp = build_pipeline(codebook, cache_dir=tmp_path)
    assert nlp.get_pipe("cityqda_codes").tokenised > 0
    assert _matches(nlp) == _matches(build_pipeline(codebook))
    assert build_pipeline(codebook, cache_dir=tmp_path).get_pipe(
        "cityqda_codes").tokenised == 0


def test_build_cache_entity_matcher_replayed_is_a_fresh_build(
        minimal_codebook_path, tmp_path, monkeypatch):
    """The entity matcher's phrase keywords come back from the cache: same matcher, same
    actors found, and no phrase expanded again; another registry is not served from it."""
    from pipeline.nlp import actors
    from pipeline.nlp.entities import EntityTagger
    from pipeline.nlp.normalise import normalise
    from pipeline.nlp.registry import build_registry, load_registry
    from pipeline.nlp.tagger import ENTITY_CACHE_NAME, cached_entity_tagger

    nlp = build_pipeline(load_codebook(minimal_codebook_path))
    registry = load_registry()
    text = ("UNHCR and the International Organisation for Migration opened a desk with "
            "Caritas; the municipality funds it.")

    def found(tagger):
        doc = nlp(normalise(text).text)
        return (tagger.matcher.matcher.__reduce__()[1][1], tagger.matcher.payload,
                tagger.extract(doc, normalise(text)))

    fresh = found(EntityTagger(nlp, registry))
    assert found(cached_entity_tagger(nlp, registry, tmp_path)) == fresh
    assert (tmp_path / f"{ENTITY_CACHE_NAME}.pickle").is_file()
    calls = []
    real = actors.phrase_variants
    monkeypatch.setattr(actors, "phrase_variants",
                        lambda *args: calls.append(1) or real(*args))
    replayed = cached_entity_tagger(nlp, registry, tmp_path)
    assert calls == [] and replayed.matcher.keywords is None
    assert found(replayed) == fresh
    assert [a["registry_id"] for a in fresh[2]["actors"]][:1] != [None]
    first = registry.actors[0]
    other = build_registry({"actors": [{"id": "x", "name": "Desk Partners", "category":
                                        first.category, "sector": first.sector}]},
                           sha256="other")
    cached_entity_tagger(nlp, other, tmp_path)
    assert calls  # a different registry: built, not replayed


def test_build_cache_english_words_are_kept_and_given_back(tmp_path, monkeypatch):
    from pipeline.nlp import actors
    from pipeline.nlp.tagger import ENGLISH_WORDS_CACHE_NAME, _cached_english_words

    cache = BuildCache(tmp_path)
    monkeypatch.setattr(actors, "KNOWN_ENGLISH_WORDS", [])
    actors.english_words.cache_clear()
    _cached_english_words(cache)  # built, then kept
    built = actors.english_words()
    assert (tmp_path / f"{ENGLISH_WORDS_CACHE_NAME}.pickle").is_file()
    assert actors.KNOWN_ENGLISH_WORDS == []
    actors.english_words.cache_clear()
    _cached_english_words(cache)  # a new process: read back, not built
    assert actors.KNOWN_ENGLISH_WORDS == [built] and "shelter" in built
    assert actors.english_words() == built


def test_build_cache_entity_cues_from_the_cache_are_the_loaded_ones(tmp_path, monkeypatch):
    from pipeline.nlp import actors
    from pipeline.nlp.tagger import ENTITY_CUES_CACHE_NAME, _cached_entity_cues

    cache = BuildCache(tmp_path)
    loaded = actors.load_entity_cues()
    assert _cached_entity_cues(cache) == loaded  # loaded, checked, kept
    assert (tmp_path / f"{ENTITY_CUES_CACHE_NAME}.pickle").is_file()
    monkeypatch.setattr(actors, "load_entity_cues", lambda *args: pytest.fail("parsed"))
    assert _cached_entity_cues(cache) == loaded  # built from the kept document
