from msgnn.reactor.recovery import run_recovery
from msgnn.workflow.script import run_script


def main(sm):
    run_recovery(list(sm.input.runs), sm.output.recovery, conditions=sm.params.conditions,
                 materials=dict(sm.params.materials), reactor=dict(sm.params.reactor),
                 nucleation=dict(sm.params.nucleation), noise_levels=sm.params.noise_levels,
                 seeds=sm.params.seeds, max_conditions=sm.params.max_conditions)


run_script(snakemake, main)  # noqa: F821
