"""MD a user can open: a tiny real slab run's snapshots.npz as extended XYZ read back by ASE, its
input script as in.lammps, and LAMMPS's own log written where a rule names a `lammps` log."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from ase.io import read
from snakemake.iocontainers import Namedlist

from md_helpers import AL
from msgnn.errors import InputFileError
from msgnn.md.export import EXTXYZ_COLUMNS, write_extxyz, write_input_script
from msgnn.md.lammps_env import Lammps, lammps_log
from msgnn.md.settings import SlabSettings
from msgnn.md.slab import run_condition, write_run
from msgnn.md.snapshots import read_snapshots
from msgnn.workflow.script import run_script

# a few seconds: 432 atoms, 600 growth steps, 2 snapshots (the physics is tests/test_md_slab.py's)
MD = SlabSettings.defaults(cells=[3, 3, 12], melt_steps=300, equilibrate_steps=100, growth_steps=600,
                           sample_every=100, snapshots=2, expansion_steps=100, transient_ps=0.2,
                           min_phase_thickness_A=8.0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("md_run")
    with lammps_log(d / "log.lammps"):
        rec, snap = run_condition("Al", AL, MD, 760, seed=11)
    write_run(rec, snap, d / "run.json", d / "snapshots.npz")
    return d


def test_extxyz_reads_back_with_the_npz_positions_cell_and_columns(run, tmp_path):
    out = tmp_path / "snapshots.extxyz"
    assert write_extxyz(run / "snapshots.npz", out) == 2
    snap = read_snapshots(run / "snapshots.npz")
    frames = read(out, index=":", format="extxyz")
    assert len(frames) == snap["positions_A"].shape[0] == 2
    for i, atoms in enumerate(frames):
        assert len(atoms) == snap["positions_A"].shape[1] == 432
        assert set(atoms.get_chemical_symbols()) == {"Al"}
        assert np.allclose(atoms.positions, snap["positions_A"][i], atol=1e-6)
        assert np.allclose(atoms.cell.array, snap["cell_A"][i], atol=1e-6)
        assert atoms.pbc.all()
        for key in EXTXYZ_COLUMNS:
            col = atoms.arrays[key]
            if snap[key].dtype == bool:
                assert col.dtype == bool and np.array_equal(col, snap[key][i]), key
            elif np.issubdtype(snap[key].dtype, np.integer):
                assert np.array_equal(col, snap[key][i]), key
            else:
                assert np.allclose(col, snap[key][i], rtol=1e-6, atol=1e-6), key
        assert atoms.info["time_ps"] == pytest.approx(snap["time_ps"][i])
        assert np.allclose(atoms.info["interface_z_A"], snap["interface_z_A"][i])
    assert frames[0].arrays["solid"].any() and not frames[0].arrays["solid"].all()   # a two-phase slab


def test_in_lammps_is_the_runs_input_script(run, tmp_path):
    write_input_script(run / "run.json", tmp_path / "in.lammps")
    script = (tmp_path / "in.lammps").read_text()
    assert script == json.loads((run / "run.json").read_text())["input_script"]
    assert "pair_coeff" in script and "Al_mm.eam.fs" in script
    assert not any(line.startswith("log ") for line in script.splitlines())   # where the log went is not the run


def test_the_lammps_log_holds_every_instance_of_the_run(run):
    text = (run / "log.lammps").read_text()
    assert text.count("# msgnn: LAMMPS instance for") >= 2        # the bulk density runs, then the slab
    assert "Loop time" in text and "pair_style" in text and "Step" in text


def test_run_script_gives_a_rule_with_a_lammps_log_the_lammps_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    logs = Namedlist(["main.log", "r0/log.lammps"])
    logs._set_name("lammps", 1)           # as Snakemake names `log: "...", lammps="..."`
    (tmp_path / "r0").mkdir()
    (tmp_path / "r0" / "log.lammps").write_text("a previous attempt\n")   # no checkpoint: emptied first
    sm = SimpleNamespace(rule="md_run", wildcards={"replica": "0"}, log=logs, params=Namedlist(), input=Namedlist(),
                         output=Namedlist(["out.txt"]), config={}, threads=1)

    def main(sm):
        with Lammps(context="a test instance") as c:
            c("units metal")
            c("region box block 0 1 0 1 0 1")
        (tmp_path / "out.txt").write_text("done")

    run_script(sm, main)
    text = (tmp_path / "r0" / "log.lammps").read_text()
    assert "a previous attempt" not in text
    assert "# msgnn: LAMMPS instance for a test instance" in text and "region box block 0 1 0 1 0 1" in text


def test_a_corrupt_npz_is_named(tmp_path):
    bad = tmp_path / "snapshots.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="snapshots.npz"):
        write_extxyz(bad, tmp_path / "x.extxyz")
    assert not (tmp_path / "x.extxyz").exists()
    (tmp_path / "run.json").write_text(json.dumps({"material": "Al"}))
    with pytest.raises(InputFileError, match="run.json.*input_script"):
        write_input_script(tmp_path / "run.json", tmp_path / "in.lammps")
