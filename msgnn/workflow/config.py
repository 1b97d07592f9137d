"""Load and validate the workflow configuration against the JSON schema, filling defaults."""
from __future__ import annotations

import copy
import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import yaml

from msgnn.errors import ConfigError

SCHEMA_FILE = "config.schema.yaml"


def schema() -> dict:
    text = resources.files("msgnn.schemas").joinpath(SCHEMA_FILE).read_text()
    return yaml.safe_load(text)


def _with_defaults(validator_class):
    """A validator that fills `default` values of missing properties before validating them."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft7Validator)


def fill_defaults(instance: dict, subschema: dict) -> dict:
    """`instance` (a section of a config) with the defaults of `subschema` filled in, unvalidated."""
    instance = copy.deepcopy(instance)
    for _ in _Validator(subschema).iter_errors(instance):
        pass
    return instance


def _non_finite(value, path=()):
    """(key path, value) of every NaN or infinite number in a nested config."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_finite(v, (*path, i))


def validate(config: dict, source: str = "config") -> dict:
    """Return a validated copy of `config` with defaults filled; raise ConfigError naming the key."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(config).__name__}")
    cfg = copy.deepcopy(config)
    bad = next(_non_finite(cfg), None)    # JSON Schema's number bounds let NaN and inf through
    if bad is not None:
        raise ConfigError(f"{source}: invalid value at '{'.'.join(map(str, bad[0]))}': {bad[1]} is not a finite number")
    errors = sorted(_Validator(schema()).iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        key = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: invalid value at '{key}': {e.message}{more}")
    for name, mat in cfg["materials"].items():
        temps = mat["temperatures_K"]
        if len(set(temps)) != len(temps):
            raise ConfigError(f"{source}: invalid value at 'materials.{name}.temperatures_K': duplicate temperatures")
        orientations(cfg, name, source)
        _check_material(name, mat, source)
    _check_real_data(cfg, source)
    tune = cfg["tune"]
    if tune["grace_period_s"] <= tune["heartbeat_interval_s"]:
        raise ConfigError(f"{source}: invalid value at 'tune.grace_period_s': {tune['grace_period_s']} must exceed "
                          f"tune.heartbeat_interval_s ({tune['heartbeat_interval_s']}), or live trials are failed")
    return cfg


def read_text(path: str | Path) -> str:
    """A config file's text; ConfigError naming it if it is missing or not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None


