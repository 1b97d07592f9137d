from msgnn.microscopy.pipeline import accuracy_study
from msgnn.microscopy.settings import AccuracySettings
from msgnn.workflow.script import run_script


def main(sm):
    accuracy_study(AccuracySettings.from_dict(sm.params.settings), seed=sm.params.seed,
                   out_json=sm.output.accuracy, out_figure=sm.output.figure)


run_script(snakemake, main)  # noqa: F821
