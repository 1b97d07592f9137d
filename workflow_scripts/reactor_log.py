from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.pipeline import copy_real_log, generate_condition
from msgnn.reactor.settings import LogGenerator
from msgnn.workflow.script import run_script


def main(sm):
    material, temperature = sm.wildcards.material, int(sm.wildcards.temperature)
    if sm.params.real:
        copy_real_log(sm.input.real[0], sm.output.raw, sm.output.info, material=material,
                      temperature_K=temperature)
    else:
        generate_condition(sm.input.run, sm.output.raw, sm.output.info, material=material,
                           temperature_K=temperature, melting_point_K=sm.params.melting_point_K,
                           generator=LogGenerator.from_dict(sm.params.generator),
                           nucleation=ClassicalNucleation.from_dict(sm.params.nucleation), seed=sm.params.seed)


run_script(snakemake, main)  # noqa: F821
