"""`msgnn` command line: validate a config; the provenance of an output (its record, its lineage
back to the raw inputs), a PROV / RO-Crate export of a run, a record for a file made outside a job;
carry finished materials-library runs between machines; and the workflow's analyses of one file
without a workflow: a reactor log (`reactor-fit`) or a micrograph (`segment`)."""
from __future__ import annotations

import argparse
import json
import logging
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


def _summary(args) -> int:
    from msgnn.workflow.summary import summary
    print(summary(args.results), end="")
    return 0


def _timeline(args) -> int:
    from msgnn.workflow.timeline import job_table, md_throughput, span_s, write_timeline
    try:
        table = write_timeline(args.results, args.out, args.since)
    except ValueError as e:      # nothing ran (a no-op rerun): nothing to draw
        print(e)
        return 0
    print(table.to_string(float_format=lambda x: f"{x:.3g}"))
    md = md_throughput(args.results, args.since)
    if len(md):
        print("MD growth runs: median " + ", ".join(
            f"{m} {g['katom_steps_per_s'].median():.0f}" for m, g in md.groupby("material")) + " katom-steps/s per job")
    print(f"wall {span_s(job_table(args.results, args.since)) / 60:.1f} min; wrote {args.out}/timeline.png, "
          f"{args.out}/time_per_rule.csv" + (", md_throughput.csv" if len(md) else ""))
    return 0


def _ci(ci) -> str:
    return f"[{ci[0]:.4g}, {ci[1]:.4g}]"


def _reactor_fit(args) -> int:
    from msgnn.reactor.pipeline import fit_file
    kin = fit_file(args.log, args.out, material=args.material, temperature_K=args.temperature)
    conv = ", ".join(f"{c['column']} -> {c['to']}" for c in kin["unit_conversions"]) or "none"
    ss = kin["steady_state"]
    print(f"{args.log}: schema ok, {kin['n_rows_raw']} rows; units converted: {conv}; "
          f"ignored columns: {', '.join(kin['ignored_columns']) or 'none'}"
          + ("; SYNTHETIC log" if kin["synthetic"] else ""))
    print(f"cleaning: {kin['n_rows_raw']} raw rows -> {kin['n_rows_clean']} clean; "
          f"steady state {ss['steady_state_start_s']:g}-{ss['steady_state_end_s']:g} s "
          f"({ss['n_timestamps_steady']} timestamps)")
    for action, n in kin["cleaning_counts"].items():
        print(f"  {n:6d}  {action}")
    print(f"T  = {kin['temperature_K']} K (steady-state mean {kin['temperature_mean_steady_K']:.2f} K, "
          f"drift {kin['temperature_drift_K_per_h']:.3g} K/h)")
    print(f"G  = {kin['growth_rate_m_per_s']:.4g} m/s        95% CI {_ci(kin['growth_rate_ci95'])}")
    print(f"B0 = {kin['nucleation_rate_per_m3_s']:.4g} m^-3 s^-1  95% CI {_ci(kin['nucleation_rate_ci95'])}")
    print(f"residence time {kin['residence_time_s']:.4g} s, dominant size {kin['dominant_size_m']:.4g} m")
    print("wrote " + ", ".join(kin["files"].values()))
    return 0


