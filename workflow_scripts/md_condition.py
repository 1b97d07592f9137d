"""Snakemake adapter: the replicas of one (material, temperature) at the primary orientation -> run.json."""
from msgnn.md.analysis import write_condition
from msgnn.workflow.script import run_script


def main(sm):
    write_condition(list(sm.input.runs), sm.output.run)


run_script(snakemake, main)  # noqa: F821
