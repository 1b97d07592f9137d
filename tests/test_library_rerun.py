"""Two shipped materials-library conditions rerun at their shipped settings give the shipped values.

The archives in data/library_runs/ (msgnn library-pack) hold each job's provenance record (its
exact params: material, md settings, seed) and its run.json. A growth replica and the stationary
interface run of the first archived material with growth runs are simulated again from those
params. LAMMPS is serial and seeded, and the wheel is pinned (its version is in the record and
checked first), so the same code gives the same trajectory: the velocities must agree to 1e-9
relative. A difference means the shipped library no longer matches the code (or the LAMMPS build),
and the library must be rerun or the change undone.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from conftest import ROOT
from msgnn.md.lammps_env import lammps_module
from msgnn.md.settings import InterfaceSettings, Material, SlabSettings
from msgnn.md.slab import run_condition

ARCHIVES = sorted((ROOT / "data" / "library_runs").glob("*.tar.xz"))


def _with_growth_runs():
    for path in ARCHIVES:
        with tarfile.open(path) as tar:
            names = tar.getnames()
        if any("/provenance/md_run/" in n or n.startswith("results/provenance/md_run/") for n in names) and \
                any("provenance/md_interface/" in n for n in names):
            return path
    return None


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    path = _with_growth_runs()
    assert path is not None, f"no archive in {ROOT / 'data' / 'library_runs'} holds growth and interface runs"
    d = tmp_path_factory.mktemp("shipped")
    with tarfile.open(path) as tar:
        tar.extractall(d, filter="data")
    return d


def _record(root: Path, rule: str):
    """The first provenance record of `rule` (sorted by name) and its params."""
    rec = json.loads(sorted((root / "results" / "provenance" / rule).glob("*.json"))[0].read_text())
    return rec, rec["params"]


@pytest.mark.parametrize("rule", ["md_run", "md_interface"])
def test_a_shipped_condition_reruns_to_its_shipped_value(shipped, rule, tmp_path):
    rec, params = _record(shipped, rule)
    version = rec["lammps_build"]["version"]
    lmp = lammps_module().lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    assert lmp.version() == version, "the LAMMPS build differs from the one that made the shipped library"
    lmp.close()
    run_json = next(o["path"] for o in rec["outputs"] if o["path"].endswith("run.json"))
    shipped_run = json.loads((shipped / run_json).read_text())
    md = SlabSettings.from_dict(params["md"])
    if rule == "md_interface":
        md = md.replace(snapshots=InterfaceSettings.from_dict(params["interface"]).snapshots)
    # with a checkpoint folder as in the workflow: write_restart reneighbours, so a run that writes
    # checkpoints is a different (equally valid) trajectory from one that does not
    run, _ = run_condition(rec["wildcards"]["material"], Material.from_dict(params["material"]), md,
                           int(shipped_run["temperature_K"]), int(params["seed"]), checkpoint_dir=tmp_path / "ckpt")
    assert run["velocity_m_per_s"] == pytest.approx(shipped_run["velocity_m_per_s"], rel=1e-9, abs=1e-9)
    assert run["n_atoms"] == shipped_run["n_atoms"]
