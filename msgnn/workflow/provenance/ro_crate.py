"""The run's provenance as an RO-Crate (the `rocrate` package), following the Provenance Run Crate
profile (0.5) where it fits."""
from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import Path

from msgnn.io import sha256
from msgnn.workflow.provenance.environment import WORKFLOW_CODE, git_state
from msgnn.workflow.provenance.lineage import Run, job_label
from msgnn.workflow.provenance.records import safe_tag

WFRUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"   # defines sha256 for RO-Crate
WROC_PROFILE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
RUN_CRATE_PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/ro/wfrun/provenance/0.5": "Provenance Run Crate",
}


def _stamp(stamp: str | None) -> str | None:
    """A record's time as ISO 8601 with a colon in the offset (records before schema 2 have none)."""
    return datetime.fromisoformat(stamp).isoformat() if stamp else None


def _single(values: list):
    """RO-Crate 1.1 writes a one-element list as the element itself (None for no element)."""
    return values[0] if len(values) == 1 else (values or None)


DEFAULT_LICENSE = ("not specified: the msgnn project has not declared a licence for its results; "
                   "pass one with `msgnn export-provenance --license`")
# formats Python's mimetypes does not know, by file suffix
_FORMATS = {".npz": "application/x-npz", ".pt": "application/x-pytorch", ".smk": "text/x-snakemake",
            ".yaml": "application/yaml", ".tsv": "text/tab-separated-values", ".md": "text/markdown",
            ".fs": "text/plain", ".alloy": "text/plain", ".sw": "text/plain", ".eam": "text/plain",
            ".tersoff": "text/plain", ".meam": "text/plain", ".log": "text/plain", ".db": "application/vnd.sqlite3"}


