"""Test helpers for running the workflow through a real SLURM scheduler (see cluster.py)."""
