"""Where a run's time went: every job on a time axis and the summed time per rule, read from the
provenance records (each holds its job's start and finish), so a run on 2 cores shows which jobs
kept which core busy and what the wall time was spent waiting for."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd

from msgnn.workflow.provenance.lineage import Run, job_label


# target rules: they only name inputs, run no script and leave no record
TARGET_RULES = ("all", "md_all")


def job_stats(snakemake_output: str) -> Counter:
    """{rule: jobs} from the 'Job stats' table Snakemake prints for a run or a dry run (`-n`),
    without the target rules; empty when it planned nothing ("Nothing to be done")."""
    counts, table = Counter(), False
    for line in snakemake_output.splitlines():
        if line.startswith("Job stats:"):
            table = True
        elif table and (m := re.match(r"^(\w+)\s+(\d+)\s*$", line)):
            if m.group(1) == "total":
                break
            if m.group(1) not in TARGET_RULES:
                counts[m.group(1)] += int(m.group(2))
    return counts


def job_table(results: str | Path = "results", since: float | None = None) -> pd.DataFrame:
    """One row per job that left a provenance record: rule, job, start, end (UTC), wall_s,
    threads; sorted by start. Records without times (files made outside a job) are left out, and
    with `since` (epoch seconds) the jobs that started before it (an earlier run's)."""
    rows = [{"rule": rec["rule"], "job": job_label(rec), "start": rec["started"], "end": rec["finished"],
             "threads": int(rec.get("threads") or 1), "wall_s": rec.get("wall_s")}
            for rec in Run(results).jobs.values() if rec.get("started") and rec.get("finished")]
    df = pd.DataFrame(rows, columns=["rule", "job", "start", "end", "threads", "wall_s"])
    df["start"], df["end"] = pd.to_datetime(df["start"], utc=True), pd.to_datetime(df["end"], utc=True)
    # the records' own wall_s is finer than their start/finish stamps (whole seconds)
    df["wall_s"] = pd.to_numeric(df["wall_s"]).fillna((df["end"] - df["start"]).dt.total_seconds())
    if since is not None:
        df = df[df["start"] >= pd.Timestamp(since, unit="s", tz="UTC")]
    return df.sort_values(["start", "rule", "job"], ignore_index=True)


def rule_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, summed and longest job time (s), share of all job time; longest first."""
    t = jobs.groupby("rule")["wall_s"].agg(jobs="size", total_s="sum", longest_s="max")
    t["share"] = t["total_s"] / t["total_s"].sum()
    return t.sort_values("total_s", ascending=False)


def span_s(jobs: pd.DataFrame) -> float:
    """Wall time from the first job's start to the last job's end."""
    return float((jobs["end"].max() - jobs["start"].min()).total_seconds()) if len(jobs) else 0.0


def lanes(jobs: pd.DataFrame) -> list[int]:
    """A lane per job such that jobs in one lane never overlap (first free lane, in start order):
    with one-thread jobs the number of lanes is the peak number of jobs running at once."""
    free_at: list[pd.Timestamp] = []
    out = []
    for start, end in zip(jobs["start"], jobs["end"]):
        lane = next((i for i, t in enumerate(free_at) if t <= start), len(free_at))
        if lane == len(free_at):
            free_at.append(end)
        else:
            free_at[lane] = end
        out.append(lane)
    return out


def plot_timeline(jobs: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Every job as a bar on its lane against minutes since the run's first job, coloured by rule
    (the eight rules with the most time named, the rest grey)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from msgnn.io import save_figure

    t0 = jobs["start"].min()
    lane = lanes(jobs)
    top = list(rule_table(jobs).index[:8])
    colours = dict(zip(top, plt.get_cmap("tab10").colors))
    fig, ax = plt.subplots(figsize=(9, 0.35 * max(lane, default=0) + 2.2))
    for (_, j), y in zip(jobs.iterrows(), lane):
        ax.barh(y, j["wall_s"] / 60, left=(j["start"] - t0).total_seconds() / 60, height=0.8,
                color=colours.get(j["rule"], "lightgrey"), edgecolor="white", linewidth=0.3)
    handles = [Patch(color=c, label=rule) for rule, c in colours.items()] + [Patch(color="lightgrey", label="other rules")]
    n_lanes = max(lane, default=0) + 1
    ax.set_yticks(range(n_lanes), [str(i + 1) for i in range(n_lanes)])
    ax.set_xlabel("minutes since the first job started")
    ax.set_ylabel("lane (jobs running at once)")
    busy = jobs["wall_s"].sum()
    wall = span_s(jobs)
    ax.set_title(title or f"{len(jobs)} jobs, wall {wall / 60:.1f} min, job time {busy / 60:.1f} min "
                          f"({busy / max(wall, 1e-9):.2f} jobs running on average)", fontsize=9)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.invert_yaxis()
    save_figure(fig, path)


def md_throughput(results: str | Path = "results", since: float | None = None) -> pd.DataFrame:
    """One row per growth run (rule md_run) of the run: atoms, MD steps of the slab (melt,
    equilibration, growth), the job's wall time and its throughput in katom-steps/s. The wall
    time is the whole job's (the NPT lattice-constant runs, classification and Python included),
    so this is what a job delivers, a little below what LAMMPS alone does in its loop
    (benchmarks/md_python_vs_cli.py compares the two)."""
    from msgnn.io import read_json

    workdir, rows = Path(results).parent, []
    for rec in Run(results).jobs.values():
        if rec["rule"] != "md_run" or not rec.get("wall_s") or not rec.get("started"):
            continue
        if since is not None and pd.Timestamp(rec["started"]) < pd.Timestamp(since, unit="s", tz="UTC"):
            continue
        run = read_json(workdir / next(o["path"] for o in rec["outputs"] if o["path"].endswith("run.json")))
        md = run["md_settings"]
        steps = int(md["melt_steps"] + md["equilibrate_steps"] + md["growth_steps"])
        rows.append({"job": job_label(rec), "material": run["material"], "n_atoms": int(run["n_atoms"]),
                     "steps": steps, "wall_s": float(rec["wall_s"]),
                     "katom_steps_per_s": run["n_atoms"] * steps / float(rec["wall_s"]) / 1e3})
    return pd.DataFrame(rows, columns=["job", "material", "n_atoms", "steps", "wall_s", "katom_steps_per_s"])


def write_timeline(results: str | Path, out_dir: str | Path, since: float | None = None) -> pd.DataFrame:
    """{out_dir}/timeline.png, {out_dir}/time_per_rule.csv of the run's jobs and, where growth runs
    ran, {out_dir}/md_throughput.csv (md_throughput); the rule table."""
    jobs = job_table(results, since)
    if jobs.empty:
        raise ValueError(f"{results}: no job records{' since the given time' if since else ''}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_timeline(jobs, out / "timeline.png")
    table = rule_table(jobs)
    table.round(3).to_csv(out / "time_per_rule.csv")
    md = md_throughput(results, since)
    if len(md):
        md.round(3).to_csv(out / "md_throughput.csv", index=False)
    return table
