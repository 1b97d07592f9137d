"""Restart/resume of the slab growth run: a run killed (SIGKILL) after writing a checkpoint resumes
from it instead of starting over, and its outputs are complete and continuous; a checkpoint of
another run, or an unreadable one, is ignored with a warning."""
import json
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from md_helpers import AL
from msgnn.md.settings import SlabSettings
from msgnn.md.slab import CHECKPOINT_STATE, load_checkpoint, simulate

ROOT = Path(__file__).resolve().parents[1]
MD = SlabSettings.defaults(cells=[3, 3, 14], melt_steps=800, equilibrate_steps=200, growth_steps=4000,
                           sample_every=100, snapshots=3, expansion_steps=200, transient_ps=1.0,
                           min_phase_thickness_A=8.0, checkpoint_every_ps=1.0)
SAMPLE_PS = 100 * 2.0 / 1000
CHILD = ("import json, sys; from msgnn.md.settings import Material, SlabSettings; "
         "from msgnn.md.slab import simulate; a = json.loads(sys.argv[1]); "
         "simulate('Al', Material.from_dict(a['material']), SlabSettings.from_dict(a['md']), 760, 11, "
         "a['run'], a['snap'], checkpoint_dir=a['ckpt'])")


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Start a run in a subprocess, SIGKILL it as soon as a checkpoint exists; keep a copy of the checkpoint."""
    root = tmp_path_factory.mktemp("restart")
    out, ckpt = root / "out", root / "out" / "checkpoint"
    args = {"material": AL.to_dict(), "md": MD.to_dict(), "run": str(out / "run.json"), "snap": str(out / "snapshots.npz"),
            "ckpt": str(ckpt)}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while not (ckpt / CHECKPOINT_STATE).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    log = proc.communicate()[0].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, log[-3000:]      # killed mid-run, not finished or failed
    assert not (out / "run.json").exists() and not (out / "snapshots.npz").exists()
    restarts = sorted(ckpt.glob("restart.*"))
    assert 1 <= len(restarts) <= 2, restarts                     # only the latest (2 if killed while replacing)
    shutil.copytree(ckpt, root / "copy")
    return {"out": out, "ckpt": ckpt, "copy": root / "copy"}


def test_killed_run_resumes_from_its_checkpoint(killed, caplog):
    out, ckpt = killed["out"], killed["ckpt"]
    with caplog.at_level(logging.INFO, logger="msgnn.md.slab"):
        rec = simulate("Al", AL, MD, 760, 11, out / "run.json", out / "snapshots.npz", checkpoint_dir=ckpt)
    assert "resumed from t = " in caplog.text
    t0 = rec["resumed_from_ps"]
    assert t0 is not None and 0 < t0 < MD.growth_steps * 2.0 / 1000
    script = rec["input_script"]
    assert script.count("# lammps ") == 2                         # the killed instance's part, then ours
    assert script.index("velocity solid create") < script.index("write_restart") < script.index("read_restart")
    after = script[script.index("read_restart"):]
    for cmd in ("pair_coeff", "compute bonds", "fix lang all langevin", "fix integ all nph"):
        assert cmd in after, cmd
    # the time series runs from 0 to the end, one sample per 0.2 ps, nothing duplicated or missing
    ser = rec["solid_count_series"]
    t = np.array(ser["time_ps"])
    assert t[0] == 0 and t[-1] == pytest.approx(MD.growth_steps * 2.0 / 1000)
    assert np.allclose(np.diff(t), SAMPLE_PS) and t0 in ser["time_ps"]
    for k in ("n_solid", "n_solid_lower", "n_solid_upper", "box_lz_A", "temperature_K"):
        assert len(ser[k]) == t.size, k
    assert len(rec["thermo"]["temp_K"]) == t.size - 1
    assert abs(np.mean(rec["thermo"]["temp_K"]) - 760) < 60
    assert rec["velocity_m_per_s"] > 2 * rec["stderr_m_per_s"] > 0  # still a growing crystal
    # outputs valid, checkpoint gone
    assert json.loads((out / "run.json").read_text())["resumed_from_ps"] == t0
    with np.load(out / "snapshots.npz") as z:
        assert z["positions_A"].shape == (3, rec["n_atoms"], 3) and np.all(np.isfinite(z["positions_A"]))
        assert np.all(np.diff(z["time_ps"]) > 0)
    assert not ckpt.exists()


def test_checkpoint_of_another_run_is_ignored(killed, tmp_path, caplog):
    ckpt = tmp_path / "checkpoint"
    shutil.copytree(killed["copy"], ckpt)
    with caplog.at_level(logging.WARNING, logger="msgnn.md.slab"):    # same run but another seed
        rec = simulate("Al", AL, MD, 760, 12, tmp_path / "run.json", tmp_path / "snapshots.npz", checkpoint_dir=ckpt)
    assert "belongs to another run" in caplog.text
    assert rec["resumed_from_ps"] is None and "read_restart" not in rec["input_script"]
    assert rec["solid_count_series"]["time_ps"][-1] == pytest.approx(8.0) and rec["checkpoints_written"] == 7
    assert not ckpt.exists() and (tmp_path / "run.json").is_file()


def test_unreadable_or_incomplete_checkpoint_is_ignored(killed, tmp_path, caplog):
    key = pickle.loads((killed["copy"] / CHECKPOINT_STATE).read_bytes())["key"]
    ckpt = tmp_path / "checkpoint"
    shutil.copytree(killed["copy"], ckpt)
    assert load_checkpoint(ckpt, key) is not None                 # the copy itself is valid
    restarts = list(ckpt.glob("restart.*"))
    with caplog.at_level(logging.WARNING, logger="msgnn.md.slab"):
        for p in restarts:                                        # a truncated restart file
            p.write_bytes(p.read_bytes()[:1000])
        assert load_checkpoint(ckpt, key) is None
        for p in restarts:
            p.unlink()
        assert load_checkpoint(ckpt, key) is None
        (ckpt / CHECKPOINT_STATE).write_bytes(b"\x80\x05 truncated")
        assert load_checkpoint(ckpt, key) is None
    assert "truncated" in caplog.text and "missing" in caplog.text and "unreadable" in caplog.text
