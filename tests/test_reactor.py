"""Reactor stage: MSMPR generator, CSV schema and units, cleaning, steady state, kinetics fit."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msgnn.errors import InputFileError
from msgnn.kinetics import ClassicalNucleation, log10_nucleation_rate
from msgnn.reactor import units
from msgnn.reactor.generate import generate_log, msmpr_truth, population_density
from msgnn.reactor.pipeline import (analyse, analyse_condition, copy_real_log, generate_condition,
                                    write_raw_csv)
from msgnn.reactor.schema import read_table
from msgnn.reactor.settings import LogGenerator, RecoveryStudy
from synthetic import NO_FAULTS

DOCS = Path(__file__).resolve().parents[1] / "docs"

NUCLEATION = ClassicalNucleation.defaults()
REACTOR = LogGenerator.defaults()          # tau 1800 s, 12 h at 120 s, G = 1e-9 x MD velocity, noise 0.03


def fake_run(path, velocity=12.0, latent=0.11, volume=1.66e-29):
    path.write_text(json.dumps({"material": "Al", "temperature_K": 870,
                                "velocity_m_per_s": velocity, "latent_heat_eV_per_atom": latent,
                                "atomic_volume_m3": volume}))
    return path


def truth_for(velocity=12.0, T=870.0, Tm=926.0, tau=1800.0):
    run = {"velocity_m_per_s": velocity, "latent_heat_eV_per_atom": 0.11,
           "atomic_volume_m3": 1.66e-29}
    return msmpr_truth(run, temperature_K=T, melting_point_K=Tm, generator=REACTOR.replace(residence_time_s=tau),
                       nucleation=NUCLEATION)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- physics of the generator

def test_truth_follows_md_velocity_and_classical_nucleation():
    tr = truth_for(velocity=12.0)
    assert tr["growth_rate_m_per_s"] == pytest.approx(12.0e-9)
    log10_J = log10_nucleation_rate(870, 926, 0.11, 1.66e-29, NUCLEATION)
    assert tr["nucleation_rate_per_m3_s"] == pytest.approx(10 ** log10_J, rel=1e-12)
    assert tr["n0_per_m4"] * tr["growth_rate_m_per_s"] == pytest.approx(tr["nucleation_rate_per_m3_s"])
    # deeper undercooling nucleates faster
    assert truth_for(T=850)["nucleation_rate_per_m3_s"] > tr["nucleation_rate_per_m3_s"]
    # the dominant size 3 G tau is the mode of the mass distribution L^3 n(L)
    L = np.linspace(1e-7, 10 * tr["growth_rate_m_per_s"] * 1800, 200001)
    mass = L ** 3 * np.exp(-L / (tr["growth_rate_m_per_s"] * 1800))
    assert L[np.argmax(mass)] == pytest.approx(tr["dominant_size_m"], rel=1e-3)


def test_startup_solution_satisfies_population_balance():
    G, tau, n0, tau_c = 1e-8, 1800.0, 1e30, 900.0
    L = np.linspace(2e-6, 60e-6, 50)[None, :]
    t = np.linspace(8000, 30000, 60)[:, None]
    n = lambda L_, t_: population_density(L_, t_, G=G, tau=tau, n0=n0, tau_c=tau_c)
    dL, dt = 1e-9, 0.1
    dn_dt = (n(L, t + dt) - n(L, t - dt)) / (2 * dt)
    dn_dL = (n(L + dL, t) - n(L - dL, t)) / (2 * dL)
    residual = dn_dt + G * dn_dL + n(L, t) / tau
    assert np.max(np.abs(residual) / (n(L, t) / tau)) < 1e-4  # MSMPR balance holds
    # boundary: n(0, t) = B0(t)/G with B0 ramping as 1 - exp(-t/tau_c); nothing beyond G t
    assert n(np.array(0.0), np.array(3 * tau_c)) == pytest.approx(n0 * (1 - math.exp(-3)))
    assert n(np.array(2 * G * 1000), np.array(1000.0)) == 0.0
    # long after start-up: the steady state n0 exp(-L/(G tau))
    assert np.allclose(n(L, np.array(40 * tau)), n0 * np.exp(-L / (G * tau)), rtol=1e-6)


# ---------------------------------------------------------------- units and schema

@pytest.mark.parametrize("name,value,expected_col,expected", [
    ("temperature_C", 600.0, "temperature_K", 873.15),
    ("temperature_K", 873.0, "temperature_K", 873.0),
    ("size_um", 12.5, "size_m", 12.5e-6),
    ("size_mm", 0.5, "size_m", 5e-4),
    ("timestamp_min", 2.0, "timestamp_s", 120.0),
    ("residence_time_h", 0.5, "residence_time_s", 1800.0),
    ("flow_L_per_min", 6.0, "flow_m3_per_s", 1e-4),
    ("population_density_per_um_per_mL", 1.0, "population_density_per_m4", 1e12),
    ("population_density_per_m4", 3.0, "population_density_per_m4", 3.0),
])
def test_column_units_convert_to_si(name, value, expected_col, expected):
    cu = units.parse_column(name)
    assert cu.canonical == expected_col
    assert units.to_canonical(np.array([value]), cu)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["temperature_m", "size_s", "flow_m_per_s", "timestamp_furlongs"])
def test_column_with_wrong_unit_is_refused(name):
    with pytest.raises(units.UnitParseError):
        units.parse_column(name)


@pytest.fixture(scope="module")
def default_log(tmp_path_factory):
    """A default-scale synthetic log with every fault on, its generator info and paths."""
    d = tmp_path_factory.mktemp("reactor")
    run = fake_run(d / "run.json")
    info = generate_condition(run, d / "raw.csv", d / "log_info.json", material="Al",
                              temperature_K=870, melting_point_K=926, generator=REACTOR,
                              nucleation=NUCLEATION, seed=11)
    return d, info


def _edit_csv(src, dst, fn):
    df = pd.read_csv(src, dtype=str)
    fn(df)
    df.to_csv(dst, index=False)
    return dst


def test_missing_column_names_the_column(default_log, tmp_path):
    d, _ = default_log
    def corrupt(df):
        del df["residence_time_s"]
    bad = _edit_csv(d / "raw.csv", tmp_path / "bad.csv", corrupt)
    with pytest.raises(InputFileError) as e:
        analyse(bad)
    assert "residence_time" in str(e.value) and str(bad) in str(e.value)


def test_text_in_numeric_column_names_column_and_line(default_log, tmp_path):
    d, _ = default_log
    def corrupt(df):
        df.loc[41, "size_um"] = "twelve"
    bad = _edit_csv(d / "raw.csv", tmp_path / "bad.csv", corrupt)
    with pytest.raises(InputFileError) as e:
        analyse(bad)
    msg = str(e.value)
    assert "size_um" in msg and "43" in msg and "twelve" in msg  # data row 41 = file line 43


def test_negative_size_names_column_and_lines(default_log, tmp_path):
    d, _ = default_log
    def corrupt(df):
        df.loc[[5, 7], "size_um"] = "-3.0"
    bad = _edit_csv(d / "raw.csv", tmp_path / "bad.csv", corrupt)
    with pytest.raises(InputFileError) as e:
        analyse(bad)
    assert "size_um" in str(e.value) and "7, 9" in str(e.value)


@pytest.mark.parametrize("content", ["", "timestamp_s,temperature_K,residence_time_s,size_um,"
                                         "population_density_per_m4\n"])
def test_empty_file_is_refused(tmp_path, content):
    p = tmp_path / "empty.csv"
    p.write_text(content)
    with pytest.raises(InputFileError, match="empty|no data rows"):
        analyse(p)


def test_misspelled_column_is_named_with_the_columns_found(default_log, tmp_path):
    d, _ = default_log
    def misspell(df):
        df.columns = ["temprature_K" if c == "temperature_K" else c for c in df.columns]
    bad = _edit_csv(d / "raw.csv", tmp_path / "bad.csv", misspell)
    with pytest.raises(InputFileError) as e:
        analyse(bad)
    msg = str(e.value)
    assert str(bad) in msg and "missing required column(s) 'temperature'" in msg
    assert "temprature_K" in msg  # what the file has, so the typo is visible


def test_line_numbers_count_comment_and_blank_lines(tmp_path):
    lines = (DOCS / "reactor_example.csv").read_text().splitlines()
    row = lines[5].split(",")
    row[5] = "abc"  # size_um of data row 4
    text = "\n".join(["# logger v2", lines[0], "", "# shift change", *lines[1:5], ",".join(row),
                      *lines[6:]]) + "\n"
    p = tmp_path / "commented.csv"
    p.write_text(text)
    with pytest.raises(InputFileError) as e:
        read_table(p)
    assert "size_um" in str(e.value) and "line(s) 9 " in str(e.value)  # 9th line of the file
    assert text.splitlines()[8].split(",")[5] == "abc"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x81garbage\x00" * 50, b"a,b\n1,2,3,4\n5\n"])
def test_unreadable_csv_is_refused(tmp_path, content):
    p = tmp_path / "unreadable.csv"
    p.write_bytes(content)
    with pytest.raises(InputFileError) as e:
        analyse(p)
    assert str(p) in str(e.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        analyse(tmp_path / "nowhere.parquet")


# ---------------------------------------------------------------- Parquet input

def test_parquet_example_reads_to_the_same_table_as_the_csv():
    a, meta_a = read_table(DOCS / "reactor_example.csv")
    b, meta_b = read_table(DOCS / "reactor_example.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert meta_b["conversions"] == meta_a["conversions"] and meta_b["conversions"]
    assert meta_b["synthetic"] is True and meta_b["format"] == "parquet"


def test_faulty_parquet_log_gives_the_csv_kinetics_and_converts_for_the_workflow(default_log,
                                                                                 tmp_path):
    d, _ = default_log
    raw = pd.read_csv(d / "raw.csv")
    pq = tmp_path / "log.parquet"
    raw.to_parquet(pq, index=False)
    before = sha(pq)
    clean_c, rep_c, _, fit_c, _ = analyse(d / "raw.csv")
    clean_p, rep_p, _, fit_p, _ = analyse(pq)
    pd.testing.assert_frame_equal(clean_c, clean_p, check_exact=True)
    assert fit_p == fit_c
    rows = rep_c["raw_row"] >= 0
    assert (rep_p["line"] == -1).all() and (rep_c["line"][rows] == rep_c["raw_row"][rows] + 2).all()
    pd.testing.assert_frame_equal(rep_c.drop(columns="line"), rep_p.drop(columns="line"))
    # the workflow's raw.csv for a real Parquet log: same values, source untouched and hashed
    copy_real_log(pq, tmp_path / "raw.csv", tmp_path / "info.json", material="Al",
                  temperature_K=870)
    assert sha(pq) == before
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["source_format"] == "parquet" and info["source_sha256"] == before
    assert analyse(tmp_path / "raw.csv")[3] == fit_c


def test_corrupt_parquet_is_refused_naming_the_file(tmp_path):
    good = (DOCS / "reactor_example.parquet").read_bytes()
    for name, data in [("truncated.parquet", good[: len(good) // 2]),
                       ("garbage.parquet", b"PAR1" + bytes(range(256)) * 4 + b"PAR1"),
                       ("csv_named.parquet", (DOCS / "reactor_example.csv").read_bytes())]:
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(InputFileError, match="not a readable Parquet file") as e:
            analyse(p)
        assert str(p) in str(e.value)


def test_parquet_text_and_dates_in_numeric_columns_name_column_and_rows(tmp_path):
    df = pd.read_parquet(DOCS / "reactor_example.parquet")
    text = df.astype({"size_um": str})  # a logger that writes the sizes as text
    text.loc[[3, 17], "size_um"] = "n/a"
    text.to_parquet(tmp_path / "text.parquet", index=False)
    with pytest.raises(InputFileError) as e:
        read_table(tmp_path / "text.parquet")
    assert "size_um" in str(e.value) and "row(s) 3, 17" in str(e.value)
    dates = df.assign(timestamp_s=pd.Timestamp("2024-05-01") + pd.to_timedelta(df.timestamp_s, "s"))
    dates.to_parquet(tmp_path / "dates.parquet", index=False)
    with pytest.raises(InputFileError, match="column 'timestamp_s' holds datetime"):
        read_table(tmp_path / "dates.parquet")
    neg = df.copy()
    neg.loc[[2], "population_density_per_um_per_mL"] = -1.0
    neg.to_parquet(tmp_path / "neg.parquet", index=False)
    with pytest.raises(InputFileError, match="population_density_per_um_per_mL.* row\\(s\\) 2 "):
        read_table(tmp_path / "neg.parquet")


def test_log_without_steady_state_is_refused(tmp_path):
    short = REACTOR.replace(duration_s=2.5 * 1800, sample_interval_s=60, faults=NO_FAULTS)
    tab, _ = generate_log(truth_for(), short, seed=3)
    p = tmp_path / "short.csv"
    write_raw_csv(tab, p)
    with pytest.raises(InputFileError, match="no steady state") as e:
        analyse(p)
    assert str(p) in str(e.value) and "timestamps" in str(e.value)


# ---------------------------------------------------------------- cleaning and the fit

def test_recovers_growth_and_nucleation_rate_from_faulty_log(default_log, tmp_path):
    d, info = default_log
    before = sha(d / "raw.csv")
    kin = analyse_condition(d / "raw.csv", info_json=d / "log_info.json",
                            out_clean=tmp_path / "clean.csv", out_report=tmp_path / "report.csv",
                            out_kinetics=tmp_path / "kinetics.json", out_plot=tmp_path / "fit.png",
                            material="Al", temperature_K=870)
    assert sha(d / "raw.csv") == before  # the raw file is never touched
    G, B0 = info["truth"]["growth_rate_m_per_s"], info["truth"]["nucleation_rate_per_m3_s"]
    assert kin["growth_rate_m_per_s"] == pytest.approx(G, rel=0.01)
    assert kin["nucleation_rate_per_m3_s"] == pytest.approx(B0, rel=0.02)
    assert kin["growth_rate_ci95"][0] < G < kin["growth_rate_ci95"][1]
    assert kin["nucleation_rate_ci95"][0] < B0 < kin["nucleation_rate_ci95"][1]
    assert kin["dominant_size_m"] == pytest.approx(3 * G * 1800, rel=0.01)
    assert kin["synthetic"] is True
    # steady state starts after the start-up transient (a few tau), not at t = 0
    assert 2 * 1800 < kin["steady_state"]["steady_state_start_s"] < 8 * 1800
    # the temperature sensor drift (0.2 K/h) is found and reported
    assert kin["temperature_drift_K_per_h"] == pytest.approx(0.2, abs=0.05)
    saved = json.loads((tmp_path / "kinetics.json").read_text())
    for key in ("growth_rate_m_per_s", "growth_rate_ci95", "nucleation_rate_per_m3_s",
                "nucleation_rate_ci95", "residence_time_s", "dominant_size_m", "synthetic",
                "n_rows_raw", "n_rows_clean"):
        assert key in saved
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    assert (tmp_path / "cleaning.png").stat().st_size > 10_000  # raw vs cleaned channels


def test_cleaning_removes_injected_faults_and_records_them(default_log, tmp_path):
    d, info = default_log
    clean, report, summary, fit, meta = analyse(d / "raw.csv")
    raw = pd.read_csv(d / "raw.csv")
    fr = info["fault_rows"]
    by_reason = lambda r: set(report.loc[report["reason"] == r, "raw_row"])
    # every injected duplicate block is dropped and recorded; keys are unique and sorted
    assert set(fr["duplicate"]) <= by_reason("duplicate_row")
    assert not clean.duplicated(["timestamp_s", "size_m"]).any()
    assert clean["timestamp_s"].is_monotonic_increasing
    assert set(fr["out_of_order"]) <= by_reason("out_of_order_timestamp")
    # spikes: nearly all caught, few false alarms, none left in the fit
    spikes = set(fr["spike"]) - set(fr["duplicate"])
    caught = spikes & by_reason("hampel_outlier_ln_n")
    assert len(caught) >= 0.95 * len(spikes)
    assert len(by_reason("hampel_outlier_ln_n") - spikes) <= 0.2 * len(spikes)
    assert not set(clean.loc[clean["used_in_fit"], "raw_row"]) & spikes
    # NaN dropouts dropped with their reason
    assert set(fr["dropout"]) - set(fr["duplicate"]) <= by_reason("missing_population_density")
    # the stretch logged in degC under a kelvin header is restored to kelvin
    switched = sorted(set(fr["unit_switch"]) - set(fr["duplicate"]) - set(fr["temperature_spike"])
                      - set(fr["temperature_dropout"]))
    assert switched and set(switched) <= by_reason("temperature_logged_in_degC")
    T = clean.set_index("raw_row").loc[switched, "temperature_K"]
    assert np.all(np.abs(T - 870) < 5)
    # temperature spikes replaced, every row of the spiked timestamps recorded
    tspikes = set(fr["temperature_spike"]) - set(fr["duplicate"])
    assert tspikes <= by_reason("hampel_outlier_replaced_by_local_median") | \
        by_reason("temperature_logged_in_degC")
    # the logger outage is flagged
    assert len(summary["gaps_s"]) == 1 and (report["reason"].str.startswith("time_gap")).sum() == 1
    # every clean row either keeps its raw values or has a 'changed' record for that column
    _assert_no_silent_changes(raw_canonical(raw), clean, report)


def raw_canonical(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"raw_row": np.arange(len(raw))})
    for c in raw.columns:
        cu = units.parse_column(c) if c != "synthetic" else None
        if cu is not None:
            out[cu.canonical] = units.to_canonical(pd.to_numeric(raw[c]).to_numpy(), cu)
    return out.set_index("raw_row")


def _assert_no_silent_changes(raw_si: pd.DataFrame, clean: pd.DataFrame, report: pd.DataFrame):
    changed = set(zip(report.loc[report["action"] == "changed", "raw_row"],
                      report.loc[report["action"] == "changed", "column"]))
    dropped = set(report.loc[report["action"] == "dropped", "raw_row"])
    kept = set(clean["raw_row"])
    assert kept.isdisjoint(dropped)
    assert kept | dropped == set(raw_si.index), "a raw row vanished without a record"
    c = clean.set_index("raw_row")
    for col in raw_si.columns:
        a, b = raw_si.loc[c.index, col].to_numpy(), c[col].to_numpy()
        same = (a == b) | (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-12, atol=0)
        for r in c.index[~same]:
            assert (r, col) in changed, f"row {r} column {col} changed silently"


def test_unit_variants_give_the_same_kinetics(tmp_path):
    tab, info = generate_log(truth_for(), REACTOR.replace(sample_interval_s=240, faults=NO_FAULTS), seed=5)
    write_raw_csv(tab, tmp_path / "a.csv")
    other = pd.DataFrame({
        "timestamp_min": tab["timestamp_s"] / 60, "temperature_C": tab["temperature_K"] - 273.15,
        "residence_time_min": tab["residence_time_s"] / 60, "size_mm": tab["size_um"] / 1000,
        "population_density_per_m4": tab["population_density_per_um_per_mL"] * 1e12,
        "operator_note": "ok"})
    write_raw_csv(other, tmp_path / "b.csv")
    fa = analyse(tmp_path / "a.csv")[3]
    clean_b, _, _, fb, meta_b = analyse(tmp_path / "b.csv")
    assert fb["growth_rate_m_per_s"] == pytest.approx(fa["growth_rate_m_per_s"], rel=1e-5)
    assert fb["nucleation_rate_per_m3_s"] == pytest.approx(fa["nucleation_rate_per_m3_s"], rel=1e-4)
    assert meta_b["ignored_columns"] == ["operator_note"] and meta_b["synthetic"] is False
    assert clean_b["temperature_K"].between(860, 930).all()


def test_error_shrinks_with_noise_and_clean_log_is_exact(tmp_path):
    tr = truth_for()
    errs = []
    for noise in (0.0, 0.05, 0.2):
        settings = REACTOR.replace(noise=noise, faults=NO_FAULTS if noise == 0 else REACTOR.faults)
        tab, _ = generate_log(tr, settings, seed=9)
        p = tmp_path / f"n{noise}.csv"
        write_raw_csv(tab, p)
        fit = analyse(p)[3]
        errs.append(abs(fit["growth_rate_m_per_s"] / tr["growth_rate_m_per_s"] - 1))
        if noise == 0:
            # noise-free: only the 7-digit CSV rounding and the start-up tail remain
            assert fit["nucleation_rate_per_m3_s"] == pytest.approx(tr["nucleation_rate_per_m3_s"],
                                                                    rel=2e-3)
    assert errs[0] < 2e-3 and errs[0] < errs[2] and errs[2] < 0.05


def test_recovery_study_table_meets_the_target_at_default_noise(tmp_path):
    """The workflow's recovery.json: all faults on, every noise level, errors from real fits."""
    from msgnn.reactor.recovery import run_recovery
    runs = [fake_run(tmp_path / "a.json", velocity=12.0), fake_run(tmp_path / "b.json", velocity=4.0)]
    res = run_recovery(runs, tmp_path / "recovery.json", conditions=[["Al", 870], ["Al", 850]],
                       melting_points_K={"Al": 926}, generator=REACTOR, nucleation=NUCLEATION,
                       study=RecoveryStudy.defaults(recovery_noise_levels=[0.2]), seeds=[1, 2])
    saved = json.loads((tmp_path / "recovery.json").read_text())
    assert saved["by_noise"] == res["by_noise"] and [e["noise"] for e in res["by_noise"]] == [0.03, 0.2]
    d, hi = res["by_noise"]
    assert res["default_noise"] == d and d["n_logs"] == 2 and d["n_failed"] == 0
    assert all(v > 0 for v in res["faults"].values())  # every fault switched on
    assert 0 < d["growth_rate_error"] < 0.05 and 0 < d["nucleation_rate_error"] < 0.05
    assert hi["growth_rate_error"] > d["growth_rate_error"]  # more noise, larger error


