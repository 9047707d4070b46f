"""The truth gate: what a story may say, checked against its fact sheet (``docs/stories.md``)."""

from .gate import GroundingReport, check, kind_of
from .text import normalize

__all__ = ["GroundingReport", "check", "kind_of", "normalize"]
