"""Settings of the graph builders (config `graphs`), built once from the validated config."""
from __future__ import annotations

from dataclasses import dataclass

from msgnn.settings import Settings


@dataclass(frozen=True)
class GraphSettings(Settings):
    """Which atoms make the atomic graph and how they pool into nanoscale clusters."""
    SECTION = ("graphs",)
    interface_width_A: float    # atoms within this distance of either interface are nodes
    cluster_size_A: float       # edge of the blocks the selected atoms are binned into