@pytest.mark.parametrize("spelling", ["n/a", "NA", "NULL", "None", "-", "#N/A"])
def test_text_for_missing_is_refused_on_every_route_naming_the_users_file(tmp_path, spelling):
    """A logger's "n/a" is text, not an empty cell: refused when read directly and when it enters
    the workflow (copy_real_log), in CSV and in Parquet alike, and the message names the file the
    user gave, not the workflow's copy."""
    df = pd.read_csv(DOCS / "reactor_example.csv", comment="#")
    text = df.astype({"size_um": str})
    text.loc[[3, 17], "size_um"] = spelling
    csv, pq = tmp_path / "user_log.csv", tmp_path / "user_log.parquet"
    text.to_csv(csv, index=False)
    text.to_parquet(pq, index=False)
    for src in (csv, pq):
        with pytest.raises(InputFileError) as direct:
            read_table(src)
        assert "size_um" in str(direct.value)
        with pytest.raises(InputFileError) as routed:
            copy_real_log(src, tmp_path / "raw.csv", tmp_path / "info.json", material="Al", temperature_K=800)
        assert str(src) in str(routed.value) and "raw.csv" not in str(routed.value)
        assert not (tmp_path / "raw.csv").exists()


def test_empty_cells_and_nan_are_the_missing_values_of_both_formats(tmp_path):
    df = pd.read_csv(DOCS / "reactor_example.csv", comment="#")
    df.loc[[5], "supersaturation"] = np.nan
    csv, pq = tmp_path / "gaps.csv", tmp_path / "gaps.parquet"
    df.to_csv(csv, index=False)                        # written as an empty cell
    df.to_parquet(pq, index=False)                     # a null
    (tmp_path / "nan.csv").write_text(csv.read_text().replace(",,", ",NaN,", 1))
    for src in (csv, pq, tmp_path / "nan.csv"):
        table, _ = read_table(src)
        assert np.isnan(table.loc[5, "supersaturation"]) and table["supersaturation"].notna().sum() == len(df) - 1


