from msgnn.kinetics import ClassicalNucleation
from msgnn.microscopy.pipeline import ConditionOutputs, process_condition
from msgnn.microscopy.settings import ConditionSettings
from msgnn.workflow.script import run_script


def main(sm):
    process_condition(
        material=sm.wildcards.material, temperature_K=int(sm.wildcards.temperature),
        settings=ConditionSettings.from_dict(sm.params.settings),
        nucleation=ClassicalNucleation.from_dict(sm.params.nucleation),
        melting_point_K=sm.params.melting_point_K, seed=sm.params.seed,
        run_json=sm.input.get("run"), real_images=list(sm.params.real_images) or None,
        real_series=dict(sm.params.real_series) if sm.params.real_series else None,
        out=ConditionOutputs(sm.output.images, sm.output.facets, sm.output.measurements, sm.output.figure))


run_script(snakemake, main)  # noqa: F821
