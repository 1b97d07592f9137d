"""Snakemake adapter: run.json + snapshots.npz -> snapshots.extxyz + in.lammps (msgnn/md/export.py)."""
import logging

from msgnn.md.export import write_extxyz, write_input_script
from msgnn.workflow.script import run_script


def main(sm):
    n = write_extxyz(sm.input.snapshots, sm.output.extxyz)
    write_input_script(sm.input.run, sm.output.input_script)
    logging.getLogger("msgnn").info("%s: %d frames; %s", sm.output.extxyz, n, sm.output.input_script)


run_script(snakemake, main)  # noqa: F821
