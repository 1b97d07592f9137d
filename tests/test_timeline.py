"""The run timeline (msgnn/workflow/timeline.py) read from provenance records."""
import json

import pandas as pd

from msgnn.workflow.timeline import job_stats, job_table, lanes, plot_timeline, rule_table, span_s, write_timeline


def write_record(results, rule, name, start, end):
    d = results / "provenance" / rule
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.json").write_text(json.dumps({
        "rule": rule, "wildcards": {"x": name}, "inputs": [], "outputs": [{"path": f"results/{name}"}],
        "threads": 1, "started": f"2026-12-07T12:{start}+00:00", "finished": f"2026-12-07T12:{end}+00:00"}))


def test_jobs_on_lanes_and_time_per_rule(tmp_path):
    results = tmp_path / "results"
    # two cores: a and b overlap, c starts when a ends, d when b ends; e overlaps c and d -> 3 at once
    write_record(results, "md_run", "a", "00:00", "01:00")
    write_record(results, "md_run", "b", "00:10", "02:00")
    write_record(results, "md_melting", "c", "01:00", "03:00")
    write_record(results, "train", "d", "02:00", "02:30")
    write_record(results, "train", "e", "02:10", "02:20")
    jobs = job_table(results)
    assert list(job_table(results, since=pd.Timestamp("2026-12-07T12:02:00Z").timestamp())["job"]) == ["train x=d", "train x=e"]
    assert list(jobs["job"]) == ["md_run x=a", "md_run x=b", "md_melting x=c", "train x=d", "train x=e"]
    assert lanes(jobs) == [0, 1, 0, 1, 2]
    assert span_s(jobs) == 180
    t = rule_table(jobs)
    assert list(t.index) == ["md_run", "md_melting", "train"]     # most time first
    assert t.loc["md_run", "total_s"] == 60 + 110 and t.loc["md_run", "longest_s"] == 110
    assert abs(t["share"].sum() - 1) < 1e-12
    plot_timeline(jobs, tmp_path / "timeline.png")
    assert (tmp_path / "timeline.png").stat().st_size > 5000
    table = write_timeline(results, tmp_path / "out")
    assert (tmp_path / "out/timeline.png").is_file() and list(table.index) == list(t.index)


def test_md_throughput_per_growth_run(tmp_path):
    """katom-steps/s of each md_run job: atoms x (melt + equilibration + growth steps) / the job's wall time."""
    from msgnn.workflow.timeline import md_throughput

    results = tmp_path / "results"
    write_record(results, "md_run", "a", "00:00", "01:00")
    write_record(results, "md_melting", "c", "01:00", "03:00")
    rec = results / "provenance" / "md_run" / "a.json"
    r = json.loads(rec.read_text())
    r.update(wall_s=60.0, outputs=[{"path": "results/md/Al/100/T800/r0/run.json"}])
    rec.write_text(json.dumps(r))
    run = results / "md/Al/100/T800/r0/run.json"
    run.parent.mkdir(parents=True)
    run.write_text(json.dumps({"material": "Al", "n_atoms": 1536,
                               "md_settings": {"melt_steps": 1500, "equilibrate_steps": 250, "growth_steps": 12500}}))
    md = md_throughput(results)
    assert list(md["material"]) == ["Al"] and md["steps"].iloc[0] == 14250
    assert abs(md["katom_steps_per_s"].iloc[0] - 1536 * 14250 / 60 / 1e3) < 1e-9
    write_timeline(results, tmp_path / "out")
    assert pd.read_csv(tmp_path / "out/md_throughput.csv")["n_atoms"].tolist() == [1536]


def test_job_stats_reads_snakemakes_table_without_the_target_rules():
    out = """Building DAG of jobs...
Job stats:
job              count
-------------  -------
all                  1
md_all               1
md_run              48
train                4
total               54

Select jobs to execute...
rule md_run:
"""
    assert job_stats(out) == {"md_run": 48, "train": 4}
    assert job_stats("Building DAG of jobs...\nNothing to be done (all requested files are present and up to date).\n") == {}
