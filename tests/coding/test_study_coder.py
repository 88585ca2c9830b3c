"""The study's coder inputs read without the store (pipeline.coding.study_coder)."""

from __future__ import annotations

import pytest

from pipeline.errors import CityQDAError


@pytest.mark.parametrize("loader, module, name", [
    ("load_study_codebook", "pipeline.codebook", "load_codebook"),
    ("load_study_registry", "pipeline.nlp.registry", "load_registry"),
])
def test_study_coder_cached_codebook_and_registry_are_what_loading_gives(
        study, monkeypatch, loader, module, name):
    """The second load of an unchanged file comes from the study's cache folder, equal to
    a fresh load; a changed file is read and checked again."""
    import importlib

    import pipeline.coding.study_coder as study_coder

    load = getattr(study_coder, loader)
    fresh = load(study)
    assert load(study, cached=True) == fresh  # read, checked, then kept
    calls = []
    real = getattr(importlib.import_module(module), name)
    monkeypatch.setattr(importlib.import_module(module), name,
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    cached = load(study, cached=True)
    assert cached == fresh and calls == []
    if loader == "load_study_codebook":
        assert cached.raw == fresh.raw
        path = study.path("codebook")
        path.write_text(path.read_text(encoding="utf-8").replace(
            "version:", "version: [", 1), encoding="utf-8")  # broken YAML
        with pytest.raises(CityQDAError):
            load(study, cached=True)
        assert calls == [1]


def test_study_coder_entity_cues_hash_is_the_loaded_cue_lists():
    """The fingerprint hashes the cue lists without loading them (no spaCy import)."""
    from pipeline.coding.study_coder import other_coder_inputs
    from pipeline.nlp.actors import load_entity_cues
    from pipeline.nlp.registry import load_registry

    registry = load_registry()
    assert other_coder_inputs(registry) == {"actors": registry.sha256,
                                       "entity_cues": load_entity_cues().sha256}


def test_study_coder_and_what_it_loads_leave_the_store_unimported():
    """The tagger process is forked before `cityqda run` imports SQLAlchemy and the store
    (pipeline.coding.tagger_process): it must not import them itself."""
    import subprocess
    import sys

    modules = ("pipeline.coding.study_coder", "pipeline.coding.tagger_process",
               "pipeline.codebook", "pipeline.codebook.load", "pipeline.nlp.registry",
               "pipeline.nlp.build_cache")
    code = (f"import sys\nfor name in {modules!r}:\n    __import__(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'"
            " or m.startswith('pipeline.store')))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"
