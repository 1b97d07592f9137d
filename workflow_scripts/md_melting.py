"""Snakemake adapter: NPH solid–liquid coexistence replicas -> melting_point.json + T(t) plot."""
from msgnn.md.melting import write_melting_point
from msgnn.md.settings import Material, MeltingSettings, SlabSettings
from msgnn.workflow.script import run_script


def main(sm):
    write_melting_point(sm.wildcards.material, Material.from_dict(sm.params.material),
                        SlabSettings.from_dict(sm.params.md), MeltingSettings.from_dict(sm.params.melting),
                        int(sm.params.seed), sm.output.melting_point, plot_png=sm.output.plot)


run_script(snakemake, main)  # noqa: F821
