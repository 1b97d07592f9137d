"""The run's provenance as a W3C PROV document (the `prov` package): PROV-JSON, PROV-N, PROV-O."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from prov.model import PROV_LABEL, PROV_TYPE, ProvDocument

from msgnn.errors import InputFileError
from msgnn.io import atomic_path
from msgnn.workflow.provenance.lineage import Run, job_label

MSGNN_NS = "urn:msgnn:"      # msgnn's own attribute names in the PROV document


def to_prov(run: Run, jobs: dict[str, dict] | None = None):
    """The run as a W3C PROV document (the `prov` package's ProvDocument).

    Entities are file versions (path and sha256: a file rewritten by a rerun is a new entity),
    activities are jobs with their start and end times, the rule a job ran is its plan, and the
    agents are the msgnn code version (a SoftwareAgent, per code hash) acting for the user on the
    host. Relations: used, wasGeneratedBy, wasDerivedFrom (each output from each input of its
    job), wasAssociatedWith (job, code, rule), actedOnBehalfOf (code, user)."""
    jobs = run.jobs if jobs is None else jobs
    doc = ProvDocument()
    doc.add_namespace("msgnn", MSGNN_NS)
    doc.add_namespace("run", run.root.as_uri() + "/")
    doc.add_namespace("ext", "file:///")

    def entity_id(path: str, sha: str | None) -> str:
        ns, local = ("ext", path.lstrip("/")) if Path(path).is_absolute() else ("run", path)
        return f"{ns}:{local}#sha256={sha or 'missing'}"

    for (path, sha), e in sorted(run.file_versions(jobs).items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
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
        attrs = {PROV_LABEL: job_label(rec),
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


def write_prov(run: Run, out: str | Path, jobs: dict[str, dict] | None = None) -> list[Path]:
    """Write the PROV document as PROV-JSON, PROV-N and PROV-O (Turtle). `out` is a folder
    (files provenance.json, .provn, .ttl in it) or a file name ending in .json (the others beside
    it). Each file is read back with prov's deserialiser where prov has one (JSON, Turtle) and
    must give the same document, or InputFileError names it."""
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
