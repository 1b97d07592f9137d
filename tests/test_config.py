import copy
from pathlib import Path

import pytest
import yaml

from msgnn.cli import main as cli
from msgnn.workflow.config import condition_seed, conditions, growth_conditions, load, validate
from msgnn.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def default():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_default_and_smoke_configs_are_valid():
    for path in (ROOT / "config.yaml", ROOT / "tests" / "smoke_config.yaml"):
        cfg = load(path)
        assert set(cfg["materials"]) >= {"Al", "Si"}


def test_defaults_are_filled_for_missing_sections():
    raw = {"materials": {"Al": default()["materials"]["Al"]}}
    cfg = validate(raw)
    assert cfg["train"]["folds"] >= 2 and cfg["md"]["orientation"] == "100"
    assert "train" not in raw, "validation must not modify the caller's dict"


@pytest.mark.parametrize("mutate, key", [
    (lambda c: c["materials"]["Al"].update(timestep_fs=-1), "materials.Al.timestep_fs"),
    (lambda c: c["materials"]["Cu"].pop("potential"), "materials.Cu"),
    (lambda c: c["train"].update(lr="fast"), "train.lr"),
    (lambda c: c.update(unknown_section={}), "(top level)"),
    (lambda c: c["materials"]["Si"].update(lattice="hcpx"), "materials.Si.lattice"),
    (lambda c: c["tune"].update(grace_period_s=30, heartbeat_interval_s=60), "tune.grace_period_s"),
    (lambda c: c["materials"]["Al"].update(temperatures_K=[800, 800]), "materials.Al.temperatures_K"),
])
def test_invalid_config_names_the_key(mutate, key):
    cfg = copy.deepcopy(default())
    mutate(cfg)
    with pytest.raises(ConfigError) as err:
        validate(cfg, source="my.yaml")
    assert f"'{key}'" in str(err.value) and str(err.value).startswith("my.yaml")


def test_growth_conditions_are_below_reference_melting_point():
    cfg = load(ROOT / "config.yaml")
    grow = growth_conditions(cfg)
    assert set(grow) < set(conditions(cfg))
    for m, t in grow:
        assert t < cfg["materials"][m]["reference_melting_point_K"]
    assert any(t > cfg["materials"][m]["reference_melting_point_K"] for m, t in conditions(cfg))


def test_condition_seed_is_stable_and_distinct():
    cfg = load(ROOT / "config.yaml")
    assert condition_seed(cfg, "Al", 900) == condition_seed(cfg, "Al", 900)
    assert condition_seed(cfg, "Al", 900) != condition_seed(cfg, "Al", 870)


def test_cli_reports_bad_config(tmp_path, capsys):
    bad = default()
    bad["md"]["cells"] = [5, 5]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    assert cli(["validate", str(path)]) == 2
    assert "md.cells" in capsys.readouterr().err
    assert cli(["validate", str(ROOT / "config.yaml")]) == 0


@pytest.mark.parametrize("mutate, key, says", [
    (lambda m: m.update(element="Xx"), "materials.Al.element", "not an element"),
    (lambda m: m.update(potential="Al_nowhere.eam.fs"), "materials.Al.potential", "not found"),
    (lambda m: m.update(pair_style="eam/alloy"), "materials.Al.potential", "read by pair_style eam/fs"),
    (lambda m: m.update(potential="CuTa.eam.alloy", pair_style="eam/alloy", element="Al"), "materials.Al.potential",
     "defines no Al (it has ['Cu', 'Ta'])"),
    (lambda m: m.update(potential="Si.sw", pair_style="sw"), "materials.Al.potential", "defines no Al"),
])
def test_potential_problems_are_found_before_any_run(mutate, key, says):
    cfg = copy.deepcopy(default())
    mutate(cfg["materials"]["Al"])
    with pytest.raises(ConfigError) as err:
        validate(cfg, source="my.yaml")
    assert f"'{key}'" in str(err.value) and says in str(err.value)


def test_an_element_from_a_multi_element_potential_file_is_valid():
    cfg = copy.deepcopy(default())
    cfg["materials"]["Al"].update(element="Ta", potential="CuTa.eam.alloy", pair_style="eam/alloy", lattice="bcc")
    validate(cfg)


@pytest.mark.parametrize("section, value, says", [
    ("microscopy.real_images", {"Al/8600": ["{tif}"]}, "'Al/8600' is not a growth condition"),
    ("microscopy.real_images", {"Al/940": ["{tif}"]}, "'Al/940' is not a growth condition"),   # MD-only T
    ("microscopy.real_images", {"Al/830": ["{tif}", "missing.tif"]}, "not found: ['missing.tif']"),
    ("reactor.real_logs", {"Cu/1200": "nowhere.csv"}, "not found: ['nowhere.csv']"),
    ("reactor.real_logs", {"Zn/700": "{tif}"}, "not a growth condition"),
])
def test_real_data_keys_and_files_are_checked(tmp_path, section, value, says):
    tif = tmp_path / "real.tif"
    tif.write_bytes(b"II*\x00")
    cfg = copy.deepcopy(default())
    sec, key = section.split(".")
    cfg.setdefault(sec, {})[key] = yaml.safe_load(yaml.safe_dump(value).replace("'{tif}'", str(tif)))
    with pytest.raises(ConfigError) as err:
        validate(cfg, source="my.yaml")
    assert f"'{section}" in str(err.value) and says in str(err.value)


def test_non_utf8_config_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("materials: {}\n# température\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.yaml: not a UTF-8 text file"):
        load(path)
