"""Faults in the MD stage: a run that cannot start (corrupt potential file) or blows up (absurd
timestep) raises SimulationError quoting LAMMPS's own message and naming the condition and the
potential, writes nothing, and under `snakemake --keep-going` the other materials still finish."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msgnn.errors import SimulationError
from md_helpers import AL, AL_CONFIG
from msgnn.md.lammps_env import resolve_potential
from msgnn.md.settings import SlabSettings
from msgnn.md.slab import simulate

ROOT = Path(__file__).resolve().parents[1]
TINY_MD = {"cells": [3, 3, 12], "melt_steps": 400, "equilibrate_steps": 100, "growth_steps": 2000,
           "sample_every": 100, "snapshots": 2, "expansion_steps": 200, "transient_ps": 1.0}


def _corrupt_potential(path: Path) -> Path:
    """A truncated copy of the real Al potential (what an interrupted download leaves)."""
    path.write_bytes(resolve_potential("Al_mm.eam.fs").read_bytes()[:6000])
    return path


def test_corrupt_potential_raises_simulation_error_and_writes_nothing(tmp_path):
    bad = _corrupt_potential(tmp_path / "Al_truncated.eam.fs")
    out = tmp_path / "out"
    with pytest.raises(SimulationError) as err:
        simulate("AlBad", AL.replace(potential=str(bad)), SlabSettings.defaults(**TINY_MD), 800, 1,
                 out / "run.json", out / "snapshots.npz")
    msg = str(err.value)
    assert "ERROR" in msg and "pair_coeff" in msg, msg      # LAMMPS's own message and the failing command
    assert "AlBad at 800 K" in msg and str(bad) in msg, msg   # the condition and the input file
    assert not out.exists() or not any(out.iterdir())


def test_blown_up_run_raises_simulation_error_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SimulationError) as err:   # 200 fs: atoms fly apart within the first steps
        simulate("Al", AL.replace(timestep_fs=200.0), SlabSettings.defaults(**TINY_MD), 800, 1,
                 out / "run.json", out / "snapshots.npz")
    msg = str(err.value)
    assert "Al at 800 K" in msg and "Al_mm.eam.fs" in msg, msg
    assert "ERROR" in msg or "non-finite" in msg or "blew up" in msg, msg
    assert not out.exists() or not any(out.iterdir())


def test_keep_going_finishes_the_good_material(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests/smoke_config.yaml").read_text())
    bad = _corrupt_potential(tmp_path / "Al_truncated.eam.fs")
    cfg["materials"] = {"Al": {**AL_CONFIG, "temperatures_K": [800, 1000]},
                        "AlBad": {**AL_CONFIG, "potential": str(bad), "temperatures_K": [800, 1000]}}
    cfg["md"].update(TINY_MD, replicas=1)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
                          "results/md/Al/kinetics.json", "results/md/AlBad/kinetics.json",
                          "--cores", "2", "--keep-going", "--directory", str(tmp_path), "--configfile", "config.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    md = tmp_path / "results/md"
    for f in ("kinetics.json", "100/T800/r0/run.json", "100/T800/r0/snapshots.npz", "100/T1000/r0/run.json"):
        assert (md / "Al" / f).is_file(), (f, out[-3000:])
    # nothing of the bad material but the LAMMPS logs of its failed runs, kept to read why
    left = [p for p in (md / "AlBad").rglob("*") if p.is_file()] if (md / "AlBad").exists() else []
    assert all(p.name == "log.lammps" for p in left), left
    log = (tmp_path / "results/logs/md/md_run/AlBad_100_T800_r0.log").read_text()
    assert "SimulationError" in log and "ERROR" in log and "pair_coeff" in log and str(bad) in log, log[-3000:]
