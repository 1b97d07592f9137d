"""Graph builders: atomic (rho = 1) and nanoscale-cluster (rho = 10) graphs from MD snapshots."""