def _encoding_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if path.endswith("Snakefile"):
        return "text/x-snakemake"
    return _FORMATS.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def write_ro_crate(run: Run, out: str | Path, jobs: dict[str, dict] | None = None,
                   license: str | None = None) -> Path:
    """Write the run as an RO-Crate following the Provenance Run Crate profile (0.5) where it fits.

    The crate holds a copy of every file the jobs read or wrote that is still on disk (ids = their
    paths in the run folder; raw inputs from outside it, e.g. potentials, under external/), with
    its sha256, size and format, the provenance records themselves, and the workflow definition
    (Snakefile as mainEntity, with rules/, workflow_scripts/ and envs/). Each job is a CreateAction
    (instrument: its rule, a SoftwareApplication; object: inputs; result: outputs; startTime,
    endTime, agent; subjectOf: its record) with a ControlAction tying it to the rule's HowToStep;
    the Snakemake run is an OrganizeAction; one CreateAction for the whole run has the raw inputs
    as object and the final outputs as result. `out` is a folder, or a name ending in .zip for a
    zipped crate. Returns the path written."""
    import warnings

    from rocrate.model.contextentity import ContextEntity
    from rocrate.model.person import Person
    from rocrate.model.softwareapplication import SoftwareApplication
    from rocrate.rocrate import ROCrate

    jobs = run.jobs if jobs is None else jobs
    recs = list(jobs.values())
    crate = ROCrate(version="1.1")
    crate.metadata.extra_contexts.append(WFRUN_CONTEXT)
    first = min((_stamp(r.get("started")) for r in recs if r.get("started")), default=None)
    last = max((_stamp(r.get("finished")) for r in recs if r.get("finished")), default=None)
    crate.name = f"msgnn workflow run in {run.root.name}"
    crate.description = (f"Provenance of {len(jobs)} Snakemake jobs of the msgnn workflow "
                         f"(crystallization kinetics), {first} to {last}, exported from results/provenance.")
    crate.datePublished = datetime.now().astimezone().isoformat(timespec="seconds")
    if license and license.startswith(("http://", "https://")):
        crate.license = crate.add(ContextEntity(crate, license, properties={
            "@type": "CreativeWork", "name": license.rstrip("/").rsplit("/", 1)[-1]}))
    else:
        crate.license = license or DEFAULT_LICENSE
    for pid, name in {**RUN_CRATE_PROFILES, WROC_PROFILE: "Workflow RO-Crate"}.items():
        crate.root_dataset.append_to("conformsTo", crate.add(ContextEntity(
            crate, pid, properties={"@type": "CreativeWork", "name": name, "version": pid.rsplit("/", 1)[-1]})))
    agents: dict[str, object] = {}

    def agent_of(rec):
        who = f"{rec.get('user') or 'unknown'}@{rec.get('host') or 'unknown'}"
        if who not in agents:
            agents[who] = crate.add(Person(crate, f"#agent-{safe_tag(who)}", properties={
                "name": f"{rec.get('user') or 'unknown user'} on host {rec.get('host') or 'unknown'}"}))
        return agents[who]

    # the workflow definition: Snakefile (mainEntity), and the rule files, scripts and envs
    wf_root = next((Path(r["workflow"]["root"]) for r in recs if r.get("workflow")), None)
    wf = None
    if wf_root is not None and (wf_root / "Snakefile").is_file():
        git = git_state(wf_root)
        recorded = sorted({(r.get("workflow") or {}).get("sha256") or "-" for r in recs})
        # Provenance Run Crate: the workflow is also a HowTo whose steps are the rules
        wf = crate.add_workflow(wf_root / "Snakefile", "workflow/Snakefile", main=True, lang="snakemake", properties={
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
            "name": "msgnn Snakefile", "sha256": sha256(wf_root / "Snakefile"),
            "encodingFormat": "text/x-snakemake", "version": (git.get("commit") or "unknown")[:12],
            "description": "the workflow as it is now in " + str(wf_root) + "; the jobs recorded workflow code "
                           "sha256 (Snakefile, rules, scripts, envs) " + ", ".join(x[:16] for x in recorded)})
        for pattern in WORKFLOW_CODE[1:]:
            for p in sorted(wf_root.glob(pattern)):
                rel = f"workflow/{p.relative_to(wf_root)}"
                # plain data entities: the workflow's hasPart lists only the tools (rules) run
                crate.add_file(p, rel, properties={"name": p.name, "sha256": sha256(p),
                                                   "encodingFormat": _encoding_format(rel)})
    engine = crate.add(SoftwareApplication(crate, "https://snakemake.readthedocs.io", properties={
        "name": "Snakemake", "url": "https://snakemake.readthedocs.io",
        "version": (recs[0].get("packages") or {}).get("snakemake") if recs else None}))

    # data entities: every file (its version on disk now), external raw inputs copied in
    entities: dict[str, object] = {}
    missing: list[str] = []
    versions = run.file_versions(jobs)
    for (path, sha), e in versions.items():
        if path in entities or e.get("type") == "directory":
            continue
        external = Path(path).is_absolute()
        src = Path(path) if external else run.root / path
        dest = f"external/{Path(path).name}" if external else path
        props = {"name": Path(path).name, "encodingFormat": _encoding_format(path)}
        if external:
            props.update(identifier=path, description="raw input from outside the run folder, copied into the crate")
        if src.is_file():
            props.update(sha256=run.disk_sha256(path), contentSize=str(src.stat().st_size))
            entities[path] = crate.add_file(src, dest, properties=props)
        else:
            missing.append(path)
            props.update(sha256=sha, description="no longer on disk when the crate was written (not in the crate)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                entities[path] = crate.add_file(None, dest, properties=props)
    for (path, sha), e in versions.items():
        if e.get("type") == "directory" and path not in entities:
            inside = [x for f, x in entities.items() if f.startswith(path.rstrip("/") + "/")]
            entities[path] = crate.add_dataset(None, path, properties={
                "sha256": sha, "name": Path(path).name, "hasPart": [{"@id": x.id} for x in inside],
                "description": f"directory output ({e.get('files')} files); sha256 over its files' names and checksums"})
    if missing:
        crate.description += (f" {len(missing)} file(s) no longer on disk are described (with the sha256 "
                              "recorded) but not included.")

    def refs(entries):
        out, seen = [], set()
        for x in entries:
            p = run.norm(x["path"])
            if "directory" in x or p in seen:   # files inside a directory: the directory stands for them
                continue
            seen.add(p)
            out.append(entities[p])
        return out

    tools, steps, actions, controls = {}, {}, [], []
    for jid, rec in sorted(jobs.items(), key=lambda kv: (kv[1].get("started") or "", kv[0])):
        rule = rec["rule"]
        if rule not in tools:
            tools[rule] = crate.add(SoftwareApplication(crate, f"#rule-{rule}", properties={
                "name": f"rule {rule}", "description": rec.get("note") or f"the Snakemake rule {rule} of the msgnn workflow",
                "version": ((rec.get("workflow") or {}).get("sha256") or "unknown")[:16]}))
            steps[rule] = crate.add(ContextEntity(crate, f"#step-{rule}", properties={
                "@type": "HowToStep", "name": f"step {rule}", "workExample": {"@id": tools[rule].id},
                "position": str(len(steps))}))
            if wf is not None:
                wf.append_to("hasPart", tools[rule])
                wf.append_to("step", steps[rule])
        rec_entity = crate.add_file(run.root / rec["record"], rec["record"], properties={
            "name": Path(rec["record"]).name, "encodingFormat": "application/json",
            "description": "msgnn provenance record of this job: params, config hash, git commit, code hashes, "
                           "package versions, LAMMPS build packages, host, threads, SLURM id"})
        label = job_label(rec)
        props = {"name": f"job {label}", "description": f"Snakemake job {label}; details in {rec['record']}",
                 "startTime": _stamp(rec.get("started")), "endTime": _stamp(rec.get("finished")),
                 "agent": {"@id": agent_of(rec).id}, "subjectOf": {"@id": rec_entity.id}}
        action = crate.add_action(tools[rule], f"#job-{safe_tag(jid)}", object=_single(refs(rec["inputs"])),
                                  result=_single(refs(rec["outputs"])), properties=props)
        rec_entity["about"] = {"@id": action.id}
        actions.append(action)
        controls.append(crate.add(ContextEntity(crate, f"#control-{safe_tag(jid)}", properties={
            "@type": "ControlAction", "name": f"orchestrate job {label}",
            "description": f"Snakemake ran step {rule} as job {label}",
            "instrument": {"@id": steps[rule].id}, "object": {"@id": action.id}})))

    consumed = {run.norm(i["path"]) for r in recs for i in r["inputs"]}
    produced = {run.norm(o["path"]) for r in recs for o in r["outputs"]}
    final_dirs = [d for d in produced - consumed if _versions_type(versions, d) == "directory"]
    raw = [entities[p] for p in sorted(consumed - produced) if p in entities]
    final = [entities[p] for p in sorted(produced - consumed)
             if p in entities and not any(p.startswith(d.rstrip("/") + "/") for d in final_dirs)]
    props = {"@type": "CreateAction", "name": "msgnn workflow run",
             "description": "the whole run: raw inputs (object) to final outputs (result)",
             "startTime": first, "endTime": last, "agent": {"@id": agent_of(recs[0]).id} if recs else None,
             "instrument": {"@id": wf.id} if wf is not None else None,
             "object": _single([{"@id": e.id} for e in raw]), "result": _single([{"@id": e.id} for e in final])}
    run_action = crate.add(ContextEntity(crate, "#run", properties={k: v for k, v in props.items() if v}))
    crate.root_dataset["mentions"] = [run_action, *actions]
    crate.add(ContextEntity(crate, "#snakemake-run", properties={
        "@type": "OrganizeAction", "name": "Snakemake run", "description": "Snakemake orchestrating the jobs",
        "instrument": {"@id": engine.id}, "object": [{"@id": c.id} for c in controls],
        "result": {"@id": run_action.id}, "startTime": first, "endTime": last}))

    out = Path(out)
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        crate.write_zip(out)
    else:
        crate.write(out)
    return out


def _versions_type(versions: dict, path: str) -> str:
    """"directory" or "file": the type a record gave `path`."""
    return next((e.get("type", "file") for (p, _), e in versions.items() if p == path), "file")
