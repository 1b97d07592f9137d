"""Graph builders: atomic (rho = 1) and nanoscale-cluster (rho = 10) graphs from MD snapshots.

- `settings`: GraphSettings (config `graphs`).
- `atomic`: one atomic + cluster graph per snapshot of snapshots.npz.
"""
