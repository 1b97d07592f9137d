"""`msgnn` command line: validate a config; the provenance of an output (its record, its lineage
back to the raw inputs), a PROV / RO-Crate export of a run, a record for a file made outside a job;
carry finished materials-library runs between machines."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from msgnn.errors import MsgnnError


def _validate(args) -> int:
    from msgnn.workflow.config import conditions, growth_conditions, load
    cfg = load(args.config)
    print(f"{args.config}: valid; {len(conditions(cfg))} MD conditions, "
          f"{len(growth_conditions(cfg))} growth conditions, materials {', '.join(cfg['materials'])}")
    return 0


def _provenance(args) -> int:
    from msgnn.workflow.provenance.lineage import Run
    run = Run(args.results)     # the same path matching as lineage: relative or absolute paths
    jid = run.producer.get(run.user_path(args.output))
    if jid is None:
        print(f"no provenance record lists {args.output} as an output", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in run.jobs[jid].items() if k != "record"}, indent=2))
    return 0


def _lineage(args) -> int:
    from msgnn.workflow.provenance.lineage import format_lineage, lineage
    lin = lineage(args.output, args.results)
    print(json.dumps(lin, indent=2) if args.json else format_lineage(lin, args.depth))
    return 1 if (args.strict and lin["problems"]) else 0


def _export(args) -> int:
    from msgnn.workflow.provenance.lineage import Run, select_jobs
    from msgnn.workflow.provenance.ro_crate import write_ro_crate
    from msgnn.workflow.provenance.w3c_prov import write_prov
    run = Run(args.results)
    jobs = select_jobs(run, args.target)
    out = Path(args.out)
    if args.format in ("ro-crate", "all"):
        crate = out / "ro-crate" if args.format == "all" else out
        print(f"RO-Crate: {write_ro_crate(run, crate, jobs, license=args.license)} ({len(jobs)} jobs)")
    if args.format in ("prov", "all"):
        for path in write_prov(run, out / "prov" if args.format == "all" else out, jobs):
            print(f"PROV: {path} ({path.stat().st_size} bytes)")
    return 0


def _record(args) -> int:
    from msgnn.workflow.provenance.records import record_external
    print(record_external(args.results, args.output, rule=args.rule, inputs=args.input))
    return 0


def _library_pack(args) -> int:
    from msgnn.md.library import pack
    for m in args.material:
        print(pack(args.run, m, args.out, partial=args.partial))
    return 0


def _library_unpack(args) -> int:
    from msgnn.md.library import unpack
    for a in args.archive:
        print(f"{a}: {unpack(a, args.into)} files into {args.into}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="msgnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="validate a config file against the schema")
    p.add_argument("config", nargs="?", default="config.yaml")
    p.set_defaults(func=_validate)
    p = sub.add_parser("provenance", help="print the provenance record of an output file")
    p.add_argument("output")
    p.add_argument("--results", default="results")
    p.set_defaults(func=_provenance)
    p = sub.add_parser("lineage", help="print the lineage of an output back to the raw inputs, "
                                       "flagging files changed since they were recorded")
    p.add_argument("output")
    p.add_argument("--results", default="results")
    p.add_argument("--json", action="store_true", help="the lineage DAG as JSON (files, jobs, raw inputs, problems)")
    p.add_argument("--depth", type=int, help="show this many levels of the tree (the summary covers all)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a file is modified, missing or stale")
    p.set_defaults(func=_lineage)
    p = sub.add_parser("export-provenance", help="export the run's provenance as an RO-Crate and/or "
                                                 "a W3C PROV document (PROV-JSON, PROV-N, PROV-O Turtle)")
    p.add_argument("--format", choices=["ro-crate", "prov", "all"], default="all")
    p.add_argument("--out", required=True, help="ro-crate: a folder or NAME.zip; prov: a folder or "
                                                "NAME.json; all: a folder (ro-crate/ and prov/ in it)")
    p.add_argument("--results", default="results")
    p.add_argument("--target", help="only the jobs in this output's lineage (default: the whole run)")
    p.add_argument("--license", help="the RO-Crate's licence (a URL such as https://spdx.org/licenses/CC-BY-4.0, "
                                     "or text); default: a note that none was declared")
    p.set_defaults(func=_export)
    p = sub.add_parser("record", help="write a provenance record for a file made outside a workflow job "
                                      "(e.g. the HTML report of `snakemake --report`)")
    p.add_argument("output")
    p.add_argument("--rule", required=True, help="a name for the step that made it")
    p.add_argument("--input", nargs="*", default=[], help="the files it was made from")
    p.add_argument("--results", default="results")
    p.set_defaults(func=_record)
    p = sub.add_parser("library-pack", help="archive finished library materials (their results, provenance, "
                                            "logs, benchmarks) so another machine can resume the library run")
    p.add_argument("run", help="the folder the library workflow runs in")
    p.add_argument("material", nargs="+")
    p.add_argument("--out", default="data/library_runs", help="where the {material}.tar.xz go (default: %(default)s)")
    p.add_argument("--partial", action="store_true", help="also a material that is not finished: its finished jobs")
    p.set_defaults(func=_library_pack)
    p = sub.add_parser("library-unpack", help="restore library-pack archives into a workflow folder; the "
                                              "workflow then skips those materials' finished jobs")
    p.add_argument("archive", nargs="+")
    p.add_argument("--into", default=".", help="the workflow folder (default: %(default)s)")
    p.set_defaults(func=_library_unpack)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MsgnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
