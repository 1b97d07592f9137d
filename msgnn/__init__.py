"""msgnn: crystallization kinetics from MD, micrographs and reactor logs with a multi-scale GNN."""

__version__ = "0.1.0"
