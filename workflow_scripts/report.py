from dataclasses import fields
from pathlib import Path

from msgnn.workflow.report import ReportInputs, build
from msgnn.workflow.script import run_script


def main(sm):
    inputs = ReportInputs(**{f.name: sm.input[f.name] for f in fields(ReportInputs)})
    build(inputs, out_dir=Path(sm.output.metrics).parent)


run_script(snakemake, main)  # noqa: F821
