"""Snakemake adapter: per-material v(T) -> kinetics.json (with the v(T)-crossing Tm), v(T) plot."""
from msgnn.md.analysis import write_kinetics
from msgnn.md.settings import KineticsSettings, Material
from msgnn.workflow.script import run_script


def main(sm):
    write_kinetics(list(sm.input.runs), sm.wildcards.material, Material.from_dict(sm.params.material),
                   KineticsSettings.from_dict(sm.params.kinetics), sm.output.kinetics, sm.output.plot)


run_script(snakemake, main)  # noqa: F821
