"""What the study's coder is built from, read without the store: the codebook, the actor
registry and the hashes of the other inputs that decide codings.

Kept apart from pipeline.code_study (SQLAlchemy and the store) so the process that builds
the tagger ahead (pipeline.coding.tagger_process), forked before `cityqda run` imports the
store, imports only what the tagger needs.
"""

from __future__ import annotations

from collections.abc import Callable


def load_study_registry(study, cached: bool = False):
    """The study's actor registry (else the package's); a broken one stops the stage.
    `cached`: see `load_study_codebook`."""
    from pipeline.nlp.registry import build_registry, load_registry, registry_path_for

    path = registry_path_for(study)
    categories = tuple(study.vocabularies["categories"])
    if not cached:
        return load_registry(path, categories)
    return _cached_document(study, "registry", path, repr(categories),
                            lambda: load_registry(path, categories), build_registry)


def load_study_codebook(study, cached: bool = False):
    """The study's codebook. `cached`: a codebook file already checked with the same code
    is not parsed and checked again; its document comes from the study's cache folder
    (`pipeline.nlp.build_cache`) and is built as `load_codebook` builds it."""
    from pipeline.codebook import load_codebook
    from pipeline.codebook.load import build_codebook

    path = study.path("codebook")
    dimensions = tuple(study.vocabularies["dimensions"])
    if not cached:
        return load_codebook(path, dimensions)
    return _cached_document(study, "codebook", path, repr(dimensions),
                            lambda: load_codebook(path, dimensions), build_codebook)


def _cached_document(study, name: str, path, options: str, load: Callable,
                     build: Callable):
    """`load()` (read, check, build: raises on a broken file), or `build` on the checked
    document kept from an earlier load of the same bytes with the same code."""
    import copy
    import hashlib
    from pathlib import Path

    from pipeline.nlp.build_cache import BuildCache, code_fingerprint, study_cache_dir

    try:
        sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return load()  # reports the problem as usual
    cache = BuildCache(study_cache_dir(study.root))
    key = f"{sha256}/{options}/{code_fingerprint()}"
    data = cache.load(name, key)
    if isinstance(data, dict):
        return build(data, sha256=sha256, source=str(path))
    loaded = load()
    if loaded.sha256 == sha256:  # the file did not change while it was read
        cache.save(name, key, copy.deepcopy(_document_of(loaded)))
    return loaded


def _document_of(loaded) -> dict:
    """The checked document a codebook or registry is built from."""
    if hasattr(loaded, "raw"):
        return loaded.raw
    return {"description": loaded.description,
            "actors": [actor.as_dict() for actor in loaded.actors]}


def other_coder_inputs(registry) -> dict:
    """Hashes of the other data that decide what the coder finds: the actor registry and
    the entity cue lists (package data, checked when the tagger is built; hashed here as
    `pipeline.nlp.actors.load_entity_cues` hashes them, without importing spaCy)."""
    import hashlib
    from importlib import resources

    cues = resources.files("pipeline") / "defaults" / ENTITY_CUES_NAME
    return {"actors": registry.sha256,
            "entity_cues": hashlib.sha256(cues.read_bytes()).hexdigest()}


ENTITY_CUES_NAME = "entity_cues.yaml"  # pipeline.nlp.actors.DEFAULT_CUES_NAME
