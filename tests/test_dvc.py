"""DVC: `dvc repro` runs the pipeline (smoke scale) in a clone and `dvc push` stores the results."""
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from msgnn.config import load

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, timeout=900):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def test_dvc_pipeline_declares_params_metrics_and_plots():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    declared = {k for st in dvc["stages"].values() for p in st.get("params", []) for k in p["config.yaml"]}
    assert declared == set(cfg), set(cfg) ^ declared
    assert "results/report/metrics.json" in str(dvc["stages"]["report"]["metrics"])
    assert (ROOT / ".dvc" / "config").read_text().count("remote = local") == 1


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_dvc_repro_and_push_at_smoke_scale(tmp_path):
    repo = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(ROOT), str(repo)], tmp_path)
    # DVC reads params from config.yaml, so every section must be spelled out: write the smoke
    # config with its defaults filled in
    (repo / "config.yaml").write_text(yaml.safe_dump(load(ROOT / "tests/smoke_config.yaml")))
    run(["dvc", "remote", "add", "--local", "-f", "-d", "scratch", str(tmp_path / "remote")], repo)
    run(["dvc", "repro"], repo, timeout=1100)
    metrics = json.loads((repo / "results/report/metrics.json").read_text())
    assert set(metrics["models"]) >= {"msgnn", "mlp", "svr"}
    assert "changed" not in run(["dvc", "status"], repo).lower()
    run(["dvc", "push"], repo)
    assert any((tmp_path / "remote").rglob("*")), "dvc push stored nothing in the remote"
