"""MD stage: crystal–liquid slab simulations with LAMMPS and their kinetics.

- `settings`: typed settings (Material, SlabSettings, MeltingSettings, NucleationSettings).
- `lammps_env`: starting LAMMPS from Python (libmpi preload), potentials.
- `system`: a material in LAMMPS (box, potential, seeds, per-atom values, energy check).
- `structure`: lattices and the solid/liquid classification computes.
- `slab`: one condition's simulation -> run.json + snapshots.npz.
- `fit`: interface velocity and kinetic-coefficient fits (pure numpy/scipy).
- `analysis`: per-material kinetics.json (v(T) fits, Tm from v = 0) and the v(T) plot.
- `melting`: melting point by NPH two-phase coexistence (melting_point.json).
- `nucleation`: homogeneous nucleation rates from melt-quench-hold replicas (nucleation.json).
"""
