"""Provenance: records (directory outputs, external inputs, LAMMPS build), lineage back to the raw
inputs with modified/stale detection, and the W3C PROV and RO-Crate exports.

Most tests build a tiny run by hand in tmp_path with the real `record` function: a raw input
data/raw.csv -> job `clean` -> results/clean/x.json -> job `images` (a directory output and a
summary, plus an external "potential" outside the run folder) -> job `final` (reads x.json and
the summary). One test runs a real two-job Snakemake target of the workflow.
"""
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msgnn import cli
from msgnn.errors import InputFileError
from msgnn.io import package_versions, sha256
from msgnn.workflow.provenance.lineage import Run, format_lineage, lineage
from msgnn.workflow.provenance.records import Job, file_entries, record, record_external
from msgnn.workflow.provenance.ro_crate import write_ro_crate
from msgnn.workflow.provenance.w3c_prov import write_prov

ROOT = Path(__file__).resolve().parents[1]


def _job(run_dir, rule, wildcards, inputs, outputs, writes, external=()):
    """Write the job's output files (dict path -> text) then its provenance record."""
    for rel, text in writes.items():
        p = run_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    tag = "_".join(f"{k}-{v}" for k, v in sorted(wildcards.items())) or "all"
    record(run_dir / "results/provenance" / rule / f"{tag}.json", Job(
        rule=rule, wildcards=wildcards, inputs=inputs, outputs=outputs, params={"rule": rule}, config_hash="cafe",
        threads=1, started=time.time() - 1, external_inputs=list(external), workdir=run_dir))


@pytest.fixture
def tiny_run(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "data/raw.csv").write_text("t,x\n0,1\n")
    potential = tmp_path / "elsewhere" / "Al.eam"          # outside the run folder, like a LAMMPS potential
    potential.parent.mkdir()
    potential.write_text("potential v1")
    _job(run_dir, "clean", {"material": "Al"}, ["data/raw.csv"], ["results/clean/x.json"],
         {"results/clean/x.json": '{"x": 1}'})
    _job(run_dir, "images", {"material": "Al"}, ["results/clean/x.json"],
         ["results/images/Al/frames", "results/images/Al/summary.json"],
         {"results/images/Al/frames/a.png": "A", "results/images/Al/frames/sub/b.png": "BB",
          "results/images/Al/summary.json": '{"n": 2}'}, external=[potential])
    _job(run_dir, "final", {}, ["results/images/Al/summary.json", "results/clean/x.json"],
         ["results/final.json"], {"results/final.json": '{"ok": true}'})
    return run_dir


def _ids(value):
    """The @ids of an RO-Crate property that holds one entity or a list of them."""
    return {e.id for e in (value if isinstance(value, list) else [value])}


def _rec(run_dir, rule, tag):
    return json.loads((run_dir / "results/provenance" / rule / f"{tag}.json").read_text())


def test_directory_outputs_are_recorded_file_by_file(tiny_run):
    rec = _rec(tiny_run, "images", "material-Al")
    by_path = {o["path"]: o for o in rec["outputs"]}
    d = by_path["results/images/Al/frames"]
    assert d["type"] == "directory" and d["files"] == 2 and d["bytes"] == 3
    for rel in ("results/images/Al/frames/a.png", "results/images/Al/frames/sub/b.png"):
        assert by_path[rel]["sha256"] == sha256(tiny_run / rel)
        assert by_path[rel]["directory"] == "results/images/Al/frames"
    # the directory checksum changes when one file inside it changes
    (tiny_run / "results/images/Al/frames/sub/b.png").write_text("BX")
    again = {e["path"]: e for e in file_entries(["results/images/Al/frames"], tiny_run)}
    assert again["results/images/Al/frames"]["sha256"] != d["sha256"]
    # the external input (the potential) is an input flagged external, with its checksum
    ext = [i for i in rec["inputs"] if i.get("external")]
    assert len(ext) == 1 and ext[0]["path"].endswith("elsewhere/Al.eam") and ext[0]["sha256"] == sha256(ext[0]["path"])
    assert rec["schema"] == "msgnn-provenance/2" and rec["started"][-3] == ":"   # ISO offset +HH:MM
    assert rec["packages"]["torch-geometric"], "torch-geometric must resolve to its installed version"