@pytest.mark.parametrize("column, value, says", [
    ("size_um", 1e308, "'size_um' fails '<= 0.1 as size_m'"),
    ("size_um", 1e100, "'size_um' fails '<= 0.1 as size_m'"),
    ("size_um", 400.0, "value(s) [400.0] on line(s) 397 are not among the size bins"),
    ("size_um", 1e5, "value(s) [100000.0] on line(s) 397 are not among the size bins"),
    ("timestamp_s", 1e308, "'timestamp_s' fails '<= 1e+09 as timestamp_s' on line(s) 397"),
    ("timestamp_s", -60.0, "'timestamp_s' fails '>= 0' on line(s) 397"),
    ("population_density_per_um_per_mL", 1e300, "fails '<= 1e+40 as population_density_per_m4'"),
    ("temperature_K", 1e6, "'temperature_K' fails '<= 10000 as temperature_K'"),
])
def test_extreme_numbers_are_named_with_their_lines_before_any_fit(tmp_path, column, value, says):
    """One steady-state row with an absurd number: a message naming the column and the line, not an
    OverflowError, a misleading 'no steady state', or a fit that silently uses it."""
    df = pd.read_csv(DOCS / "reactor_example.csv", comment="#")
    df[column] = df[column].astype(float)
    df.loc[len(df) - 5, column] = value                          # line len(df) - 5 + 2 = 397
    path = tmp_path / "extreme.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputFileError) as err:
        analyse(path)
    assert str(path) in str(err.value) and says in str(err.value)


def test_a_log_too_large_for_memory_is_refused_before_reading(tmp_path, monkeypatch):
    """A clear message instead of an out-of-memory kill: the estimate is checked before reading."""
    import psutil
    path = tmp_path / "huge.csv"
    path.write_text((DOCS / "reactor_example.csv").read_text())
    real = psutil.virtual_memory()
    monkeypatch.setattr(psutil, "virtual_memory", lambda: real._replace(available=path.stat().st_size))
    with pytest.raises(InputFileError, match="huge.csv: too large to process here: .* GB of memory"):
        read_table(path)
    monkeypatch.undo()
    read_table(path)                                           # with the real memory it reads
