"""Reading a run's provenance records: the file-level DAG of jobs, and the lineage of one output
back to the raw inputs, with files changed since they were recorded flagged."""
from __future__ import annotations

import os
from pathlib import Path

from msgnn.errors import InputFileError
from msgnn.io import read_json_object, sha256
from msgnn.workflow.provenance.records import directory_files, directory_sha256


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
                files = [{"path": str(f), "sha256": sha256(f)} for f in directory_files(p)]
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

    def file_versions(self, jobs: dict[str, dict]) -> dict[tuple[str, str | None], dict]:
        """Every (path, sha256) the `jobs` read or wrote, with its entry (size, type, directory), each once."""
        seen: dict[tuple[str, str | None], dict] = {}
        for rec in jobs.values():
            for e in [*rec["outputs"], *rec["inputs"]]:
                seen.setdefault((self.norm(e["path"]), e.get("sha256")), e)
        return seen


def job_id(rec: dict) -> str:
    """A job's name: its rule and the stem of its record file (the wildcards)."""
    return f"{rec['rule']}/{Path(rec.get('record', 'all.json')).stem}"


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


def job_label(job: dict) -> str:
    """"rule key=value ...": a job's rule and wildcards, for people."""
    wc = " ".join(f"{k}={v}" for k, v in (job.get("wildcards") or {}).items())
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
        who = f"[{job_label(job)}]" if job else ("[raw input, external]" if f.get("external") else "[raw input]")
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


def select_jobs(run: Run, target: str | Path | None = None) -> dict[str, dict]:
    """All jobs of the run, or only those in the lineage of `target`."""
    if target is None:
        return run.jobs
    return {j: run.jobs[j] for j in lineage(target, run=run)["jobs"]}
