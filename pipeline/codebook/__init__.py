"""The codebook: codes with definitions and patterns, the study's coding rules, and the cue
lists of the automatic coder, as a validated YAML data file."""

from __future__ import annotations

from pipeline.codebook.load import (
    check_codebook,
    default_codebook_path,
    load_codebook,
)
from pipeline.codebook.model import DIMENSION_ORDER, Code, Codebook

__all__ = ["Code", "Codebook", "DIMENSION_ORDER", "check_codebook", "default_codebook_path",
           "load_codebook"]