def load(path: str | Path) -> dict:
    path = Path(path)
    text = read_text(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return validate(raw, source=str(path))


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def conditions(config: dict) -> list[tuple[str, int]]:
    """Every (material, temperature_K) MD condition of the run, temperatures as integer kelvin:
    the material's temperatures_K and its MD-only md_temperatures_K, sorted."""
    return [(m, t) for m, mat in config["materials"].items()
            for t in sorted({int(round(x)) for x in [*mat["temperatures_K"], *mat.get("md_temperatures_K", [])]})]


def _check_material(name: str, mat: dict, source: str) -> None:
    """The element exists and the potential file exists, fits the pair style and defines the element."""
    from pymatgen.core import Element

    from msgnn.errors import InputFileError
    from msgnn.md.lammps_env import check_potential
    if not Element.is_valid_symbol(mat["element"]):
        raise ConfigError(f"{source}: invalid value at 'materials.{name}.element': {mat['element']!r} is not an element")
    try:
        check_potential(mat["potential"], mat["pair_style"], mat["element"])
    except InputFileError as exc:
        raise ConfigError(f"{source}: invalid value at 'materials.{name}.potential': {exc}") from None


def _check_real_data(cfg: dict, source: str) -> None:
    """Every real-data key names a growth condition ("<material>/<T>" with T below the material's
    reference Tm, as in `growth_conditions`) and every file it lists exists: a typo would otherwise
    leave that condition on synthetic data without a word."""
    growth = {f"{m}/{t}" for m, t in growth_conditions(cfg)}
    entries = [("microscopy.real_images", k, v) for k, v in cfg["microscopy"]["real_images"].items()]
    entries += [("microscopy.real_series", k, v["files"]) for k, v in cfg["microscopy"]["real_series"].items()]
    entries += [("reactor.real_logs", k, [v]) for k, v in cfg["reactor"]["real_logs"].items()]
    for section, key, files in entries:
        if key not in growth:
            raise ConfigError(f"{source}: invalid key at '{section}': {key!r} is not a growth condition "
                              f"(expected one of {sorted(growth)})")
        missing = [f for f in files if not Path(f).expanduser().is_file()]
        if missing:
            raise ConfigError(f"{source}: invalid value at '{section}.{key}': file(s) not found: {missing}")


def orientations(config: dict, material: str, source: str = "config") -> list[str]:
    """The interface normals of a material's slab runs, the primary one first: the material's own
    `orientations`, else md.orientation and md.extra_orientations. ConfigError if one does not
    belong to the material's lattice (cubic: 100, 110, 111; hcp: 0001, 10-10)."""
    from msgnn.md.structure import HCP_ORIENTATIONS, ORIENTATIONS
    mat, md = config["materials"][material], config["md"]
    chosen = mat.get("orientations") or list(dict.fromkeys([md["orientation"], *md["extra_orientations"]]))
    allowed = HCP_ORIENTATIONS if mat["lattice"] == "hcp" else tuple(ORIENTATIONS)
    wrong = [o for o in chosen if o not in allowed]
    if wrong:
        where = f"materials.{material}.orientations" if mat.get("orientations") else "md.orientation/extra_orientations"
        raise ConfigError(f"{source}: invalid value at '{where}': {wrong} is not an interface normal of a "
                          f"{mat['lattice']} crystal (expected some of {list(allowed)}"
                          + ("; give an hcp material its own 'orientations'" if mat["lattice"] == "hcp" else "") + ")")
    return chosen


def condition_seed(config: dict, *keys) -> int:
    """A seed derived from the run's seed and the given keys (e.g. wildcards); stable across runs."""
    h = hashlib.sha256(json.dumps([config["seed"], *map(str, keys)]).encode()).hexdigest()
    return int(h[:8], 16)


def growth_conditions(config: dict) -> list[tuple[str, int]]:
    """The temperatures_K below the material's reference melting point: these crystallize, so they
    get micrographs, reactor logs and dataset samples. Those above it and md_temperatures_K are MD-only."""
    return [(m, t) for m, mat in config["materials"].items()
            for t in sorted({int(round(x)) for x in mat["temperatures_K"]})
            if t < mat["reference_melting_point_K"]]


def stage_settings(config: dict) -> SimpleNamespace:
    """The typed settings of every rule, built from a validated config (rules/common.smk)."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.kinetics import ClassicalNucleation
    from msgnn.learn.settings import (ForecastTaskSettings, GrowthStudiesSettings, GrowthTaskSettings, TrainSettings,
                                      TuneScheduling, TuneSettings)
    from msgnn.md.settings import (BulkSettings, InterfaceSettings, KineticsSettings, Material, MeltingSettings,
                                   NucleationSettings, SlabSettings)
    from msgnn.microscopy.settings import AccuracySettings, ConditionSettings, MicrographSettings
    from msgnn.reactor.settings import LogGenerator, RecoveryStudy

    return SimpleNamespace(
        md_materials={name: Material.from_section(m, f"materials.{name}") for name, m in config["materials"].items()},
        md_slab=SlabSettings.from_section(config["md"]),
        md_kinetics=KineticsSettings.from_section(config["md"]),
        md_melting=MeltingSettings.from_dict(config["md"]["melting"]),
        md_bulk=BulkSettings.from_dict(config["md"]["bulk"]),
        md_interface=InterfaceSettings.from_dict(config["md"]["interface"]),
        md_nucleation=NucleationSettings.from_dict(config["md"]["nucleation"]),
        nucleation=ClassicalNucleation.from_dict(config["nucleation"]),
        graphs=GraphSettings.from_dict(config["graphs"]),
        microscopy_condition=ConditionSettings.from_section(config["microscopy"]),
        microscopy_accuracy=AccuracySettings.from_section(config["microscopy"]),
        hrtem=MicrographSettings.from_dict(config["microscopy"]["hrtem"]),
        reactor_log=LogGenerator.from_section(config["reactor"]),
        reactor_recovery=RecoveryStudy.from_section(config["reactor"]),
        train=TrainSettings.from_dict(config["train"]),
        growth_task=GrowthTaskSettings.from_dict(config["growth_task"]),
        growth_studies=GrowthStudiesSettings.from_dict(config["growth_studies"]),
        forecast_task=ForecastTaskSettings.from_dict(config["forecast_task"]),
        tune=TuneSettings.from_section(config["tune"]),
        tune_scheduling=TuneScheduling.from_section(config["tune"]),
    )
