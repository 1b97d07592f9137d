"""DVC: the pipeline declaration, and one `dvc repro` at smoke scale (the `dvc_repro` fixture in
conftest.py) reused for the whole round trip:

- `dvc push`, then a fresh `git clone` + `dvc remote add` + `dvc pull` restores every results file
  byte for byte, and `dvc status` is clean there;
- after the pull, `snakemake all md_all --touch --forceall` (docs/dvc.md: DVC does not keep file
  times, its checksums already proved the results current) leaves Snakemake with nothing to do and
  the files unchanged; where the results were made, shuffled file times change nothing either;
- a change to one config parameter (the reactor noise) makes `dvc status` name only the reactor
  stage and makes Snakemake plan only the reactor jobs and what depends on them.
"""
import json
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import SNAKEMAKE_HERE, repo_env, results_hashes, run
from msgnn.workflow.timeline import job_stats

ROOT = Path(__file__).resolve().parents[1]
# the rules downstream of the reactor logs; nothing else may rerun when only reactor.noise changes
REACTOR_AND_DOWNSTREAM = {"reactor_log", "reactor_kinetics", "reactor_recovery", "dataset", "train",
                          "train_tuned", "tune", "tune_baseline", "tune_worker", "report", "all"}
# rules that do not run in every configuration: DVC outputs must exist after every run, so their
# records are not stage outputs
CONDITIONAL_RULES = {"tune_worker": "runs only with tune.workers > 1",
                     # the materials library's rules (data/dvc.yaml: their records are copied into data/library)
                     "md_descriptors": "library config only", "md_interface": "library config only",
                     "md_interface_export": "md_export_all only (the interface runs are the library's)",
                     "library": "library config only",
                     # the growth task reads the shipped library (docs/learning_task.md); not in `all` until it ships
                     "growth_task": "runs on data/library (snakemake growth_all)",
                     "growth_studies": "runs on data/library (snakemake growth_all)",
                     "forecast_task": "runs on data/library (snakemake forecast_all)"}


def stage_param_keys(dvc: dict) -> set[str]:
    """Top-level config.yaml sections that some stage declares (a dotted key counts as its section)."""
    return {k.split(".")[0] for st in dvc["stages"].values() for p in st.get("params", [])
            for k in p["config.yaml"]}


def stage_outs(stage: dict) -> list[str]:
    return [next(iter(o)) if isinstance(o, dict) else o
            for key in ("outs", "metrics", "plots") for o in stage.get(key, [])]


# every target a DVC stage runs: `all` (the default) and md_all, which also combines the replicas
# of the MD-only temperatures
TARGETS = ["all", "md_all"]


def dry_run(repo: Path) -> tuple[Counter, str]:
    res = run([*SNAKEMAKE_HERE, *TARGETS, "-n", "--cores", "1"], repo, timeout=300, env=repo_env(repo))
    out = res.stdout + res.stderr
    return job_stats(out), out


def dvc_status(repo: Path) -> dict:
    """`dvc status` of the default-run pipeline (dvc.yaml), the one `dvc repro` runs; the materials
    library's own pipeline (data/dvc.yaml, hours of MD) is not part of it."""
    return json.loads(run(["dvc", "status", "--json", "dvc.yaml"], repo, timeout=300).stdout or "{}")


def shuffle_result_times(repo: Path) -> None:
    """Give every results file a random time between the newest code file's and now."""
    code = [p for p in repo.rglob("*") if p.is_file() and p.relative_to(repo).parts[0] not in
            ("results", ".snakemake", ".dvc", ".git")]
    lo, hi = max(p.stat().st_mtime for p in code) + 1, time.time()
    rng = random.Random(0)
    for p in (repo / "results").rglob("*"):
        t = rng.uniform(lo, hi)
        os.utime(p, (t, t))


def test_dvc_pipeline_declares_params_metrics_and_plots():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    declared = stage_param_keys(dvc)
    assert declared == set(cfg), set(cfg) ^ declared
    assert "results/report/metrics.json" in str(dvc["stages"]["report"]["metrics"])
    assert (ROOT / ".dvc" / "config").read_text().count("remote = local") == 1


