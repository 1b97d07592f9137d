"""Typed settings: every config key has exactly one home in a settings class, defaults come only
from the schema, and a settings object survives the trip through a rule's params unchanged."""
import dataclasses

import pytest

from msgnn.errors import ConfigError
from msgnn.settings import Settings, schema_defaults
from msgnn.workflow.config import load, schema, stage_settings
from conftest import SMOKE_CONFIG

# config keys that are not settings of a rule's computation: inputs named per condition (real
# files), the keys that select which MD runs exist (rules/common.smk reads them), and the
# materials left out of the library (rules/library.smk)
NOT_SETTINGS = {("microscopy", "real_images"), ("microscopy", "real_series"), ("reactor", "real_logs"),
                ("md", "replicas"), ("md", "extra_orientations"), ("materials", "temperatures_K"),
                ("materials", "md_temperatures_K"), ("materials", "nucleation_temperatures_K"),
                ("materials", "orientations"), ("library_exclude",), ("library_out",)}


def _schema_keys(sub: dict, path=()) -> set[tuple]:
    """Leaf keys of the schema's sections (objects with their own properties are descended into)."""
    keys = set()
    for name, prop in sub.get("properties", {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            keys |= _schema_keys(prop, (*path, name))
        else:
            keys.add((*path, name))
    return keys


def _settings_keys(obj: Settings, path: tuple) -> set[tuple]:
    keys = set()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        keys |= _settings_keys(value, (*path, f.name)) if isinstance(value, Settings) else {(*path, f.name)}
    return keys


@pytest.fixture(scope="module")
def settings():
    return stage_settings(load(SMOKE_CONFIG))


def test_every_schema_key_has_a_settings_home(settings):
    covered = set()
    for obj in vars(settings).values():
        for o in obj.values() if isinstance(obj, dict) else [obj]:
            covered |= _settings_keys(o, type(o).SECTION)
    material = schema()["properties"]["materials"]["additionalProperties"]     # one entry, msgnn.md.settings.Material
    sections = ({k for k in _schema_keys(schema()) if k[0] not in ("seed", "materials")}
                | {("materials", *k) for k in _schema_keys(material)})
    missing = sorted(sections - covered - NOT_SETTINGS)
    assert not missing, f"config keys no settings class reads: {missing}"
    unknown = sorted(k for k in covered - sections if k[-1] != "threads")   # threads: the job's, not config
    assert not unknown, f"settings fields the schema does not define: {unknown}"


def test_settings_round_trip_through_rule_params(settings):
    for obj in vars(settings).values():
        for o in obj.values() if isinstance(obj, dict) else [obj]:
            assert type(o).from_dict(o.to_dict()) == o


def test_defaults_come_from_the_schema():
    from msgnn.reactor.settings import LogGenerator

    gen = LogGenerator.defaults(noise=0.1, faults={"gap_fraction": 0.0})
    reactor = schema_defaults("reactor")
    assert gen.residence_time_s == reactor["residence_time_s"] and gen.noise == 0.1
    assert gen.faults.gap_fraction == 0.0 and gen.faults.spike_fraction == reactor["faults"]["spike_fraction"]


def test_unknown_and_missing_keys_are_refused():
    from msgnn.reactor.settings import Faults

    good = schema_defaults("reactor", "faults")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['spikes'\]"):
        Faults.from_dict({**good, "spikes": 0.1})
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['gap_fraction'\]"):
        Faults.from_dict({k: v for k, v in good.items() if k != "gap_fraction"})
