"""Property tests: random mutations of a valid config (its values, its keys, its text) give either a
valid config or a ConfigError naming the file, never another exception type; random corruptions of
a valid micrograph give a segmentation or an InputFileError naming the file."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgnn.errors import ConfigError, InputFileError
from msgnn.microscopy.io import read_segmentable
from msgnn.microscopy.segment import SegmentParams, segment_grains
from msgnn.workflow.config import load, validate

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "tests" / "smoke_config.yaml").read_text())
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                   st.text(max_size=12), st.lists(st.integers(-5, 50), max_size=4),
                   st.dictionaries(st.text(max_size=6), st.integers(), max_size=2))


def _paths(d, prefix=()):
    """Every key path of a nested dict."""
    for k, v in d.items():
        yield (*prefix, k)
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))


PATHS = list(_paths(BASE))


def _set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


def _delete(d, path):
    for k in path[:-1]:
        d = d[k]
    d.pop(path[-1], None)


@PROFILE
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "delete"]), VALUES), min_size=1, max_size=3))
def test_mutated_config_is_valid_or_a_config_error_naming_it(mutations):
    cfg = copy.deepcopy(BASE)
    for path, action, value in mutations:
        try:
            (_set(cfg, path, value) if action == "set" else _delete(cfg, path))
        except (KeyError, TypeError, AttributeError, IndexError):   # an earlier mutation replaced the parent
            pass
    try:
        validate(cfg, source="mutated.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("mutated.yaml")


@PROFILE
@given(st.data())
def test_corrupted_config_text_is_valid_or_a_config_error_naming_it(tmp_path, data):
    raw = (ROOT / "tests" / "smoke_config.yaml").read_bytes()
    pos = data.draw(st.integers(0, len(raw) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=8))
    mode = data.draw(st.sampled_from(["replace", "insert", "truncate"]))
    text = {"replace": raw[:pos] + junk + raw[pos + len(junk):], "insert": raw[:pos] + junk + raw[pos:],
            "truncate": raw[:pos]}[mode]
    path = tmp_path / "corrupt.yaml"
    path.write_bytes(text)
    try:
        load(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


def _grain_image(n=96, seed=0) -> np.ndarray:
    """A small polycrystal: Voronoi grains with dark boundaries."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, n, (12, 2))
    yy, xx = np.mgrid[:n, :n]
    d = np.sort(((yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2), axis=-1)
    return (np.sqrt(d[..., 1]) - np.sqrt(d[..., 0]) > 1.5).astype(np.float32) + rng.normal(0, 0.05, (n, n))


@PROFILE
@given(st.data())
def test_corrupted_micrograph_segments_or_is_an_input_error_naming_it(tmp_path, data):
    path = tmp_path / "micrograph.tif"
    tifffile.imwrite(path, _grain_image())
    raw = path.read_bytes()
    kind = data.draw(st.sampled_from(["bytes", "truncate", "pixels"]))
    if kind == "bytes":
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:pos] + data.draw(st.binary(min_size=1, max_size=16)) + raw[pos + 16:]
        path.write_bytes(raw)
    elif kind == "truncate":
        path.write_bytes(raw[:data.draw(st.integers(0, len(raw) - 1))])
    else:
        img = _grain_image()
        idx = data.draw(st.lists(st.integers(0, img.size - 1), min_size=1, max_size=20))
        img.flat[idx] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e30]))
        tifffile.imwrite(path, img)
    try:
        m = read_segmentable(path, pixel_size_m=1e-8)
    except InputFileError as exc:
        assert str(path) in str(exc)
        return
    labels, _ = segment_grains(m.data, SegmentParams())
    assert labels.shape == m.data.shape


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_in_a_config_are_named(value):
    cfg = copy.deepcopy(BASE)
    cfg["materials"]["Al"]["lattice_constant_A"] = value
    with pytest.raises(ConfigError, match="materials.Al.lattice_constant_A"):
        validate(cfg, source="x.yaml")
