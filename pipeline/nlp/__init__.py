"""The automatic coder: a spaCy pipeline driven by the codebook (see `pipeline.py`)."""

from __future__ import annotations


def __getattr__(name):  # keep `import pipeline.nlp` light; spaCy loads on first use
    if name in ("Tagger", "tag_texts"):
        from pipeline.nlp import tagger

        return getattr(tagger, name)
    if name in ("build_pipeline", "pipeline_for"):
        from pipeline.nlp import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)


__all__ = ["Tagger", "tag_texts", "build_pipeline", "pipeline_for"]
