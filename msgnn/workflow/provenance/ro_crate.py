"""The run's provenance as an RO-Crate (the `rocrate` package), following the Provenance Run Crate
profile (0.5) where it fits."""
from __future__ import annotations

import mimetypes
import warnings
from datetime import datetime
from pathlib import Path

from rocrate.model.contextentity import ContextEntity
from rocrate.model.person import Person
from rocrate.model.softwareapplication import SoftwareApplication
from rocrate.rocrate import ROCrate

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
    crate = _RunCrate(run, run.jobs if jobs is None else jobs)
    crate.describe(license)
    workflow = crate.add_workflow()
    engine = crate.add(SoftwareApplication(crate.crate, "https://snakemake.readthedocs.io", properties={
        "name": "Snakemake", "url": "https://snakemake.readthedocs.io",
        "version": (crate.recs[0].get("packages") or {}).get("snakemake") if crate.recs else None}))
    crate.add_files()
    actions, controls = crate.add_jobs(workflow)
    crate.add_run(workflow, engine, actions, controls)
    out = Path(out)
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        crate.crate.write_zip(out)
    else:
        crate.crate.write(out)
    return out


class _RunCrate:
    """An ROCrate being filled with one run's jobs, phase by phase (the order of the phases is the
    order of the entities in ro-crate-metadata.json)."""

    def __init__(self, run: Run, jobs: dict[str, dict]):
        self.run, self.jobs, self.recs = run, jobs, list(jobs.values())
        self.crate = ROCrate(version="1.1")
        self.crate.metadata.extra_contexts.append(WFRUN_CONTEXT)
        self.first = min((_stamp(r.get("started")) for r in self.recs if r.get("started")), default=None)
        self.last = max((_stamp(r.get("finished")) for r in self.recs if r.get("finished")), default=None)
        self.versions = run.file_versions(jobs)
        self.entities: dict[str, object] = {}     # path in the run -> its data entity
        self.agents: dict[str, object] = {}

    def add(self, entity):
        return self.crate.add(entity)

    def describe(self, license: str | None) -> None:
        """Name, description, date, licence and the profiles the crate conforms to."""
        crate = self.crate
        crate.name = f"msgnn workflow run in {self.run.root.name}"
        crate.description = (f"Provenance of {len(self.jobs)} Snakemake jobs of the msgnn workflow "
                             f"(crystallization kinetics), {self.first} to {self.last}, exported from "
                             "results/provenance.")
        crate.datePublished = datetime.now().astimezone().isoformat(timespec="seconds")
        if license and license.startswith(("http://", "https://")):
            crate.license = self.add(ContextEntity(crate, license, properties={
                "@type": "CreativeWork", "name": license.rstrip("/").rsplit("/", 1)[-1]}))
        else:
            crate.license = license or DEFAULT_LICENSE
        for pid, name in {**RUN_CRATE_PROFILES, WROC_PROFILE: "Workflow RO-Crate"}.items():
            crate.root_dataset.append_to("conformsTo", self.add(ContextEntity(
                crate, pid, properties={"@type": "CreativeWork", "name": name, "version": pid.rsplit("/", 1)[-1]})))

    def agent_of(self, rec: dict):
        """The Person entity of the user and host that ran a job (added once)."""
        who = f"{rec.get('user') or 'unknown'}@{rec.get('host') or 'unknown'}"
        if who not in self.agents:
            self.agents[who] = self.add(Person(self.crate, f"#agent-{safe_tag(who)}", properties={
                "name": f"{rec.get('user') or 'unknown user'} on host {rec.get('host') or 'unknown'}"}))
        return self.agents[who]

    def add_workflow(self):
        """The workflow definition as it is now: the Snakefile (mainEntity; also a HowTo whose steps
        are the rules, as the Provenance Run Crate wants), then the rule files, scripts and envs.
        None when the recorded workflow folder is gone."""
        root = next((Path(r["workflow"]["root"]) for r in self.recs if r.get("workflow")), None)
        if root is None or not (root / "Snakefile").is_file():
            return None
        git = git_state(root)
        recorded = sorted({(r.get("workflow") or {}).get("sha256") or "-" for r in self.recs})
        wf = self.crate.add_workflow(root / "Snakefile", "workflow/Snakefile", main=True, lang="snakemake", properties={
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
            "name": "msgnn Snakefile", "sha256": sha256(root / "Snakefile"),
            "encodingFormat": "text/x-snakemake", "version": (git.get("commit") or "unknown")[:12],
            "description": "the workflow as it is now in " + str(root) + "; the jobs recorded workflow code "
                           "sha256 (Snakefile, rules, scripts, envs) " + ", ".join(x[:16] for x in recorded)})
        for pattern in WORKFLOW_CODE[1:]:
            for p in sorted(root.glob(pattern)):
                rel = f"workflow/{p.relative_to(root)}"
                # plain data entities: the workflow's hasPart lists only the tools (rules) run
                self.crate.add_file(p, rel, properties={"name": p.name, "sha256": sha256(p),
                                                        "encodingFormat": _encoding_format(rel)})
        return wf

    def add_files(self) -> None:
        """Every file the jobs read or wrote (its version on disk now; external raw inputs copied
        in, files no longer on disk described only), then the directory outputs as Datasets."""
        run, entities, missing = self.run, self.entities, []
        for (path, sha), e in self.versions.items():
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
                entities[path] = self.crate.add_file(src, dest, properties=props)
            else:
                missing.append(path)
                props.update(sha256=sha, description="no longer on disk when the crate was written (not in the crate)")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entities[path] = self.crate.add_file(None, dest, properties=props)
        for (path, sha), e in self.versions.items():
            if e.get("type") == "directory" and path not in entities:
                inside = [x for f, x in entities.items() if f.startswith(path.rstrip("/") + "/")]
                entities[path] = self.crate.add_dataset(None, path, properties={
                    "sha256": sha, "name": Path(path).name, "hasPart": [{"@id": x.id} for x in inside],
                    "description": f"directory output ({e.get('files')} files); sha256 over its files' names and checksums"})
        if missing:
            self.crate.description += (f" {len(missing)} file(s) no longer on disk are described (with the sha256 "
                                       "recorded) but not included.")

    def refs(self, entries: list[dict]) -> list:
        """The data entities of a record's inputs or outputs (a directory stands for its files)."""
        out, seen = [], set()
        for x in entries:
            p = self.run.norm(x["path"])
            if "directory" in x or p in seen:
                continue
            seen.add(p)
            out.append(self.entities[p])
        return out

    def add_jobs(self, wf) -> tuple[list, list]:
        """Per rule a SoftwareApplication and a HowToStep; per job (in start order) its record, a
        CreateAction and a ControlAction. Returns the CreateActions and ControlActions."""
        crate = self.crate
        tools, steps, actions, controls = {}, {}, [], []
        for jid, rec in sorted(self.jobs.items(), key=lambda kv: (kv[1].get("started") or "", kv[0])):
            rule = rec["rule"]
            if rule not in tools:
                tools[rule] = self.add(SoftwareApplication(crate, f"#rule-{rule}", properties={
                    "name": f"rule {rule}",
                    "description": rec.get("note") or f"the Snakemake rule {rule} of the msgnn workflow",
                    "version": ((rec.get("workflow") or {}).get("sha256") or "unknown")[:16]}))
                steps[rule] = self.add(ContextEntity(crate, f"#step-{rule}", properties={
                    "@type": "HowToStep", "name": f"step {rule}", "workExample": {"@id": tools[rule].id},
                    "position": str(len(steps))}))
                if wf is not None:
                    wf.append_to("hasPart", tools[rule])
                    wf.append_to("step", steps[rule])
            rec_entity = crate.add_file(self.run.root / rec["record"], rec["record"], properties={
                "name": Path(rec["record"]).name, "encodingFormat": "application/json",
                "description": "msgnn provenance record of this job: params, config hash, git commit, code hashes, "
                               "package versions, LAMMPS build packages, host, threads, SLURM id"})
            label = job_label(rec)
            props = {"name": f"job {label}", "description": f"Snakemake job {label}; details in {rec['record']}",
                     "startTime": _stamp(rec.get("started")), "endTime": _stamp(rec.get("finished")),
                     "agent": {"@id": self.agent_of(rec).id}, "subjectOf": {"@id": rec_entity.id}}
            action = crate.add_action(tools[rule], f"#job-{safe_tag(jid)}", object=_single(self.refs(rec["inputs"])),
                                      result=_single(self.refs(rec["outputs"])), properties=props)
            rec_entity["about"] = {"@id": action.id}
            actions.append(action)
            controls.append(self.add(ContextEntity(crate, f"#control-{safe_tag(jid)}", properties={
                "@type": "ControlAction", "name": f"orchestrate job {label}",
                "description": f"Snakemake ran step {rule} as job {label}",
                "instrument": {"@id": steps[rule].id}, "object": {"@id": action.id}})))
        return actions, controls

    def add_run(self, wf, engine, actions: list, controls: list) -> None:
        """The whole run: a CreateAction from the raw inputs (files no job produced) to the final
        outputs (files no job read), and Snakemake's OrganizeAction over the jobs' ControlActions."""
        run, recs, entities = self.run, self.recs, self.entities
        consumed = {run.norm(i["path"]) for r in recs for i in r["inputs"]}
        produced = {run.norm(o["path"]) for r in recs for o in r["outputs"]}
        final_dirs = [d for d in produced - consumed if _versions_type(self.versions, d) == "directory"]
        raw = [entities[p] for p in sorted(consumed - produced) if p in entities]
        final = [entities[p] for p in sorted(produced - consumed)
                 if p in entities and not any(p.startswith(d.rstrip("/") + "/") for d in final_dirs)]
        props = {"@type": "CreateAction", "name": "msgnn workflow run",
                 "description": "the whole run: raw inputs (object) to final outputs (result)",
                 "startTime": self.first, "endTime": self.last,
                 "agent": {"@id": self.agent_of(recs[0]).id} if recs else None,
                 "instrument": {"@id": wf.id} if wf is not None else None,
                 "object": _single([{"@id": e.id} for e in raw]), "result": _single([{"@id": e.id} for e in final])}
        run_action = self.add(ContextEntity(self.crate, "#run", properties={k: v for k, v in props.items() if v}))
        self.crate.root_dataset["mentions"] = [run_action, *actions]
        self.add(ContextEntity(self.crate, "#snakemake-run", properties={
            "@type": "OrganizeAction", "name": "Snakemake run", "description": "Snakemake orchestrating the jobs",
            "instrument": {"@id": engine.id}, "object": [{"@id": c.id} for c in controls],
            "result": {"@id": run_action.id}, "startTime": self.first, "endTime": self.last}))


def _versions_type(versions: dict, path: str) -> str:
    """"directory" or "file": the type a record gave `path`."""
    return next((e.get("type", "file") for (p, _), e in versions.items() if p == path), "file")
