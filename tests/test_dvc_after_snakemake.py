"""`make run`, then `dvc repro`: DVC must not redo what Snakemake finished (docs/dvc.md).

DVC removes a stage's outputs before it runs the stage, so a `dvc repro` that finds no record in
dvc.lock would throw away the finished MD results and compute everything again. `make run` ends
with `make version` (`dvc commit --force dvc.yaml`), which records in dvc.lock what Snakemake made;
then `dvc status` is clean and `dvc repro` skips every stage, changing no file and no file time.

At smoke scale, reusing the session's Snakemake run (fixture `smoke_run`): its results are copied,
file times kept, into a repository made from the working tree, as if Snakemake had run there; the
targets of `make run` (`all md_all`) run there first (md_all's few jobs beyond `all`), then the
Makefile's post-step itself.
"""
import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from conftest import GIT_USER, SMOKE_CONFIG, SNAKEMAKE_HERE, repo_env, results_hashes, run, working_tree_repo
from msgnn.workflow.timeline import job_stats

ROOT = Path(__file__).resolve().parents[1]


def result_times(repo: Path) -> dict[str, int]:
    return {str(p.relative_to(repo)): p.stat().st_mtime_ns for p in sorted((repo / "results").rglob("*"))
            if p.is_file()}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_dvc_repro_after_make_run_recomputes_nothing(smoke_run, tmp_path):
    from msgnn.workflow.config import load

    repo = working_tree_repo(tmp_path / "repo")
    (repo / "config.yaml").write_text(yaml.safe_dump(load(SMOKE_CONFIG)))   # DVC params: every key spelled out
    run(["git", *GIT_USER, "commit", "-q", "-am", "smoke config"], repo)
    shutil.copytree(smoke_run.path / "results", repo / "results", symlinks=True)   # copy2: file times kept
    env = repo_env(repo)

    # make run's Snakemake step: the session's run made `all`; md_all adds a few MD jobs
    t0 = time.time()
    res = run([*SNAKEMAKE_HERE, "all", "md_all", "--cores", "2"], repo, timeout=900, env=env)
    print(f"snakemake all md_all on top of the smoke run: {time.time() - t0:.0f} s")
    ran = job_stats(res.stdout + res.stderr)
    print(f"jobs beyond `all`: {dict(ran)}")
    assert not set(ran) & {"dataset", "train", "train_tuned", "tune", "tune_baseline", "report"}, ran

    # make run's post-step
    t0 = time.time()
    res = run(["make", "--no-print-directory", "version"], repo, timeout=900, env=env)
    print(f"make version (dvc commit + dvc status): {time.time() - t0:.1f} s")
    assert "Data and pipelines are up to date" in res.stdout, res.stdout + res.stderr
    assert (repo / "dvc.lock").exists()
    assert json.loads(run(["dvc", "status", "--json", "dvc.yaml"], repo).stdout or "{}") == {}

    hashes, times = results_hashes(repo), result_times(repo)
    t0 = time.time()
    res = run(["dvc", "repro", "dvc.yaml"], repo, timeout=900, env=env)
    repro_s = time.time() - t0
    print(f"dvc repro after make run: {repro_s:.1f} s")
    out = res.stdout + res.stderr
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    for stage in stages:
        assert f"Stage '{stage}' didn't change, skipping" in out, out[-3000:]
    assert "Running stage" not in out, out[-3000:]
    assert results_hashes(repo) == hashes, "dvc repro changed result files"
    assert result_times(repo) == times, "dvc repro rewrote result files"
    assert json.loads(run(["dvc", "status", "--json", "dvc.yaml"], repo).stdout or "{}") == {}

    # the plots of dvc.yaml (loss curves, predictions, the report's figures) render
    res = run(["dvc", "plots", "show", "--json"], repo, timeout=300)
    shown = json.loads(res.stdout[res.stdout.index("{"):])
    assert not shown.get("errors"), shown["errors"]
    assert {"loss_msgnn", "loss_mlp", "parity", "results/report/loss_curves.png"} <= set(shown["data"]), list(shown["data"])
