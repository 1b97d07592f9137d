from msgnn.graphs.settings import GraphSettings
from msgnn.learn.growth_studies import run_growth_studies
from msgnn.learn.settings import GrowthStudiesSettings, GrowthTaskSettings
from msgnn.workflow.script import run_script


def main(sm):
    o = sm.output
    run_growth_studies(sm.params.library, GrowthTaskSettings.from_dict(sm.params.growth_task),
                       GrowthStudiesSettings.from_dict(sm.params.growth_studies),
                       GraphSettings.from_dict(sm.params.graphs), int(sm.params.seed),
                       o.curve, o.curve_plot, o.tuning, o.tuning_plot, o.summary)


run_script(snakemake, main)  # noqa: F821
