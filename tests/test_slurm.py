"""The SLURM profile (profiles/slurm) and the smoke workflow through a real SLURM scheduler.

- test_profile_requests: what the profile asks SLURM for per rule (a dry run, no cluster needed).
- test_smoke_workflow_through_slurm (slow): a single-node cluster (munged, slurmctld, slurmd on
  this machine, tests/slurm/cluster.py; Debian packages installed with apt-get when missing) runs
  the smoke config with `--profile profiles/slurm` and the SLURM executor plugin, up to the MS-GNN
  training and its Optuna study (SLURM_TARGETS: 33 jobs of nine rules, MD, micrographs, reactor
  logs, dataset, the GPU-requesting train and tune jobs; the other 18 jobs of the smoke DAG, the
  baselines and the report, are the same kind of job and run in the local smoke run and in
  `dvc repro`, tests/conftest.py). The cluster has no accounting database, so `sacct` fails there
  and the run only finishes if the profile chose `squeue` as the status command. Checked: the run
  succeeds, the key outputs are right, and every job ran as its own SLURM job of this run: each
  provenance record carries a SLURM job id, squeue knows each id as a COMPLETED job whose comment
  names the record's rule, in the partition named by MSGNN_SLURM_PARTITION, and the plugin wrote a
  SLURM log for each.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from slurm.cluster import ClusterUnavailable, SingleNodeCluster, install
from msgnn.workflow.timeline import job_stats
from smoke_checks import check_provenance, check_studies

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
PROFILE = ROOT / "profiles/slurm"
# up to the MS-GNN training and its study, with Al's v(T) above and below Tm (a subset of the smoke
# DAG: the whole DAG through SLURM cost ~500 s of the suite's ~17 min)
SLURM_TARGETS = ["results/train/msgnn/metrics.json", "results/tune/best_params.json", "results/md/Al/kinetics.json"]
SITE_VARS = ("MSGNN_SLURM_PARTITION", "MSGNN_SLURM_ACCOUNT", "MSGNN_SLURM_GPUS", "MSGNN_SLURM_STATUS_COMMAND")


def site_env(**values) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SITE_VARS}
    return {**env, **values}


def dry_run_resources(workdir: Path, env: dict) -> dict:
    """{(rule, wildcards): {resource: value}} of every job of a dry run with the SLURM profile."""
    shutil.copy(ROOT / "tests/smoke_config.yaml", workdir / "config.yaml")
    res = subprocess.run([*SNAKEMAKE, "-n", "--profile", str(PROFILE), "--directory", str(workdir),
                          "--configfile", "config.yaml"], cwd=workdir, capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    jobs, rule, wildcards = {}, None, ""
    for line in res.stdout.splitlines():
        if m := re.match(r"(local)?rule (\w+):", line):
            # local rules and the input-only target rule `all` are not submitted
            rule, wildcards = (None if m.group(1) or m.group(2) == "all" else m.group(2)), ""
        elif line.strip().startswith("wildcards:"):
            wildcards = line.split(":", 1)[1].strip()
        elif line.strip().startswith("resources:") and rule:
            jobs[(rule, wildcards)] = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].strip().split(", "))
    return jobs


def test_profile_requests(tmp_path):
    """MD: one task with one CPU; GPUs only for the MS-GNN jobs and only when asked; memory and
    runtime on every job; the partition from MSGNN_SLURM_PARTITION."""
    (tmp_path / "gpu").mkdir()
    gpu = dry_run_resources(tmp_path / "gpu", site_env(MSGNN_SLURM_GPUS="2", MSGNN_SLURM_PARTITION="gpu-a100"))
    assert {"md_run", "md_melting", "md_nucleation", "train", "train_tuned", "tune", "report"} <= {k[0] for k in gpu}
    for (rule, wc), r in gpu.items():
        assert int(r["mem_mb"]) > 0 and int(r["runtime"]) > 0, (rule, r)
        assert r["slurm_partition"] == "gpu-a100", (rule, r)
        if rule.startswith("md_") and rule not in ("md_condition", "md_kinetics"):
            assert (r["tasks"], r["cpus_per_task"]) == ("1", "1"), (rule, r)
        msgnn = rule == "tune" or (rule in ("train", "train_tuned") and wc in ("model=msgnn", "base=msgnn"))
        assert r.get("gpu", "0") == ("2" if msgnn else "0"), (rule, wc, r)
    assert sum(r.get("gpu") == "2" for r in gpu.values()) == 3   # train msgnn, train_tuned msgnn, tune

    (tmp_path / "cpu").mkdir()
    cpu = dry_run_resources(tmp_path / "cpu", site_env())
    assert not any("gpu" in r or "slurm_partition" in r for r in cpu.values())


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    try:
        install_s = install()
        cluster = SingleNodeCluster(tmp_path_factory.mktemp("slurm-state"))
        cluster.start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no SLURM test cluster: {exc}")
    print(f"\nSLURM: apt-get install {install_s:.0f} s, cluster start {cluster.start_s:.1f} s")
    try:
        yield cluster
    finally:
        cluster.stop()


def squeue_jobs(name: str) -> dict:
    """{job id: (state, comment, partition)} of the jobs named `name` (the plugin names every job
    of a run after the run's id), finished ones included (squeue keeps them for MinJobAge)."""
    res = subprocess.run(["squeue", "--states=all", "--noheader", "--name", name, "--format=%i|%T|%P|%k"],
                         capture_output=True, text=True, timeout=30, check=True)
    rows = [line.split("|", 3) for line in res.stdout.splitlines() if line.strip()]
    return {job_id: (state, comment, partition) for job_id, state, partition, comment in rows}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_smoke_workflow_through_slurm(slurm_cluster, tmp_path):
    sacct = subprocess.run(["sacct", "-X", "--noheader"], capture_output=True, text=True, timeout=30)
    assert sacct.returncode != 0, "this cluster is meant to run without accounting (squeue as status command)"

    shutil.copy(ROOT / "tests/smoke_config.yaml", tmp_path / "config.yaml")
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    env = site_env(MSGNN_SLURM_PARTITION=slurm_cluster.partition)
    cmd = [*SNAKEMAKE, "--profile", str(PROFILE), "--directory", str(tmp_path), "--configfile", "config.yaml",
           # test-only: poll soon after submitting (short smoke jobs); keep every SLURM log to check
           "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs", *SLURM_TARGETS]
    t0 = time.time()
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1700, env=env)
    wall = time.time() - t0
    log = res.stdout + res.stderr
    print(f"smoke workflow through SLURM: {wall:.0f} s wall")
    assert res.returncode == 0, log[-8000:] + "\n" + slurm_cluster.logs()

    # the science came out: the MS-GNN's cross-validated RMSEs, a complete study, v(T) of Al
    msgnn = json.loads((tmp_path / "results/train/msgnn/metrics.json").read_text())
    # log10 units; the smoke run's mean predictor scores 0.3-0.6 over the grouped folds (0.2-1.1 per
    # fold and split; tests/smoke_checks.py bounds the models by it); a broken inverse transform or
    # mixed-up targets gives several decades
    assert all(0 < r < 2.0 for r in msgnn["group_kfold"]["rmse"].values()), msgnn["group_kfold"]["rmse"]
    check_studies(json.loads((tmp_path / "results/tune/best_params.json").read_text())["splits"],
                  n_trials=cfg["tune"]["n_trials"])
    kin = json.loads((tmp_path / "results/md/Al/kinetics.json").read_text())
    by_T = {round(p["temperature_K"]): p["velocity_m_per_s"] for p in kin["velocities"]}
    assert by_T[800] > 0 > by_T[1000], by_T

    # every job left its provenance record and ran as its own SLURM job of this run
    records = check_provenance(tmp_path, log)
    n_jobs = sum(job_stats(log).values())
    job_ids = {r["slurm_job_id"] for r in records}
    assert None not in job_ids, [r["rule"] for r in records if r["slurm_job_id"] is None]
    assert len(job_ids) == n_jobs, "two jobs ran in one SLURM job"
    seen = squeue_jobs(_run_id(log))
    assert set(seen) == job_ids, "SLURM ran jobs without a provenance record, or the reverse"
    for r in records:
        state, comment, partition = seen[r["slurm_job_id"]]
        assert state == "COMPLETED", (r["rule"], r["slurm_job_id"], state)
        assert comment == f"rule_{r['rule']}" or comment.startswith(f"rule_{r['rule']}_wildcards_"), (r["rule"], comment)
        assert partition == slurm_cluster.partition
    slurm_logs = {p.stem for p in (tmp_path / ".snakemake/slurm_logs").rglob("*.log")}
    assert slurm_logs >= job_ids
    print(f"{n_jobs} jobs through SLURM (job ids {min(map(int, job_ids))}-{max(map(int, job_ids))})")


def _run_id(log: str) -> str:
    for line in log.splitlines():
        if "SLURM run ID:" in line:
            return line.split("SLURM run ID:", 1)[1].strip()
    raise AssertionError("the executor logged no SLURM run ID")
