from msgnn.microscopy import process_condition
from msgnn.workflow.script import run_script


def main(sm):
    process_condition(
        material=sm.wildcards.material, temperature_K=int(sm.wildcards.temperature),
        microscopy=dict(sm.params.microscopy), nucleation=dict(sm.params.nucleation),
        melting_point_K=sm.params.melting_point_K, seed=sm.params.seed,
        run_json=sm.input.get("run"), real_images=list(sm.params.real_images) or None,
        real_series=dict(sm.params.real_series) if sm.params.real_series else None,
        out_images=sm.output.images, out_facets=sm.output.facets,
        out_measurements=sm.output.measurements, out_figure=sm.output.figure)


run_script(snakemake, main)  # noqa: F821
