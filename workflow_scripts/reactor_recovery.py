from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.recovery import run_recovery
from msgnn.reactor.settings import LogGenerator, RecoveryStudy
from msgnn.workflow.script import run_script


def main(sm):
    run_recovery(list(sm.input.runs), sm.output.recovery, conditions=sm.params.conditions,
                 melting_points_K=dict(sm.params.melting_points_K),
                 generator=LogGenerator.from_dict(sm.params.generator),
                 nucleation=ClassicalNucleation.from_dict(sm.params.nucleation),
                 study=RecoveryStudy.from_dict(sm.params.study), seeds=sm.params.seeds)


run_script(snakemake, main)  # noqa: F821
