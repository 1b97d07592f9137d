"""Provenance records: what produced an output, from which inputs, with which code and packages.

Every workflow job writes one JSON record (results/provenance/{rule}/{wildcards}.json) naming
its inputs and outputs with their sha256, so the run is a file-level DAG of jobs that can be
walked back from any output to the raw inputs (`lineage`, `format_lineage`) and exported as a
W3C PROV document (`to_prov`, `write_prov`) or an RO-Crate (`write_ro_crate`). docs/provenance.md
says what is recorded and what is not.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import mimetypes
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

from msgnn.errors import InputFileError
from msgnn.io import atomic_path, package_versions, read_json_object, sha256, write_json

RECORD_SCHEMA = "msgnn-provenance/2"

_lammps_build_cache: dict | None = None


def directory_sha256(files: list[dict], root: str | Path) -> str:
    """One checksum for a directory: sha256 over its files' relative paths and checksums, in order
    (a renamed, added, removed or changed file changes it)."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        h.update(os.path.relpath(f["path"], root).encode())
        h.update(b"\0")
        h.update(f["sha256"].encode())
        h.update(b"\n")
    return h.hexdigest()


def _directory_files(path: Path) -> list[Path]:
    """The files under a directory output, hidden temporaries (.name.xxxx) skipped."""
    return [p for p in sorted(path.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)]


def file_entries(paths, base: str | Path | None = None) -> list[dict]:
    """Checksummed entries for files and directories. A directory gives one entry of type
    "directory" (checksum over its contents, file count) followed by one entry per file inside it
    (each with "directory" naming it); a path that does not exist is recorded as missing.
    Relative paths are read from `base` (default: the current folder) and recorded as given."""
    base = Path(base) if base is not None else Path()
    out = []
    for name in map(str, paths):
        p = base / name
        if p.is_file():
            out.append({"path": name, "sha256": sha256(p), "bytes": p.stat().st_size})
        elif p.is_dir():
            files = [{"path": os.path.join(name, str(f.relative_to(p))), "sha256": sha256(f),
                      "bytes": f.stat().st_size, "directory": name} for f in _directory_files(p)]
            out.append({"path": name, "type": "directory", "sha256": directory_sha256(files, name),
                        "files": len(files), "bytes": sum(f["bytes"] for f in files)})
            out.extend(files)
        else:
            out.append({"path": name, "sha256": None, "missing": True})
    return out


def lammps_build() -> dict | None:
    """LAMMPS library version and the packages it was built with, for jobs that ran LAMMPS.

    Only when this process has already imported `lammps` (an MD job): asking the library costs
    one instance (~0.1 s), which is not worth paying in jobs that never touch LAMMPS. Cached per
    process."""
    global _lammps_build_cache
    if "lammps" not in sys.modules:
        return None
    if _lammps_build_cache is None:
        try:
            from msgnn.md.lammps_env import lammps_info
            _lammps_build_cache = lammps_info()
        except Exception as exc:  # noqa: BLE001 -- provenance must not fail a finished job
            _lammps_build_cache = {"error": f"{type(exc).__name__}: {exc}"}
    return _lammps_build_cache


