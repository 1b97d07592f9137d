from msgnn.learn.settings import TrainSettings
from msgnn.learn.train import run_training
from msgnn.workflow.script import run_script


def main(sm):
    model = sm.wildcards.get("model") or f"{sm.wildcards.base}_tuned"
    run_training(sm.input.samples, sm.input.splits, sm.output.metrics, sm.output.predictions,
                 model=model, train=TrainSettings.from_dict(sm.params.train), seed=int(sm.params.seed),
                 best_params_path=sm.input.get("best_params"), threads=sm.threads,
                 loss_history_path=sm.output.loss_history, loss_curve_path=sm.output.loss_curve)


run_script(snakemake, main)  # noqa: F821
