"""`msgnn` command line: validate a config, show the provenance of an output."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from msgnn.errors import MsgnnError


def _validate(args) -> int:
    from msgnn.config import conditions, growth_conditions, load
    cfg = load(args.config)
    print(f"{args.config}: valid; {len(conditions(cfg))} MD conditions, "
          f"{len(growth_conditions(cfg))} growth conditions, materials {', '.join(cfg['materials'])}")
    return 0


def _provenance(args) -> int:
    target = str(Path(args.output))
    for rec_path in sorted(Path(args.results, "provenance").rglob("*.json")):
        rec = json.loads(rec_path.read_text())
        if any(o["path"] == target for o in rec.get("outputs", [])):
            print(json.dumps(rec, indent=2))
            return 0
    print(f"no provenance record lists {target} as an output", file=sys.stderr)
    return 1


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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MsgnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
