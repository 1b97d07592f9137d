"""MD results in formats other programs open: the snapshots of a run as extended XYZ (OVITO, ASE,
VMD read it directly) and the LAMMPS input script of a run as `in.lammps`.

Nothing here is read back by the workflow: snapshots.npz and run.json stay the contract
(docs/CONTRACTS.md); these files are views of them for a person.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from msgnn.errors import InputFileError
from msgnn.io import atomic_path, read_json_object
from msgnn.md.snapshots import PER_ATOM_KEYS, read_snapshots

# per-atom columns of the extxyz file: the npz's per-atom arrays under the same names
EXTXYZ_COLUMNS = PER_ATOM_KEYS       # structure_type (int), solid (bool), pe_eV, coordination, q6


def snapshot_frames(snapshots: dict) -> list:
    """One ase.Atoms per frame of read snapshots (msgnn.md.snapshots.read_snapshots): positions and
    the orthorhombic cell in Å, periodic in x, y, z, the per-atom arrays of EXTXYZ_COLUMNS as
    per-atom columns, and per frame `time_ps`, `interface_z_A`, `frame` (and `origin_A`, the LAMMPS
    box origin, where the npz has it: positions are LAMMPS's, not shifted by it)."""
    from ase import Atoms
    from ase.data import atomic_numbers

    element = str(snapshots["element"])
    symbol = element if element in atomic_numbers else "X"
    frames = []
    for i in range(snapshots["positions_A"].shape[0]):
        pos = np.asarray(snapshots["positions_A"][i], dtype=float)
        atoms = Atoms(symbols=[symbol] * len(pos), positions=pos, cell=np.asarray(snapshots["cell_A"][i], float),
                      pbc=True)
        for key in EXTXYZ_COLUMNS:
            value = np.asarray(snapshots[key][i])
            atoms.new_array(key, value.astype(bool) if value.dtype == bool else
                            value.astype(int) if np.issubdtype(value.dtype, np.integer) else value.astype(float))
        atoms.info["frame"] = i
        atoms.info["time_ps"] = float(snapshots["time_ps"][i])
        atoms.info["interface_z_A"] = np.asarray(snapshots["interface_z_A"][i], dtype=float)
        if "origin_A" in snapshots:
            atoms.info["origin_A"] = np.asarray(snapshots["origin_A"][i], dtype=float)
        if symbol != element:
            atoms.info["element"] = element
        frames.append(atoms)
    return frames


def write_extxyz(snapshots_npz: str | Path, out: str | Path) -> int:
    """snapshots.npz -> extended XYZ, every frame, atomically. Returns the number of frames.
    InputFileError naming the npz for a missing or malformed file (read_snapshots)."""
    from ase.io import write

    frames = snapshot_frames(read_snapshots(snapshots_npz))
    with atomic_path(out) as tmp:
        write(str(tmp), frames, format="extxyz")
    return len(frames)


def write_input_script(run_json: str | Path, out: str | Path) -> None:
    """run.json's `input_script` (every command the run gave LAMMPS, in order) -> `out` (in.lammps)."""
    script = read_json_object(run_json).get("input_script")
    if not isinstance(script, str) or not script.strip():
        raise InputFileError(run_json, "has no 'input_script' (the LAMMPS commands of the run)")
    with atomic_path(out) as tmp:
        Path(tmp).write_text(script if script.endswith("\n") else script + "\n")