def test_lineage_walks_back_to_the_raw_inputs(tiny_run):
    lin = lineage(tiny_run / "results/final.json", tiny_run / "results")
    assert set(lin["jobs"]) == {"final/all", "images/material-Al", "clean/material-Al"}
    potential = str(tiny_run.parent / "elsewhere/Al.eam")
    assert lin["raw_inputs"] == sorted(["data/raw.csv", potential])
    assert lin["files"]["data/raw.csv"]["producer"] is None
    assert lin["files"][potential]["external"] is True
    assert lin["files"]["results/clean/x.json"]["producer"] == "clean/material-Al"
    assert all(f["status"] == "ok" for f in lin["files"].values()) and lin["problems"] == []
    text = format_lineage(lin).splitlines()
    assert text[0].startswith("results/final.json  [final]  sha256:")
    # final <- summary.json <- images job <- x.json <- clean job <- raw.csv, nested in that order
    i = next(k for k, line in enumerate(text) if "results/images/Al/summary.json" in line)
    assert text[i].startswith("├── ") and "[images material=Al]" in text[i]
    assert "results/clean/x.json  [clean material=Al]" in text[i + 1] and text[i + 1].startswith("│   ├── ")
    assert "data/raw.csv  [raw input]" in text[i + 2] and text[i + 2].startswith("│   │   └── ")
    assert "[raw input, external]" in text[i + 3]
    # x.json again as a direct input of final: its job is not expanded twice
    assert text[i + 4].startswith("└── results/clean/x.json") and "(its job's inputs: above)" in text[i + 4]
    assert "every file on disk matches its record" in text[-1]


