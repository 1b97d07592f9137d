"""Published values the workflow is checked against (published.yaml, each entry with its source)."""
from __future__ import annotations

from importlib import resources

import yaml


def published() -> dict:
    return yaml.safe_load(resources.files("msgnn.reference").joinpath("published.yaml").read_text())