def test_dvc_stages_version_every_rule_record_once():
    """Each rule's provenance records are the output of exactly one stage (so a pulled clone has
    them), and no path is the output of two stages."""
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    outs = [o for st in dvc["stages"].values() for o in stage_outs(st)]
    assert len(outs) == len(set(outs)), [o for o in set(outs) if outs.count(o) > 1]
    rules = {m for f in (ROOT / "rules").glob("*.smk")
             for m in re.findall(r"^rule (\w+):", f.read_text(), flags=re.M)}
    tracked = {o.removeprefix("results/provenance/") for o in outs if o.startswith("results/provenance/")}
    expected = rules - set(CONDITIONAL_RULES)
    assert tracked == expected, f"rules without a tracked provenance folder: {expected - tracked}; " \
                                f"tracked folders of no (unconditional) rule: {tracked - expected}"


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_dvc_round_trip_and_selective_rerun(dvc_repro, tmp_path):
    repo1, remote = dvc_repro.path, dvc_repro.extra["remote"]
    metrics = json.loads((repo1 / "results/report/metrics.json").read_text())
    assert set(metrics["models"]) >= {"msgnn", "mlp", "svr"}
    assert dvc_status(repo1) == {}, "dvc status is not clean right after dvc repro"
    assert any(p.is_file() for p in remote.rglob("*")), "dvc push stored nothing in the remote"

    # where the results were made, Snakemake has recorded its inputs' checksums: new file times in
    # any order (as `dvc checkout` gives) with the same bytes rerun nothing (profile: mtime trigger
    # only when the checksum differs too)
    shuffle_result_times(repo1)
    jobs, out = dry_run(repo1)
    assert not jobs and "Nothing to be done" in out, out[-3000:]

    # a fresh clone of what the user pushed to git (code, config, dvc.lock), data from the remote
    repo2 = tmp_path / "repo2"
    run(["git", "clone", "-q", repo1, repo2], tmp_path)
    assert not (repo2 / "results").exists()
    run(["dvc", "remote", "add", "--local", "-f", "-d", "scratch", remote], repo2)
    run(["dvc", "pull"], repo2, timeout=600)
    pulled = results_hashes(repo2)
    assert pulled == dvc_repro.hashes, {
        "missing after pull": sorted(set(dvc_repro.hashes) - set(pulled))[:20],
        "different after pull": sorted(k for k in pulled if dvc_repro.hashes.get(k, pulled[k]) != pulled[k])[:20],
        "extra after pull": sorted(set(pulled) - set(dvc_repro.hashes))[:20]}
    assert dvc_status(repo2) == {}

    # DVC sets every file time to the time of the pull; its checksums say the results are current,
    # so Snakemake is told so (docs/dvc.md) instead of judging by those times. Without that step:
    untold, _ = dry_run(repo2)
    print(f"after dvc pull, before the touch: snakemake -n plans {sum(untold.values())} jobs {dict(untold)}")
    run([*SNAKEMAKE_HERE, *TARGETS, "--touch", "--forceall", "--cores", "1", "--quiet"], repo2, timeout=600,
        env=repo_env(repo2))
    jobs, out = dry_run(repo2)
    assert not jobs and "Nothing to be done" in out, out[-3000:]
    assert results_hashes(repo2) == dvc_repro.hashes, "snakemake --touch changed file contents"
    assert dvc_status(repo2) == {}

    # one parameter changes: only the reactor stage (DVC) and the reactor jobs with what depends
    # on them (Snakemake) are out of date
    cfg = yaml.safe_load((repo2 / "config.yaml").read_text())
    cfg["reactor"]["noise"] = round(cfg["reactor"]["noise"] * 1.5, 6)
    (repo2 / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert set(dvc_status(repo2)) == {"reactor"}
    jobs, out = dry_run(repo2)
    assert jobs["reactor_log"] == len(list((repo2 / "results/reactor").glob("*/T*/raw.csv"))), out[-3000:]
    assert set(jobs) <= REACTOR_AND_DOWNSTREAM, sorted(set(jobs) - REACTOR_AND_DOWNSTREAM)
    assert {"reactor_kinetics", "dataset", "report"} <= set(jobs), jobs

    # the same holds where the results were made (Snakemake's own metadata, no touch needed)
    (repo1 / "config.yaml").write_text(yaml.safe_dump(cfg))
    try:
        jobs1, out1 = dry_run(repo1)
        assert set(jobs1) == set(jobs), (jobs1, jobs)
    finally:
        run(["git", "checkout", "--", "config.yaml"], repo1)


def test_dvc_reads_the_pipeline():
    """DVC itself accepts dvc.yaml (no overlapping outputs, no cycles) and sees the stage order
    md -> microscopy, reactor -> dataset -> train_tune -> report (fast: no workflow run)."""
    listed = run(["dvc", "stage", "list"], ROOT, timeout=120).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert names == list(dvc["stages"]), listed
    dag = run(["dvc", "dag", "--dot"], ROOT, timeout=120).stdout
    edges = set(re.findall(r'"(\w+)" -> "(\w+)"', dag))
    assert {("md", "microscopy"), ("md", "reactor"), ("reactor", "dataset"), ("microscopy", "dataset"),
            ("dataset", "train_tune"), ("train_tune", "report")} <= edges, dag
