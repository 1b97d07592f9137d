"""Snakemake adapter: short bulk runs at the coexistence Tm -> descriptors.json + g(r), D(T) plot."""
from msgnn.md.bulk import write_descriptors
from msgnn.md.settings import BulkSettings, Material
from msgnn.workflow.script import run_script


def main(sm):
    write_descriptors(sm.wildcards.material, Material.from_dict(sm.params.material), BulkSettings.from_dict(sm.params.bulk),
                      sm.input.melting_point, sm.params.temperatures, int(sm.params.seed),
                      float(sm.params.melt_temperature_factor), float(sm.params.barostat_damp_ps),
                      sm.output.descriptors, plot_png=sm.output.plot)


run_script(snakemake, main)  # noqa: F821
