"""Snakemake adapter: per-material v(T) -> kinetics.json (with the v(T)-crossing Tm), v(T) plot."""
from msgnn.md.analysis import write_kinetics
from msgnn.md.settings import Material
from msgnn.workflow.script import run_script


def main(sm):
    write_kinetics(list(sm.input.runs), sm.wildcards.material, Material.from_dict(sm.params.material),
                   sm.output.kinetics, sm.output.plot, float(sm.params.max_undercooling_fraction))


run_script(snakemake, main)  # noqa: F821
