"""Typed settings of the learning stages, built from the validated config's train and tune sections.

The tune section is read as two classes: what the studies compute (:class:`TuneSettings`, the
tune rules' params, so a change reruns tuning) and how their trials are scheduled over workers
(:class:`TuneScheduling`, read from the config by the scripts, so a change reruns nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from msgnn.settings import Settings


@dataclass(frozen=True)
class TrainSettings(Settings):
    """config["train"]: the MS-GNN/MLP optimiser settings, the GroupKFold folds and the device."""

    SECTION: ClassVar[tuple[str, ...]] = ("train",)

    epochs: int
    hidden: int
    layers_per_scale: int
    attention_dim: int
    lr: float
    batch_size: int
    weight_decay: float
    lr_decay: float
    folds: int
    device: str


@dataclass(frozen=True)
class GrowthTaskSettings(Settings):
    """config["growth_task"]: the growth task's data, split kinds, models and the budget every
    tunable model gets (msgnn.learn.lomo)."""

    SECTION: ClassVar[tuple[str, ...]] = ("growth_task",)

    library: str
    splits: list
    models: list
    seeds: int
    trials: int
    inner_folds: int
    gnn_epochs: int


@dataclass(frozen=True)
class GrowthStudiesSettings(Settings):
    """config["growth_studies"]: the growth task's learning curve and tuning-efficiency study
    (msgnn.learn.growth_studies); the budget of each fit is growth_task's."""

    SECTION: ClassVar[tuple[str, ...]] = ("growth_studies",)

    learning_curve_models: list
    learning_curve_sizes: list
    learning_curve_seeds: int
    tuning_model: str
    tuning_trials: int
    tuning_seeds: int
    tuning_held_out: str


@dataclass(frozen=True)
class ForecastTaskSettings(Settings):
    """config["forecast_task"]: the macroscale forecast's synthetic data and budget (msgnn.learn.forecast)."""

    SECTION: ClassVar[tuple[str, ...]] = ("forecast_task",)

    library: str
    models: list
    seeds: int
    trials: int
    inner_folds: int
    gnn_epochs: int
    image_px: int
    grains_per_image: int
    early_fraction: list
    reactor_fit: bool


@dataclass(frozen=True)
class TuneSettings(Settings):
    """The keys of config["tune"] that change what a study computes or where it is stored."""

    SECTION: ClassVar[tuple[str, ...]] = ("tune",)

    n_trials: int
    epochs: int
    storage: str
    study_name: str
    inner_folds: int
    n_startup_trials: int
    outer_splits: list


@dataclass(frozen=True)
class TuneScheduling(Settings):
    """The keys of config["tune"] that only schedule trials: worker jobs, heartbeats, the journal
    lock (docs/tuning.md). Left out of the rules' params, so changing them reruns nothing."""

    SECTION: ClassVar[tuple[str, ...]] = ("tune",)

    workers: int
    heartbeat_interval_s: int
    grace_period_s: int
    max_retry: int
    journal_lock: str