def _segment(args) -> int:
    from msgnn.microscopy.pipeline import segment_file
    rec = segment_file(args.image, args.out, pixel_size_m=args.pixel_size)
    lam = rec["mean_grain_size_m"]
    print(f"{args.image}: {rec['shape_px'][0]} x {rec['shape_px'][1]} px, pixel {rec['pixel_size_m']:.4g} m "
          f"({rec['source_file']['pixel_size_source']})")
    print(f"grains: {rec['n_grains']:g} (border grains count 1/2: {rec['n_interior']} interior, "
          f"{rec['n_border']} on the border) in {rec['field_area_m2']:.4g} m^2")
    print(f"nucleation density N = {rec['nucleation_density_per_m2']:.4g} m^-2")
    print("mean grain size lambda (mean linear intercept) = "
          + (f"{lam:.4g} m" if lam is not None else "not measurable") + "; mean equivalent diameter = "
          + (f"{d:.4g} m" if (d := rec["mean_equivalent_diameter_m"]) is not None else "not measurable"))
    print(f"facet graph: {rec['n_facets']} facets, {rec['n_facet_edges']} shared boundaries")
    if rec.get("note"):
        print(f"note: {rec['note']}")
    print("wrote " + ", ".join(rec["files"].values()))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("msgnn")
    except PackageNotFoundError:        # run from a source tree that is not installed
        from msgnn import __version__
        return __version__


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown after each argument's help, except where the help already says what an
    unset (None) default means."""

    def _get_help_string(self, action):
        if action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


FILE_COMMANDS = {"reactor-fit": "log", "segment": "image"}    # the file each one-file command reads


def main(argv=None) -> int:
    fmt = _Help
    parser = argparse.ArgumentParser(prog="msgnn", description=__doc__, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an unexpected error, show Python's traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="validate a config file against the schema", formatter_class=fmt)
    p.add_argument("config", nargs="?", default="config.yaml", help="the config file")
    p.set_defaults(func=_validate)
    p = sub.add_parser("provenance", help="print the provenance record of an output file", formatter_class=fmt)
    p.add_argument("output", help="an output file of the workflow")
    p.add_argument("--results", default="results", help="the workflow's results folder")
    p.set_defaults(func=_provenance)
    p = sub.add_parser("lineage", help="print the lineage of an output back to the raw inputs, "
                                       "flagging files changed since they were recorded", formatter_class=fmt)
    p.add_argument("output", help="an output file of the workflow")
    p.add_argument("--results", default="results", help="the workflow's results folder")
    p.add_argument("--json", action="store_true", help="the lineage DAG as JSON (files, jobs, raw inputs, problems)")
    p.add_argument("--depth", type=int, help="show this many levels of the tree (the summary covers all)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a file is modified, missing or stale")
    p.set_defaults(func=_lineage)
    p = sub.add_parser("export-provenance", help="export the run's provenance as an RO-Crate and/or "
                                                 "a W3C PROV document (PROV-JSON, PROV-N, PROV-O Turtle)",
                       formatter_class=fmt)
    p.add_argument("--format", choices=["ro-crate", "prov", "all"], default="all", help="what to write")
    p.add_argument("--out", required=True, help="ro-crate: a folder or NAME.zip; prov: a folder or "
                                                "NAME.json; all: a folder (ro-crate/ and prov/ in it)")
    p.add_argument("--results", default="results", help="the workflow's results folder")
    p.add_argument("--target", help="only the jobs in this output's lineage (default: the whole run)")
    p.add_argument("--license", help="the RO-Crate's licence (a URL such as https://spdx.org/licenses/CC-BY-4.0, "
                                     "or text); default: a note that none was declared")
    p.set_defaults(func=_export)
    p = sub.add_parser("record", help="write a provenance record for a file made outside a workflow job "
                                      "(e.g. the HTML report of `snakemake --report`)", formatter_class=fmt)
    p.add_argument("output", help="the file to record")
    p.add_argument("--rule", required=True, help="a name for the step that made it")
    p.add_argument("--input", nargs="*", default=[], help="the files it was made from")
    p.add_argument("--results", default="results", help="the workflow's results folder")
    p.set_defaults(func=_record)
    p = sub.add_parser("library-pack", help="archive finished library materials (their results, provenance, "
                                            "logs, benchmarks) so another machine can resume the library run",
                       formatter_class=fmt)
    p.add_argument("run", help="the folder the library workflow runs in")
    p.add_argument("material", nargs="+", help="the materials to archive")
    p.add_argument("--out", default="data/library_runs", help="where the {material}.tar.xz go")
    p.add_argument("--partial", action="store_true", help="also a material that is not finished: its finished jobs")
    p.set_defaults(func=_library_pack)
    p = sub.add_parser("library-unpack", help="restore library-pack archives into a workflow folder; the "
                                              "workflow then skips those materials' finished jobs", formatter_class=fmt)
    p.add_argument("archive", nargs="+", help="library-pack archives ({material}.tar.xz)")
    p.add_argument("--into", default=".", help="the workflow folder")
    p.set_defaults(func=_library_unpack)
    p = sub.add_parser("summary", formatter_class=fmt, help="one screen of a finished run: model accuracy, "
                                                           "melting points, kinetic coefficients, where the report is")
    p.add_argument("results", nargs="?", default="results", help="the run's results folder")
    p.set_defaults(func=_summary)
    p = sub.add_parser("timeline", formatter_class=fmt, help="where a run's time went: its jobs on a time axis "
                                                            "and the time per rule, from the provenance records")
    p.add_argument("results", nargs="?", default="results", help="the run's results folder")
    p.add_argument("--since", type=float, default=None, help="only jobs started after this time (epoch s; "
                                                               "default: every job with a record)")
    p.add_argument("--out", default="results/report", help="folder for timeline.png and time_per_rule.csv")
    p.set_defaults(func=_timeline)
    p = sub.add_parser("reactor-fit", formatter_class=fmt,
                       help="one reactor log through the workflow's reactor analysis: schema check, cleaning "
                            "report, steady-state MSMPR fit of G and B0 with 95 %% intervals, fit plot",
                       description="The analysis of rule reactor_kinetics (msgnn.reactor.pipeline) on one file. "
                                   "Writes clean.csv, cleaning_report.csv, kinetics.json, fit.png and "
                                   "cleaning.png into --out. Format: docs/reactor_schema.md.")
    p.add_argument("log", help="the reactor log, CSV or Parquet (docs/reactor_schema.md)")
    p.add_argument("--out", default="reactor_fit", help="folder for the outputs (made if missing)")
    p.add_argument("--material", help="the material named in kinetics.json and the plot titles "
                                      "(default: the file name without its extension)")
    p.add_argument("--temperature", type=int, metavar="K",
                   help="the condition's temperature in K (default: the median logged temperature)")
    p.set_defaults(func=_reactor_fit)
    p = sub.add_parser("segment", formatter_class=fmt,
                       help="one micrograph through the workflow's microscopy analysis: grain segmentation "
                            "overlay, facet graph, nucleation density, mean grain size lambda",
                       description="The steps of rule microscopy_condition for a real image "
                                   "(msgnn.microscopy.pipeline) on one file. Writes the calibrated image and "
                                   "segmentation TIFFs, facets.pt, segmentation.png and measurements.json into --out.")
    p.add_argument("image", help="a micrograph: TIFF (calibrated: FEI, ImageJ, OME or resolution tags), DM3/DM4, "
                                 "EMD (Velox, Berkeley), SER, MRC, PNG")
    p.add_argument("--out", default="segmentation", help="folder for the outputs (made if missing)")
    p.add_argument("--pixel-size", type=float, metavar="M",
                   help="pixel size in metres, for an image whose file holds no calibration "
                        "(default: the file's own calibration)")
    p.set_defaults(func=_segment)
    args = parser.parse_args(argv)
    if args.command in FILE_COMMANDS and not args.traceback:
        # tifffile logs its own complaint about a corrupt file before msgnn's error names it: one line
        logging.getLogger("tifffile").setLevel(logging.ERROR)
    try:
        return args.func(args)
    except MsgnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:   # noqa: BLE001 -- one line naming the file, not a traceback
        if args.traceback or args.command not in FILE_COMMANDS:
            raise
        path = getattr(args, FILE_COMMANDS[args.command])
        print(f"error: {path}: could not be analysed ({type(exc).__name__}: {exc}); "
              f"`msgnn --traceback {args.command} ...` shows where", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