def code_hash() -> str:
    """sha256 over the msgnn package's source files, so a record pins the code that ran."""
    root = Path(__file__).parents[1]   # the msgnn package
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in {".py", ".yaml"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


WORKFLOW_CODE = ("Snakefile", "rules/*.smk", "workflow_scripts/*.py", "envs/*.yaml")


def workflow_code(root: str | Path | None) -> dict | None:
    """The workflow definition the job ran under: its folder and a sha256 over the Snakefile,
    rule files, workflow scripts and conda envs (the msgnn package has its own code_hash)."""
    if root is None or not (Path(root) / "Snakefile").is_file():
        return None
    root = Path(root).resolve()
    h = hashlib.sha256()
    for pattern in WORKFLOW_CODE:
        for p in sorted(root.glob(pattern)):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return {"root": str(root), "sha256": h.hexdigest()}


def git_state(cwd: str | Path) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return {"commit": commit.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


def _iso(t: float) -> str:
    """Local time with its UTC offset, ISO 8601 (what PROV and RO-Crate expect)."""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def record(path: str | Path, *, rule: str, wildcards: dict, inputs: list, outputs: list,
           params: dict, config_hash: str | None, threads: int, started: float,
           external_inputs: list | None = None, log: list | None = None, resources: dict | None = None,
           workflow_root: str | Path | None = None, base: str | Path | None = None,
           extra: dict | None = None):
    """Write one provenance record (JSON) describing how `outputs` were made.

    inputs/outputs: the job's declared files or directories (directories are recorded file by
    file, see file_entries). external_inputs: files the job read that the rule does not declare
    (an MD potential from the LAMMPS wheel); they are recorded like inputs with "external": true.
    Paths are kept as the job saw them (relative to the workflow's working directory, "workdir");
    `base` is that directory when it is not the current one."""
    finished = time.time()
    ext = [{**e, "external": True} for e in file_entries(external_inputs or [], base)]
    write_json(path, {
        "schema": RECORD_SCHEMA,
        "rule": rule,
        "wildcards": dict(wildcards),
        "inputs": file_entries(inputs, base) + ext,
        "outputs": file_entries(outputs, base),
        "log": [str(p) for p in (log or [])],
        "params": params,
        "config_hash": config_hash,
        "git": git_state(Path(__file__).parent),
        "msgnn_code_sha256": code_hash(),
        "workflow": workflow_code(workflow_root),
        "packages": package_versions(),
        "lammps_build": lammps_build(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "user": _user(),
        "workdir": str(Path(base).resolve()) if base is not None else os.getcwd(),
        "threads": threads,
        "resources": resources or {},
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": _iso(started),
        "finished": _iso(finished),
        "wall_s": round(finished - started, 3),
        **(extra or {}),
    })


def record_external(results: str | Path, output: str | Path, *, rule: str, inputs: list,
                    params: dict | None = None, started: float | None = None) -> Path:
    """A provenance record for a file made outside a workflow job (e.g. the HTML report that
    `snakemake --report` writes), so that it too has a lineage. Paths are taken relative to the
    run's folder (the parent of `results`); the record goes to results/provenance/{rule}/."""
    root = Path(results).resolve().parent
    rel = [os.path.relpath(Path(p).resolve(), root) for p in [output, *inputs]]
    path = Path(results).resolve() / "provenance" / rule / f"{_safe_tag(rel[0])}.json"
    record(path, rule=rule, wildcards={}, inputs=rel[1:], outputs=rel[:1], params=params or {},
           config_hash=None, threads=1, started=started if started is not None else time.time(),
           workflow_root=Path(__file__).resolve().parents[2], base=root,
           extra={"note": "made outside a workflow job; recorded with `msgnn record`"})
    return path


def _safe_tag(path: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in path)


# --------------------------------------------------------------------------------------------
# Reading a run's records: the file-level DAG of jobs


class Run:
    """The provenance records of one workflow run (results/provenance/**.json), indexed by the
    files they produced. Paths are those the jobs saw, relative to the run's folder `root` (the
    parent of the results folder); files outside it (an MD potential) keep their absolute path."""

    def __init__(self, results: str | Path = "results"):
        self.results = Path(results)
        self.root = self.results.resolve().parent
        folder = self.results / "provenance"
        if not folder.is_dir():
            raise InputFileError(folder, "no provenance records here (is this the results folder of a run?)")
        self.jobs: dict[str, dict] = {}
        for p in sorted(folder.rglob("*.json")):
            rec = read_json_object(p)
            if "rule" not in rec or "outputs" not in rec:
                raise InputFileError(p, "not a provenance record (no 'rule' and 'outputs')")
            rec["record"] = os.path.relpath(p.resolve(), self.root)
            self.jobs[job_id(rec)] = rec
        self.producer: dict[str, str] = {}     # file -> job id that produced it
        for jid, rec in sorted(self.jobs.items(), key=lambda kv: kv[1].get("finished", "")):
            for o in rec["outputs"]:
                self.producer[self.norm(o["path"])] = jid   # a later record of the same file wins
        self._disk: dict[str, str | None] = {}

    def norm(self, path: str | Path) -> str:
        """A path as the records write it: relative to the run folder when inside it."""
        p = Path(path)
        if not p.is_absolute():
            return os.path.normpath(p)
        try:
            return os.path.normpath(p.relative_to(self.root))
        except ValueError:
            return os.path.normpath(p)

    def user_path(self, path: str | Path) -> str:
        """A path given on the command line (relative to the current folder, or else to the run
        folder) as the records write it."""
        here = self.norm(Path(path).resolve())
        if here not in self.producer and not Path(path).is_absolute() and self.norm(path) in self.producer:
            return self.norm(path)
        return here

    def disk_sha256(self, path: str) -> str | None:
        """The file's (or directory's) checksum on disk now; None if it is gone."""
        if path not in self._disk:
            p = self.root / path
            if p.is_file():
                self._disk[path] = sha256(p)
            elif p.is_dir():
                files = [{"path": str(f), "sha256": sha256(f)} for f in _directory_files(p)]
                self._disk[path] = directory_sha256(files, p)
            else:
                self._disk[path] = None
        return self._disk[path]

    def file_status(self, path: str, recorded: str | None) -> str:
        """ok: on disk as recorded; modified: changed since; missing: gone."""
        now = self.disk_sha256(path)
        if now is None:
            return "missing"
        return "ok" if now == recorded else "modified"

    def output_entry(self, path: str) -> dict | None:
        jid = self.producer.get(path)
        if jid is None:
            return None
        return next(o for o in self.jobs[jid]["outputs"] if self.norm(o["path"]) == path)


def job_id(rec: dict) -> str:
    """A job's name: its rule and the stem of its record file (the wildcards)."""
    return f"{rec['rule']}/{Path(rec.get('record', 'all.json')).stem}"


# --------------------------------------------------------------------------------------------
# Lineage: from one output back to the raw inputs


def lineage(target: str | Path, results: str | Path = "results", run: Run | None = None) -> dict:
    """The part of the run's DAG that `target` depends on, as a JSON-able dict.

    files: every file in the lineage with the checksum its producer recorded (raw inputs: the one
    the first consuming job recorded), its producer job (None for a raw input: a file no job
    produced, e.g. a potential or real data) and its status on disk (ok / modified / missing).
    jobs: each job with rule, wildcards, times, config and code hashes, and its inputs, each
    flagged "stale" when the job read a different version than the one its producer's record
    now describes (the producer reran after, so this job's outputs are out of date).
    problems: one line per modified, missing or stale file."""
    run = run or Run(results)
    path = run.user_path(target)
    if path not in run.producer:
        users = [j for j, r in run.jobs.items() if any(run.norm(i["path"]) == path for i in r["inputs"])]
        hint = f"it is a raw input read by {len(users)} job(s)" if users else "no job read it either"
        raise InputFileError(target, f"no provenance record lists it as an output ({hint})")
    files: dict[str, dict] = {}
    jobs: dict[str, dict] = {}
    problems: list[str] = []

    def visit_file(p: str, used_sha: str | None, consumer: str | None):
        if p in files:
            if files[p]["producer"] is None and used_sha != files[p]["sha256"]:
                problems.append(f"{p}: jobs read different versions of this raw input "
                                f"({_short(files[p]['sha256'])} and {_short(used_sha)}, the latter by {consumer})")
            return
        jid = run.producer.get(p)
        entry = run.output_entry(p) if jid else None
        recorded = entry["sha256"] if entry else used_sha
        status = run.file_status(p, recorded)
        files[p] = {"sha256": recorded, "producer": jid, "status": status,
                    "type": (entry or {}).get("type", "file")}
        if jid is None:
            files[p]["external"] = Path(p).is_absolute()
        if status != "ok":
            what = "the record of " + jid if jid else f"the record of {consumer}"
            problems.append(f"{p}: {status} on disk since {what} was written"
                            if status == "modified" else f"{p}: missing on disk")
        if jid:
            visit_job(jid)

    def visit_job(jid: str):
        if jid in jobs:
            return
        rec = run.jobs[jid]
        inputs = []
        jobs[jid] = {"rule": rec["rule"], "wildcards": rec.get("wildcards", {}), "record": rec["record"],
                     "started": rec.get("started"), "finished": rec.get("finished"),
                     "config_hash": rec.get("config_hash"), "git": rec.get("git"),
                     "msgnn_code_sha256": rec.get("msgnn_code_sha256"),
                     "workflow_sha256": (rec.get("workflow") or {}).get("sha256"),
                     "inputs": inputs, "outputs": [run.norm(o["path"]) for o in rec["outputs"]
                                                   if "directory" not in o]}
        for i in rec["inputs"]:
            if "directory" in i:        # a file inside a directory input: the directory stands for it
                continue
            p = run.norm(i["path"])
            item = {"path": p, "sha256": i.get("sha256")}
            producer_entry = run.output_entry(p)
            if producer_entry is not None and producer_entry["sha256"] != i.get("sha256"):
                item["stale"] = True
                problems.append(f"{p}: {jid} read version {_short(i.get('sha256'))}, but "
                                f"{run.producer[p]} has since written {_short(producer_entry['sha256'])}; "
                                f"{jid} is out of date")
            inputs.append(item)
            visit_file(p, i.get("sha256"), jid)

    visit_file(path, None, None)
    raw = sorted(p for p, f in files.items() if f["producer"] is None)
    return {"target": path, "root": str(run.root), "files": files, "jobs": jobs, "raw_inputs": raw,
            "config_hashes": sorted({j["config_hash"] for j in jobs.values() if j["config_hash"]}),
            "problems": problems}


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def _job_label(job: dict) -> str:
    wc = " ".join(f"{k}={v}" for k, v in job["wildcards"].items())
    return f"{job['rule']}{' ' + wc if wc else ''}"


def format_lineage(lin: dict, depth: int | None = None) -> str:
    """The lineage as an indented tree, one line per file: path, the job that produced it (or
    "raw input"), short sha256 and status. A job's inputs are expanded once; later files from an
    already shown job say so instead of repeating the subtree. `depth` limits the levels shown
    (the summary and the problems still cover the whole lineage)."""
    files, jobs = lin["files"], lin["jobs"]
    lines: list[str] = []
    shown: set[str] = set()

    def line(p: str, prefix: str, branch: str, stale: bool, level: int):
        f = files[p]
        job = jobs.get(f["producer"]) if f["producer"] else None
        who = f"[{_job_label(job)}]" if job else ("[raw input, external]" if f.get("external") else "[raw input]")
        status = f["status"].upper() if f["status"] != "ok" else "ok"
        if stale:
            status += ", STALE: read an older version"
        more = ""
        if job and job["inputs"] and f["producer"] in shown:
            more = "  (its job's inputs: above)"
        elif job and job["inputs"] and depth is not None and level >= depth:
            more = f"  (+{len(job['inputs'])} inputs, below --depth)"
        if f.get("type") == "directory":
            p = p.rstrip("/") + "/"
        lines.append(f"{prefix}{branch}{p}  {who}  sha256:{_short(f['sha256'])}  {status}{more}")
        if job and f["producer"] not in shown and (depth is None or level < depth):
            shown.add(f["producer"])
            child_prefix = "" if branch == "" else prefix + ("    " if branch == "└── " else "│   ")
            ins = job["inputs"]
            for k, i in enumerate(ins):
                last = k == len(ins) - 1
                line(i["path"], child_prefix, "└── " if last else "├── ", bool(i.get("stale")), level + 1)

    line(lin["target"], "", "", False, 0)
    n_jobs, n_raw = len(jobs), len(lin["raw_inputs"])
    lines.append("")
    lines.append(f"{len(files)} files, {n_jobs} jobs, {n_raw} raw inputs; config hash(es): "
                 f"{', '.join(lin['config_hashes']) or '-'}")
    commits = sorted({(j['git'] or {}).get('commit') or '-' for j in jobs.values()})
    dirty = any((j["git"] or {}).get("dirty") for j in jobs.values())
    lines.append(f"git commit(s): {', '.join(c[:12] for c in commits)}{' (dirty tree)' if dirty else ''}; "
                 f"msgnn code: {', '.join(sorted({_short(j['msgnn_code_sha256']) for j in jobs.values()}))}")
    if lin["problems"]:
        lines.append(f"{len(lin['problems'])} problem(s):")
        lines.extend(f"  - {p}" for p in lin["problems"])
    else:
        lines.append("every file on disk matches its record")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Export: W3C PROV and RO-Crate

MSGNN_NS = "urn:msgnn:"      # msgnn's own attribute names in the PROV document
WFRUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"   # defines sha256 for RO-Crate
WROC_PROFILE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
RUN_CRATE_PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/ro/wfrun/provenance/0.5": "Provenance Run Crate",
}


def select_jobs(run: Run, target: str | Path | None = None) -> dict[str, dict]:
    """All jobs of the run, or only those in the lineage of `target`."""
    if target is None:
        return run.jobs
    return {j: run.jobs[j] for j in lineage(target, run=run)["jobs"]}


def _file_versions(run: Run, jobs: dict[str, dict]):
    """Every (path, sha256) a job read or wrote, with its entry (size, type, directory), each once."""
    seen: dict[tuple[str, str | None], dict] = {}
    for rec in jobs.values():
        for e in [*rec["outputs"], *rec["inputs"]]:
            seen.setdefault((run.norm(e["path"]), e.get("sha256")), e)
    return seen


def to_prov(run: Run, jobs: dict[str, dict] | None = None):
    """The run as a W3C PROV document (the `prov` package's ProvDocument).

    Entities are file versions (path and sha256: a file rewritten by a rerun is a new entity),
    activities are jobs with their start and end times, the rule a job ran is its plan, and the
    agents are the msgnn code version (a SoftwareAgent, per code hash) acting for the user on the
    host. Relations: used, wasGeneratedBy, wasDerivedFrom (each output from each input of its
    job), wasAssociatedWith (job, code, rule), actedOnBehalfOf (code, user)."""
    from prov.model import PROV_LABEL, PROV_TYPE, ProvDocument

    jobs = run.jobs if jobs is None else jobs
    doc = ProvDocument()
    doc.add_namespace("msgnn", MSGNN_NS)
    doc.add_namespace("run", run.root.as_uri() + "/")
    doc.add_namespace("ext", "file:///")

    def entity_id(path: str, sha: str | None) -> str:
        ns, local = ("ext", path.lstrip("/")) if Path(path).is_absolute() else ("run", path)
        return f"{ns}:{local}#sha256={sha or 'missing'}"

    for (path, sha), e in sorted(_file_versions(run, jobs).items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        attrs = {PROV_LABEL: path, "msgnn:path": path, "msgnn:sha256": sha or "",
                 PROV_TYPE: "msgnn:Directory" if e.get("type") == "directory" else "msgnn:File"}
        if "bytes" in e:
            attrs["msgnn:bytes"] = int(e["bytes"])
        if e.get("external") or run.producer.get(path) is None:
            attrs["msgnn:raw_input"] = True
        if "directory" in e:
            attrs["msgnn:in_directory"] = e["directory"]
        doc.entity(entity_id(path, sha), attrs)

    delegations: set[tuple[str, str]] = set()
    for jid, rec in sorted(jobs.items()):
        code = rec.get("msgnn_code_sha256") or "unknown"
        agent = f"run:agent/msgnn-{code[:16]}"
        if not doc.get_record(agent):
            git = rec.get("git") or {}
            doc.agent(agent, {PROV_TYPE: "prov:SoftwareAgent", PROV_LABEL: "msgnn workflow code",
                              "msgnn:code_sha256": code, "msgnn:git_commit": git.get("commit") or "",
                              "msgnn:git_dirty": bool(git.get("dirty")),
                              "msgnn:version": (rec.get("packages") or {}).get("msgnn") or ""})
        person = f"run:agent/{rec.get('user') or 'unknown'}@{rec.get('host') or 'unknown'}"
        if not doc.get_record(person):
            doc.agent(person, {PROV_TYPE: "prov:Person", PROV_LABEL: f"{rec.get('user')} on {rec.get('host')}"})
        if (agent, person) not in delegations:
            delegations.add((agent, person))
            doc.actedOnBehalfOf(agent, person)
        plan = f"run:rule/{rec['rule']}"
        if not doc.get_record(plan):
            wf = rec.get("workflow") or {}
            doc.entity(plan, {PROV_TYPE: "prov:Plan", PROV_LABEL: f"Snakemake rule {rec['rule']}",
                              "msgnn:workflow_sha256": wf.get("sha256") or ""})
        build = rec.get("lammps_build") or {}
        attrs = {PROV_LABEL: _job_label({"rule": rec["rule"], "wildcards": rec.get("wildcards", {})}),
                 PROV_TYPE: "msgnn:Job", "msgnn:rule": rec["rule"],
                 "msgnn:wildcards": json.dumps(rec.get("wildcards", {}), sort_keys=True),
                 "msgnn:params": json.dumps(rec.get("params", {}), sort_keys=True),
                 "msgnn:config_hash": rec.get("config_hash") or "",
                 "msgnn:packages": json.dumps(rec.get("packages", {}), sort_keys=True),
                 "msgnn:lammps_packages": " ".join(build.get("installed_packages", [])),
                 "msgnn:python": rec.get("python") or "", "msgnn:host": rec.get("host") or "",
                 "msgnn:threads": int(rec.get("threads") or 0),
                 "msgnn:slurm_job_id": rec.get("slurm_job_id") or "",
                 "msgnn:record": rec["record"]}
        act = doc.activity(f"run:job/{jid}", _dt(rec.get("started")), _dt(rec.get("finished")), attrs)
        doc.wasAssociatedWith(act, agent, plan)
        ins = [entity_id(run.norm(i["path"]), i.get("sha256")) for i in rec["inputs"]]
        outs = [entity_id(run.norm(o["path"]), o.get("sha256")) for o in rec["outputs"]]
        for i in ins:
            doc.used(act, i)
        for o in outs:
            doc.wasGeneratedBy(o, act, _dt(rec.get("finished")))
            for i in ins:
                doc.wasDerivedFrom(o, i, act)
    return doc


def _dt(stamp: str | None):
    return datetime.fromisoformat(stamp) if stamp else None


def _stamp(stamp: str | None) -> str | None:
    """A record's time as ISO 8601 with a colon in the offset (records before schema 2 have none)."""
    return _dt(stamp).isoformat() if stamp else None


def write_prov(run: Run, out: str | Path, jobs: dict[str, dict] | None = None) -> list[Path]:
    """Write the PROV document as PROV-JSON, PROV-N and PROV-O (Turtle). `out` is a folder
    (files provenance.json, .provn, .ttl in it) or a file name ending in .json (the others beside
    it). Each file is read back with prov's deserialiser where prov has one (JSON, Turtle) and
    must give the same document, or InputFileError names it."""
    from prov.model import ProvDocument

    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".json" else out / "provenance"
    doc = to_prov(run, jobs)
    written = []
    for suffix, text in ((".json", doc.serialize(format="json", indent=1)),
                         (".provn", doc.get_provn()),
                         (".ttl", doc.serialize(format="rdf", rdf_format="turtle"))):
        path = stem.with_name(stem.name + suffix)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    for path, kw in ((written[0], {"format": "json"}), (written[2], {"format": "rdf", "rdf_format": "turtle"})):
        back = ProvDocument.deserialize(content=path.read_text(), **kw)
        if back != doc:
            raise InputFileError(path, "the PROV document does not read back to the one written")
    return written


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
            agents[who] = crate.add(Person(crate, f"#agent-{_safe_tag(who)}", properties={
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
    versions = _file_versions(run, jobs)
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
        label = _job_label({"rule": rule, "wildcards": rec.get("wildcards", {})})
        props = {"name": f"job {label}", "description": f"Snakemake job {label}; details in {rec['record']}",
                 "startTime": _stamp(rec.get("started")), "endTime": _stamp(rec.get("finished")),
                 "agent": {"@id": agent_of(rec).id}, "subjectOf": {"@id": rec_entity.id}}
        action = crate.add_action(tools[rule], f"#job-{_safe_tag(jid)}", object=_single(refs(rec["inputs"])),
                                  result=_single(refs(rec["outputs"])), properties=props)
        rec_entity["about"] = {"@id": action.id}
        actions.append(action)
        controls.append(crate.add(ContextEntity(crate, f"#control-{_safe_tag(jid)}", properties={
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
