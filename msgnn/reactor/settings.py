"""Settings of the reactor stage (config `reactor`), built once from the validated config."""
from __future__ import annotations

from dataclasses import dataclass

from msgnn.settings import Settings


@dataclass(frozen=True)
class Faults(Settings):
    """Logger faults injected into synthetic logs: fractions of rows or timestamps (0 = off)."""
    SECTION = ("reactor", "faults")
    spike_fraction: float              # CSD rows multiplied or divided by 3..30
    dropout_fraction: float            # CSD cells (and temperature readings) -> NaN
    temperature_spike_fraction: float  # timestamps with a +-5..30 K spike
    duplicate_fraction: float          # timestamp blocks logged twice
    out_of_order_fraction: float       # blocks swapped with the next one
    gap_fraction: float                # one logger outage of this fraction of the run
    unit_switch_fraction: float        # one stretch where temperature is logged in degC
    drift_K_per_h: float               # slow drift of the temperature sensor


@dataclass(frozen=True)
class LogGenerator(Settings):
    """The synthetic MSMPR crystallizer and its instrument: what a reactor_log job depends on."""
    SECTION = ("reactor",)
    residence_time_s: float
    duration_s: float
    sample_interval_s: float
    growth_scale: float                # reactor G = MD interface velocity x growth_scale
    noise: float                       # multiplicative log-normal noise on every channel
    size_bins: int
    max_size_factor: float             # largest bin centre / (G tau)
    startup_time_fraction: float       # start-up cooling time constant / tau
    reactor_volume_m3: float
    temperature_noise_K: float
    faults: Faults


@dataclass(frozen=True)
class RecoveryStudy(Settings):
    """How well cleaning + fit recover the generator's G and B0 (rule reactor_recovery)."""
    SECTION = ("reactor",)
    recovery_noise_levels: list
    recovery_max_conditions: int
