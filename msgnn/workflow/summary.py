"""The one-screen summary `make run` ends with: the sections of the run's report.md a user looks
at first (model accuracy, melting points, kinetic coefficients), and where the full report is."""
from __future__ import annotations

import re
from pathlib import Path

from msgnn.errors import InputFileError

SECTIONS = ("Model accuracy", "Growth of materials never seen", "Melting points", "Kinetic coefficients")


def summary(results: str | Path = "results") -> str:
    report_md = Path(results) / "report" / "report.md"
    if not report_md.is_file():
        raise InputFileError(report_md, "no report here: has the workflow finished (`snakemake --cores all`)?")
    parts = re.split(r"^## ", report_md.read_text(), flags=re.M)[1:]
    keep = [p for p in parts if p.startswith(SECTIONS)]
    # figures are for the HTML report, not the terminal
    text = "\n".join("## " + re.sub(r"^!\[.*$\n?", "", p, flags=re.M).rstrip() + "\n" for p in keep)
    html = report_md.with_suffix(".html")
    where = [f"full report: {report_md}"] + ([f"HTML report: {html}"] if html.is_file() else [])
    return text + "\n" + "\n".join(where) + "\n"
