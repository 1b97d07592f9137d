from msgnn.graphs.settings import GraphSettings
from msgnn.learn.lomo import run_growth_task
from msgnn.learn.settings import GrowthTaskSettings
from msgnn.workflow.script import run_script


def main(sm):
    run_growth_task(sm.params.library, GrowthTaskSettings.from_dict(sm.params.growth_task),
                    GraphSettings.from_dict(sm.params.graphs), sm.wildcards.split, int(sm.params.seed),
                    sm.output.predictions, sm.output.metrics, sm.output.parity)


run_script(snakemake, main)  # noqa: F821
