from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings
from msgnn.learn.tune import run_tuning
from msgnn.workflow.script import run_script


def main(sm):
    # the scheduling keys are not params (a change reruns nothing): they come from the config
    run_tuning(sm.input.samples, sm.input.splits, sm.output.best_params, sm.output.history,
               model=sm.params.model, train=TrainSettings.from_dict(sm.params.train),
               tune=TuneSettings.from_dict(sm.params.tune), scheduling=TuneScheduling.from_section(sm.config["tune"]),
               seed=int(sm.params.seed), threads=sm.threads,
               loss_history_path=sm.output.loss_history)


run_script(snakemake, main)  # noqa: F821
