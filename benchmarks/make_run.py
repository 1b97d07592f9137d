"""Benchmark (not a test): the README's main command, `make run`, from fresh clones (issue 17).

Per run: `git clone` of this repository's HEAD into a new folder (what a user gets, the shipped
data/library included), `make install` timed on its own, then `make run` from the empty results/
folder, then a no-op rerun (`snakemake --cores all all md_all` with everything current) and a dry
run after changing one training setting (train.epochs + 1): the rules it would rerun. Collected
per run: the wall times, the jobs per rule, the per-rule job time and the timeline figure `make run`
wrote (results/report/time_per_rule.csv, timeline.png), the load of the machine before the start,
and the one-screen summary with the targets (`msgnn summary`). Written to --out (JSON) with the
timeline figures beside it, and printed as a Markdown table for the README.

    python benchmarks/make_run.py [--runs 2] [--config tests/smoke_config.yaml] [--workdir /tmp/msgnn-make-run]
                                  [--out benchmarks/results/make_run.json]

`make install` points the editable install at the clone (as `.ci/run` does); at the end this
script points it back at this checkout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from msgnn.workflow.config import load
from msgnn.workflow.timeline import job_stats

ROOT = Path(__file__).resolve().parents[1]
# what a changed training setting may rerun (issue 17): training, tuning and the report
TRAINING_AND_AFTER = {"train", "train_tuned", "tune", "tune_baseline", "tune_worker", "report"}


def timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, str]:
    t0 = time.time()
    # its own process group, so that a stopped benchmark also stops the snakemake under `make`
    with subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as proc:
        try:
            out, _ = proc.communicate()
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            raise
    wall = time.time() - t0
    log.write_text(out)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd} (rc {proc.returncode}); its output: {log}")
    return wall, out


def one_run(i: int, workdir: Path, config: Path | None, out_dir: Path) -> dict:
    clone = workdir / f"run{i}"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    if config:      # DVC reads params from config.yaml: every section spelled out, defaults filled in
        (clone / "config.yaml").write_text(yaml.safe_dump(load(config)))
    logs = workdir / f"run{i}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    install_s, _ = timed(["make", "install"], clone, logs / "install.log")
    print(f"run {i}: make install {install_s:.0f} s; make run ...", flush=True)
    wall_s, out = timed(["make", "run"], clone, logs / "make_run.log")
    print(f"run {i}: make run {wall_s / 60:.1f} min", flush=True)
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "all"]
    noop_s, noop_out = timed([*snakemake, "all", "md_all"], clone, logs / "noop.log")
    cfg_path = clone / "config.yaml"
    original = cfg_path.read_text()
    cfg = yaml.safe_load(original)
    cfg.setdefault("train", {})["epochs"] = load(cfg_path)["train"]["epochs"] + 1   # schema default filled in
    cfg_path.write_text(yaml.safe_dump(cfg))
    _, dry = timed([*snakemake, "all", "md_all", "-n"], clone, logs / "changed_epochs_dry_run.log")
    cfg_path.write_text(original)
    rerun = job_stats(dry)
    report = clone / "results/report"
    shutil.copy(report / "timeline.png", out_dir / f"make_run_timeline_run{i}.png")
    per_rule = pd.read_csv(report / "time_per_rule.csv")
    return {
        "run": i, "clone": str(clone), "load_average_before": load_before,
        "install_s": round(install_s, 1), "make_run_s": round(wall_s, 1),
        "jobs": job_stats(out), "noop_rerun_s": round(noop_s, 2),
        "noop_nothing_to_do": "Nothing to be done" in noop_out,
        "changed_train_epochs_reruns": rerun,
        "changed_train_epochs_only_training": set(rerun) <= TRAINING_AND_AFTER,
        "per_rule": per_rule.to_dict(orient="records"),
        "summary": subprocess.run(["msgnn", "summary", "results"], cwd=clone, capture_output=True,
                                  text=True).stdout,
    }


def markdown(runs: list[dict]) -> str:
    lines = ["| run | make install | make run | jobs | no-op rerun | train.epochs changed reruns |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['run']} | {r['install_s']:.0f} s | {r['make_run_s'] / 60:.1f} min | "
                     f"{sum(r['jobs'].values())} | {r['noop_rerun_s']:.1f} s | "
                     + ", ".join(f"{k} {v}" for k, v in sorted(r["changed_train_epochs_reruns"].items())) + " |")
    first = pd.DataFrame(runs[0]["per_rule"])
    lines += ["", "Job time per rule (run 1):", "", first.to_markdown(index=False, floatfmt=".3g")]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--config", type=Path, help="replace the clone's config.yaml by this file (e.g. the smoke config)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/msgnn-make-run"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/make_run.json")
    args = ap.parse_args()
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip():
        print("note: uncommitted changes are not in the clones (they get HEAD)", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # SIGTERM (kill, pkill) ends the runs through `finally`: the install points back at this checkout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("make_run.py: terminated"))
    try:
        runs = [one_run(i, args.workdir, args.config and args.config.resolve(), args.out.parent)
                for i in range(1, args.runs + 1)]
    finally:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)], check=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {"commit": head, "config": str(args.config or "config.yaml"), "machine": {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "runs": runs}
    args.out.write_text(json.dumps(result, indent=1, default=dict))
    print(markdown(runs))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
