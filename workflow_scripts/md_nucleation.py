"""Snakemake adapter: homogeneous-nucleation replicas of one material -> nucleation.json + figure.

Finished replicas are kept in params.partial_dir, so a killed job resumes replica by replica."""
from msgnn.md.nucleation import write_nucleation
from msgnn.md.settings import Material, NucleationSettings
from msgnn.workflow.script import run_script


def main(sm):
    write_nucleation(sm.wildcards.material, Material.from_dict(sm.params.material), list(sm.params.temperatures),
                     NucleationSettings.from_dict(sm.params.nucleation), int(sm.params.seed), sm.output.nucleation,
                     sm.output.plot, partial_dir=sm.params.partial_dir)


run_script(snakemake, main)  # noqa: F821
