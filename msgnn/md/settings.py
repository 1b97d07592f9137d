"""Typed settings of the MD stage, built once from the validated config (defaults: the schema).

- `Material`: a material's keys that its runs depend on; the temperature lists, which only
  select runs, are left out (`Material.from_section(config["materials"][name])`).
- `SlabSettings`: the `md` keys a slab run depends on; `for_material` applies the material's
  overrides (cells, melt_steps, equilibrate_steps, growth_steps, sample_every, thermostat).
- `KineticsSettings`: the `md` key of the per-material v(T) analysis.
- `MeltingSettings` (`md.melting`) and `NucleationSettings` (`md.nucleation`), each with
  `for_material` applying its per-material step override.

`md.replicas`, `md.extra_orientations` and the materials' temperature lists are not settings of
a computation: they select which runs exist (rules/common.smk reads them).
"""
from __future__ import annotations

from dataclasses import dataclass

from msgnn.settings import Settings

SLAB_OVERRIDES = ("cells", "melt_steps", "equilibrate_steps", "growth_steps", "sample_every", "thermostat")


@dataclass(frozen=True)
class Material(Settings):
    """One entry of config `materials`, without its temperature lists. The last six fields are
    optional per-material overrides of the slab settings (None: the `md` value)."""
    SECTION = ("materials",)
    element: str
    potential: str
    pair_style: str
    lattice: str
    lattice_constant_A: float
    reference_melting_point_K: float
    timestep_fs: float
    mass_amu: float | None = None
    cells: list | None = None
    melt_steps: int | None = None
    equilibrate_steps: int | None = None
    growth_steps: int | None = None
    sample_every: int | None = None
    thermostat: str | None = None


@dataclass(frozen=True)
class SlabSettings(Settings):
    """The `md` keys one crystal-liquid slab run depends on (run.json records them as `md_settings`)."""
    SECTION = ("md",)
    orientation: str
    cells: list
    melt_temperature_factor: float
    melt_steps: int
    equilibrate_steps: int
    growth_steps: int
    sample_every: int
    snapshots: int
    expansion_steps: int
    thermostat_damp_ps: float
    thermostat: str
    thermostat_zone_A: float
    barostat_damp_ps: float
    transient_ps: float
    interface_probe_A: float
    min_phase_thickness_A: float
    checkpoint_every_ps: float

    def for_material(self, material: Material) -> SlabSettings:
        """These settings with the material's overrides applied: the one place they are resolved."""
        return self.replace(**{k: getattr(material, k) for k in SLAB_OVERRIDES if getattr(material, k) is not None})

    def melt_temperature_K(self, material: Material) -> float:
        return self.melt_temperature_factor * float(material.reference_melting_point_K)


@dataclass(frozen=True)
class KineticsSettings(Settings):
    """The per-material analysis of the slab runs (rule md_kinetics)."""
    SECTION = ("md",)
    kinetic_fit_max_undercooling_fraction: float


@dataclass(frozen=True)
class MeltingSettings(Settings):
    """`md.melting`: melting point by NPH two-phase coexistence."""
    SECTION = ("md", "melting")
    replicas: int
    steps: int
    material_steps: dict
    thermalize_ps: float
    start_spread_K: float
    sample_every: int
    discard_fraction: float
    blocks: int
    min_solid_fraction: float

    def for_material(self, name: str) -> MeltingSettings:
        return self.replace(steps=int(self.material_steps.get(name, self.steps)))


@dataclass(frozen=True)
class NucleationSettings(Settings):
    """`md.nucleation`: homogeneous nucleation from melt-quench-hold replicas."""
    SECTION = ("md", "nucleation")
    replicas: int
    target_atoms: int
    melt_temperature_factor: float
    melt_steps: int
    quench_steps: int
    max_steps: int
    material_max_steps: dict
    sample_every: int
    n_nucleus: int
    stop_fraction: float
    thermostat_damp_ps: float
    barostat_damp_ps: float
    min_replicas_for_mfpt: int
    bootstrap: int

    def for_material(self, name: str) -> NucleationSettings:
        return self.replace(max_steps=int(self.material_max_steps.get(name, self.max_steps)))


@dataclass(frozen=True)
class BulkSettings(Settings):
    """`md.bulk`: the short bulk runs at Tm giving a material's cheap descriptors (rule md_descriptors)."""
    SECTION = ("md", "bulk")
    target_atoms: int
    equilibrate_steps: int
    average_steps: int
    melt_steps: int
    msd_steps: int
    sample_every: int
    rdf_bins: int
    max_liquid_solid_fraction: float


@dataclass(frozen=True)
class InterfaceSettings(Settings):
    """`md.interface`: the stationary-interface runs at Tm (rule md_interface), otherwise slab runs."""
    SECTION = ("md", "interface")
    snapshots: int
