from msgnn.graphs.settings import GraphSettings
from msgnn.kinetics import ClassicalNucleation
from msgnn.learn.forecast import run_forecast_task
from msgnn.learn.settings import ForecastTaskSettings
from msgnn.reactor.settings import LogGenerator
from msgnn.workflow.script import run_script


def main(sm):
    run_forecast_task(sm.params.library, ForecastTaskSettings.from_dict(sm.params.forecast_task),
                      sm.params.noise, sm.params.blur_px, LogGenerator.from_dict(sm.params.reactor),
                      ClassicalNucleation.from_dict(sm.params.nucleation), int(sm.params.seed),
                      sm.output.table, sm.output.predictions, sm.output.metrics,
                      GraphSettings.from_dict(sm.params.graphs))


run_script(snakemake, main)  # noqa: F821
