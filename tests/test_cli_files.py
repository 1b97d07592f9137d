"""The one-file commands: `msgnn reactor-fit LOG` and `msgnn segment IMAGE` run the workflow's own
analyses on one file; bad files give one line naming the file, no traceback; `msgnn --version`."""
import json
import math
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from msgnn.reactor.pipeline import analyse

ROOT = Path(__file__).resolve().parents[1]
MSGNN = [shutil.which("msgnn")] if shutil.which("msgnn") else [sys.executable, "-m", "msgnn.cli"]
REACTOR_EXAMPLE = ROOT / "docs" / "reactor_example.csv"
MICROGRAPH_EXAMPLE = ROOT / "docs" / "micrograph_example.tif"


def msgnn(*args, cwd=None):
    return subprocess.run([*MSGNN, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_reactor_fit_gives_the_workflows_g_and_b0_with_intervals_and_the_plot(tmp_path):
    out = tmp_path / "fit"
    res = msgnn("reactor-fit", REACTOR_EXAMPLE, "--out", out)
    assert res.returncode == 0, res.stderr
    kin = json.loads((out / "kinetics.json").read_text())
    _, _, _, fit, _ = analyse(REACTOR_EXAMPLE)            # what rule reactor_kinetics computes on this file
    for key in ("growth_rate_m_per_s", "nucleation_rate_per_m3_s"):
        assert kin[key] == pytest.approx(fit[key], rel=1e-12)
    for key in ("growth_rate_ci95", "nucleation_rate_ci95"):
        assert kin[key] == pytest.approx(fit[key], rel=1e-12)
        lo, hi = kin[key]
        assert lo < kin[key.replace("_ci95", "_m_per_s" if "growth" in key else "_per_m3_s")] < hi
    for name in ("fit.png", "cleaning.png", "clean.csv", "cleaning_report.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "schema ok, 400 rows" in res.stdout
    assert f"G  = {kin['growth_rate_m_per_s']:.4g} m/s" in res.stdout and "95% CI" in res.stdout
    assert f"B0 = {kin['nucleation_rate_per_m3_s']:.4g}" in res.stdout
    assert "excluded:transient_before_steady_state" in res.stdout      # the cleaning report, by action
    assert kin["material"] == "reactor_example" and 850 < kin["temperature_K"] < 900


def test_segment_measures_density_and_lambda_and_draws_the_overlay(tmp_path):
    out = tmp_path / "seg"
    res = msgnn("segment", MICROGRAPH_EXAMPLE, "--out", out)
    assert res.returncode == 0, res.stderr
    rec = json.loads((out / "measurements.json").read_text())
    assert math.isfinite(rec["nucleation_density_per_m2"]) and rec["nucleation_density_per_m2"] > 0
    assert math.isfinite(rec["mean_grain_size_m"]) and 1e-8 < rec["mean_grain_size_m"] < 1e-6   # 5 nm pixels
    assert rec["pixel_size_m"] == pytest.approx(5e-9)        # the file's own calibration
    assert rec["n_facets"] > 10 and rec["n_facet_edges"] > rec["n_facets"]
    assert (out / "segmentation.png").stat().st_size > 10_000
    assert (out / "facets.pt").is_file() and (out / "micrograph_example_segmentation.tif").is_file()
    assert "nucleation density N" in res.stdout and "lambda" in res.stdout


@pytest.mark.parametrize("command, name, content", [
    ("reactor-fit", "log.csv", b"a,b\n1,2\n"),
    ("reactor-fit", "log.parquet", b"not parquet\x00"),
    ("segment", "image.tif", b"II*\x00garbage"),
    ("segment", "image.png", b"\x89PNG\r\n\x1a\nbroken"),
    ("segment", "missing.tif", None),
])
def test_a_bad_file_gives_one_line_naming_it(tmp_path, command, name, content):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    res = msgnn(command, name, "--out", "out", cwd=tmp_path)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr and res.stderr.startswith(f"error: {name}"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_version_and_help_with_defaults():
    res = msgnn("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"msgnn {version('msgnn')}"
    for command, expected in (("reactor-fit", "(default: reactor_fit)"), ("segment", "(default: segmentation)")):
        text = " ".join(msgnn(command, "--help").stdout.split())
        assert expected in text
        assert "(default: None)" not in text
