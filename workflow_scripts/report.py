from pathlib import Path

from msgnn.workflow.report import build
from msgnn.workflow.script import run_script


def main(sm):
    build(train_dir="results/train", tune_dir="results/tune", kinetics_files=sm.input.kinetics,
          melting_files=sm.input.melting, accuracy_file=sm.input.accuracy,
          recovery_file=sm.input.recovery, nucleation_files=sm.input.nucleation,
          out_dir=Path(sm.output.metrics).parent)


run_script(snakemake, main)  # noqa: F821