def test_lineage_flags_a_modified_file_and_a_stale_consumer(tiny_run, capsys):
    (tiny_run / "data/raw.csv").write_text("t,x\n0,2\n")           # raw input edited after the run
    lin = lineage("results/final.json", tiny_run / "results", run=Run(tiny_run / "results"))
    assert lin["files"]["data/raw.csv"]["status"] == "modified"
    assert any(p.startswith("data/raw.csv: modified") for p in lin["problems"])
    # `clean` reruns on the edited raw input; `images` and `final` read the old x.json: stale
    _job(tiny_run, "clean", {"material": "Al"}, ["data/raw.csv"], ["results/clean/x.json"],
         {"results/clean/x.json": '{"x": 2}'})
    lin = lineage("results/final.json", tiny_run / "results", run=Run(tiny_run / "results"))
    stale = {(j, i["path"]) for j, job in lin["jobs"].items() for i in job["inputs"] if i.get("stale")}
    assert stale == {("images/material-Al", "results/clean/x.json"), ("final/all", "results/clean/x.json")}
    assert lin["files"]["results/clean/x.json"]["status"] == "ok"     # the file matches its (new) record
    assert "STALE" in format_lineage(lin)
    # a file inside a directory output changed by hand: the directory is modified
    (tiny_run / "results/images/Al/frames/a.png").write_text("edited")
    lin = lineage(tiny_run / "results/images/Al/frames/a.png", tiny_run / "results")
    assert lin["files"]["results/images/Al/frames/a.png"]["status"] == "modified"
    lin = lineage(tiny_run / "results/images/Al/frames", tiny_run / "results")
    assert lin["files"]["results/images/Al/frames"]["status"] == "modified"
    # the command: tree by default, JSON with --json, exit 1 with --strict when something changed
    final = str(tiny_run / "results/final.json")
    assert cli.main(["lineage", final, "--results", str(tiny_run / "results"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == "results/final.json"
    assert cli.main(["lineage", final, "--results", str(tiny_run / "results"), "--strict"]) == 1
    assert "problem(s):" in capsys.readouterr().out


def test_lineage_of_a_raw_input_or_unknown_file_is_an_error(tiny_run, capsys):
    with pytest.raises(InputFileError, match="raw input read by 1 job"):
        lineage(tiny_run / "data/raw.csv", tiny_run / "results")
    assert cli.main(["lineage", str(tiny_run / "nope.txt"), "--results", str(tiny_run / "results")]) == 2
    assert "no provenance record lists it" in capsys.readouterr().err


def test_prov_export_round_trips_and_is_complete(tiny_run, tmp_path):
    from prov.model import ProvActivity, ProvDocument, ProvEntity, ProvGeneration, ProvUsage
    run = Run(tiny_run / "results")
    files = write_prov(run, tmp_path / "prov")
    assert [f.name for f in files] == ["provenance.json", "provenance.provn", "provenance.ttl"]
    doc = ProvDocument.deserialize(content=files[0].read_text(), format="json")
    records = list(doc.get_records())
    acts = {r.identifier.localpart.removeprefix("job/"): r for r in records if isinstance(r, ProvActivity)}
    assert set(acts) == {"final/all", "images/material-Al", "clean/material-Al"}
    assert all(a.get_startTime() and a.get_endTime() for a in acts.values())
    ents = [r for r in records if isinstance(r, ProvEntity)]
    sha = {next(iter(e.get_attribute("msgnn:path"))): next(iter(e.get_attribute("msgnn:sha256"))) for e in ents
           if e.get_attribute("msgnn:path")}
    for rec in run.jobs.values():
        for f in rec["inputs"] + rec["outputs"]:
            assert sha[run.norm(f["path"])] == f["sha256"]
    n_out = sum(len(r["outputs"]) for r in run.jobs.values())
    n_in = sum(len(r["inputs"]) for r in run.jobs.values())
    assert sum(isinstance(r, ProvGeneration) for r in records) == n_out
    assert sum(isinstance(r, ProvUsage) for r in records) == n_in
    assert "activity(run:job/clean/material-Al" in files[1].read_text()
    import rdflib
    g = rdflib.Graph().parse(files[2], format="turtle")
    PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
    assert len(set(g.subjects(rdflib.RDF.type, PROV.Activity))) == 3
    assert len(list(g.triples((None, PROV.used, None)))) == n_in


def test_ro_crate_export_lists_every_file_with_its_checksum(tiny_run, tmp_path):
    from rocrate.rocrate import ROCrate
    run = Run(tiny_run / "results")
    out = write_ro_crate(run, tmp_path / "crate")
    meta = json.loads((out / "ro-crate-metadata.json").read_text())
    assert "https://w3id.org/ro/terms/workflow-run/context" in meta["@context"]
    crate = ROCrate(out)
    ids = {e.id for e in crate.data_entities}
    for rec in run.jobs.values():
        for o in rec["outputs"]:
            eid = o["path"] + "/" if o.get("type") == "directory" else o["path"]
            assert eid in ids, eid
            assert crate.get(eid)["sha256"] == o["sha256"]
            if o.get("type") != "directory":
                assert (out / o["path"]).read_bytes() == (tiny_run / o["path"]).read_bytes()
    assert crate.get("data/raw.csv")["sha256"] == sha256(tiny_run / "data/raw.csv")
    assert crate.get("external/Al.eam") is not None and (out / "external/Al.eam").read_text() == "potential v1"
    actions = {a.id: a for a in crate.get_by_type("CreateAction")}
    job = actions["#job-images_material-Al"]
    assert job["instrument"].id == "#rule-images"
    assert _ids(job["object"]) == {"results/clean/x.json", "external/Al.eam"}
    assert _ids(job["result"]) == {"results/images/Al/frames/", "results/images/Al/summary.json"}
    assert job["startTime"] and job["endTime"] and job["subjectOf"].id.startswith("results/provenance/images/")
    whole = actions["#run"]
    assert _ids(whole["object"]) == {"data/raw.csv", "external/Al.eam"}
    assert _ids(whole["result"]) == {"results/final.json", "results/images/Al/frames/"}
    assert len(crate.get_by_type("ControlAction")) == 3 and len(crate.get_by_type("OrganizeAction")) == 1
    profiles = {p.id for p in crate.root_dataset["conformsTo"]}
    assert "https://w3id.org/ro/wfrun/provenance/0.5" in profiles


def test_export_command_and_a_record_for_a_file_made_outside_a_job(tiny_run, tmp_path, capsys):
    (tiny_run / "results/report.html").write_text("<html>made by snakemake --report</html>")
    path = record_external(tiny_run / "results", tiny_run / "results/report.html", rule="html_report",
                           inputs=[tiny_run / "results/final.json"])
    rec = json.loads(path.read_text())
    assert rec["outputs"][0]["path"] == "results/report.html" and rec["inputs"][0]["path"] == "results/final.json"
    lin = lineage(tiny_run / "results/report.html", tiny_run / "results")
    assert "clean/material-Al" in lin["jobs"] and "data/raw.csv" in lin["raw_inputs"]
    assert cli.main(["export-provenance", "--results", str(tiny_run / "results"), "--out", str(tmp_path / "x"),
                     "--target", str(tiny_run / "results/images/Al/summary.json")]) == 0
    crate = json.loads((tmp_path / "x/ro-crate/ro-crate-metadata.json").read_text())
    jobs = {e["@id"] for e in crate["@graph"] if e["@id"].startswith("#job-")}
    assert jobs == {"#job-images_material-Al", "#job-clean_material-Al"}    # only the target's lineage
    assert (tmp_path / "x/prov/provenance.provn").stat().st_size > 0
    # `msgnn provenance` finds a file's record by relative or absolute path, as lineage does
    results = str(tiny_run / "results")
    assert cli.main(["provenance", str((tiny_run / "results/final.json").resolve()), "--results", results]) == 0
    assert cli.main(["provenance", str(tiny_run / "data/raw.csv"), "--results", results]) == 1   # a raw input


def test_every_rule_that_makes_files_writes_a_provenance_record():
    """A rule writes a record only through run_script: every rule with outputs must run a
    workflow script (no shell:/run: rules) and every workflow script must call run_script."""
    texts = [(ROOT / "Snakefile").read_text()] + [p.read_text() for p in sorted((ROOT / "rules").glob("*.smk"))]
    blocks = [b for t in texts for b in re.split(r"^(?=(?:local)?(?:rule|checkpoint) \w+:)", t, flags=re.M)[1:]]
    assert len(blocks) >= 20
    for block in blocks:
        name = block.split(":", 1)[0]
        if not re.search(r"^    output:", block, flags=re.M):
            assert "input:" in block, name          # a target-only rule (all, md_all, ...): no job
            continue
        script = re.search(r'^    script:\s*\n?\s*"\.\./(workflow_scripts/\w+\.py)"', block, flags=re.M)
        assert script, f"rule {name} does not run a workflow script, so it writes no provenance record"
        assert "run_script(snakemake" in (ROOT / script.group(1)).read_text(), script.group(1)


def test_lammps_build_and_potential_are_recorded_only_by_jobs_that_ran_lammps():
    # in a fresh process: before LAMMPS is imported (a non-MD job) and after (an MD job)
    code = ("import json, msgnn.workflow.script as w; params = {'material': {'potential': 'Si.sw'}}; "
            "a = [w.lammps_build(), w.external_inputs(params)]; "
            "from msgnn.md.lammps_env import lammps_module; lammps_module(); "
            "b = [w.lammps_build(), w.external_inputs(params)]; print(json.dumps([a, b]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    (build0, ext0), (build, ext) = json.loads(res.stdout.strip().splitlines()[-1])
    assert build0 is None and ext0 == []
    assert build["version"] > 20200000 and "MANYBODY" in build["installed_packages"]   # EAM and SW live there
    assert len(ext) == 1 and ext[0].endswith("potentials/Si.sw") and Path(ext[0]).is_file()
    assert package_versions()["lammps"]


@pytest.mark.timeout(120)
def test_real_snakemake_target_then_lineage(tmp_path):
    """Two real jobs of the workflow (reactor_log on a real log file, reactor_kinetics) at smoke
    scale, then `msgnn lineage` on the fitted kinetics: back to the real CSV as the raw input."""
    cfg = (ROOT / "tests/smoke_config.yaml").read_text()
    shutil.copy(ROOT / "docs/reactor_example.csv", tmp_path / "log.csv")
    cfg = cfg.replace("reactor:\n", 'reactor:\n  real_logs: {"Al/800": log.csv}\n', 1)
    (tmp_path / "config.yaml").write_text(cfg)
    target = "results/reactor/Al/T800/kinetics.json"
    res = subprocess.run([sys.executable, "-m", "snakemake", target, "-s", str(ROOT / "Snakefile"), "--cores", "1",
                          "--directory", str(tmp_path), "--configfile", "config.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert res.returncode == 0, res.stderr[-4000:]
    res = subprocess.run([sys.executable, "-m", "msgnn.cli", "lineage", target], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"{target}  [reactor_kinetics material=Al temperature=800]")
    assert any("results/reactor/Al/T800/raw.csv  [reactor_log material=Al temperature=800]" in x for x in lines)
    assert any(x.strip(" │├└─").startswith("log.csv  [raw input]") for x in lines), res.stdout
    assert "every file on disk matches its record" in res.stdout
