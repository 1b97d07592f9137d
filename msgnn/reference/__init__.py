"""Published values the workflow is checked against (published.yaml, each entry with its source)."""
from __future__ import annotations

from importlib import resources

import yaml


def published() -> dict:
    return yaml.safe_load(resources.files("msgnn.reference").joinpath("published.yaml").read_text())


def published_melting_point(potential: str) -> tuple[float | None, str]:
    """The published Tm of a potential file (K) and its source, or (None, "") where none is known."""
    entry = (published().get("library_melting_point_K") or {}).get(potential)
    return (float(entry["value"]), entry["source"]) if entry else (None, "")
