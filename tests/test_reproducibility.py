"""Two clean runs of the smoke config give identical results, byte for byte.

The two runs are the session's existing ones (tests/conftest.py), so this costs no extra run:
`smoke_run` (`snakemake --cores 2` in an empty folder) and `dvc_repro` (`dvc repro` in a git
repository: one Snakemake invocation per DVC stage, `--cores all`). Every file under results/
must have the same sha256 in both, except the files listed in EXCLUDED, which record when, where
and how long something ran rather than what it computed (docs/dvc.md, "Reproducibility").

No numeric tolerance is needed: on one machine LAMMPS (serial, seeded velocities and Langevin
thermostat), torch (CPU, 1 thread per job, seeded), scikit-learn and Optuna's GPSampler (seeded)
are deterministic, and every output is written deterministically (no times or random temporary
names inside files). Across machines (other CPUs, BLAS or LAMMPS builds) bit-identity is not
promised; docs/dvc.md says what to expect there.
"""
import fnmatch
import json
from pathlib import Path

import pytest

# path pattern -> why the file legitimately differs between two runs
EXCLUDED = {
    "results/provenance/*": "provenance records: start/finish times, host, working folder, git state",
    "results/logs/*": "job logs: timestamps and durations",
    "results/benchmarks/*": "Snakemake benchmark files: measured run time and memory of each job",
    "results/tune/study*": "Optuna study storage (tune.storage: SQLite or journal file): trial start and end times",
    "results/report/report.html": "Snakemake HTML report: creation time (made by `snakemake --report`)",
    "results/md/*log.lammps": "LAMMPS's own log of each MD run: loop times and performance lines",
}


def excluded(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in EXCLUDED)


def json_differences(a, b, where="") -> list[str]:
    """Paths of the leaves where two JSON documents differ (for a readable failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b))
                for d in (json_differences(a[k], b[k], f"{where}/{k}") if k in a and k in b else [f"{where}/{k}"])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in json_differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {str(a)[:60]} != {str(b)[:60]}"]


def describe(path: str, root_a: Path, root_b: Path) -> str:
    if path.endswith(".json"):
        diffs = json_differences(json.loads((root_a / path).read_text()), json.loads((root_b / path).read_text()))
        return f"{path}: {diffs[:5]}"
    return path


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_two_clean_smoke_runs_give_identical_results(smoke_run, dvc_repro):
    a, b = smoke_run.hashes, dvc_repro.hashes
    missing = sorted(p for p in a if p not in b and not excluded(p))
    assert not missing, f"made by `snakemake` but not by `dvc repro`: {missing[:20]}"
    # the other way round is expected: DVC's md stage targets md_all, which also combines the
    # replicas of the MD-only temperatures (results/md/{material}/T{T}/run.json) that `all` skips
    compared = sorted(p for p in a if p in b and not excluded(p))
    assert len(compared) > 50, compared                      # the results, not an empty folder
    differ = [p for p in compared if a[p] != b[p]]
    assert not differ, "differ between two clean runs:\n" + "\n".join(
        describe(p, smoke_run.path, dvc_repro.path) for p in differ[:25])
    # the headline numbers, explicitly
    m1, m2 = (json.loads((r.path / "results/report/metrics.json").read_text()) for r in (smoke_run, dvc_repro))
    assert m1["models"] == m2["models"]
    print(f"{len(compared)} result files identical; excluded {sum(excluded(p) for p in a)} "
          f"({', '.join(EXCLUDED)}); made by dvc repro only: {sorted(p for p in set(b) - set(a) if not excluded(p))}")


def test_exclusion_list_is_narrow():
    """Only run records are excluded, never a result the other stages or the report read."""
    for path in ["results/md/Al/T800/run.json", "results/dataset/samples.pt", "results/report/metrics.json",
                 "results/tune/best_params.json", "results/tune/history.csv", "results/train/msgnn/metrics.json",
                 "results/microscopy/Al/T800/facets.pt", "results/reactor/Al/T800/kinetics.json"]:
        assert not excluded(path), path
    for path in ["results/provenance/md_run/x.json", "results/logs/md/md_run/a.log", "results/tune/study.db",
                 "results/tune/study_mlp.db", "results/tune/study.log", "results/benchmarks/train/msgnn.tsv"]:
        assert excluded(path), path
