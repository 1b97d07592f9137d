from msgnn.reactor.pipeline import analyse_condition
from msgnn.workflow.script import run_script


def main(sm):
    analyse_condition(sm.input.raw, info_json=sm.input.info, out_clean=sm.output.clean,
                      out_report=sm.output.report, out_kinetics=sm.output.kinetics,
                      out_plot=sm.output.figure, out_cleaning_plot=sm.output.cleaning,
                      material=sm.wildcards.material,
                      temperature_K=int(sm.wildcards.temperature))


run_script(snakemake, main)  # noqa: F821
