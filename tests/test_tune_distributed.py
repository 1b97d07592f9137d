"""Distributed tuning: several worker processes share one study (journal file or SQLite), heartbeats
re-queue a killed worker's trial, and a killed tuning run resumes with its finished trials.

The workers are real processes (subprocess) on real Optuna storages with msgnn's sampler and
trial loop (msgnn.learn.trials: open_storage, open_study, run_trials). Where the test is about worker mechanics the
objective is cheap (a quadratic with a short sleep); the killed-study test runs msgnn's own
run_tuning on a toy dataset, with a delay wrapped around the real objective so that the kill
lands inside a known trial. About 40 s on 2 shared cores.
"""
import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from msgnn.errors import ConfigError
from msgnn.learn.dataset import build_dataset
from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings
from msgnn.learn.trials import (HEARTBEAT_ATTR, HeartbeatJournalStorage, fail_stale_trials, open_storage,
                                open_study, parse_storage, retried_from)
from msgnn.learn.tune import run_tuning, storage_for
from toy import toy_inputs

HEARTBEAT_S, GRACE_S = 1, 3
SCHEDULING = TuneScheduling.defaults(heartbeat_interval_s=HEARTBEAT_S, grace_period_s=GRACE_S)

# One worker of a shared study, with a cheap objective. argv: storage study n_trials worker
# hang_at_trial out_dir. The worker waits for out_dir/go (so that all start together); with
# hang_at_trial > 0 its objective announces (out_dir/hung<worker>) and hangs in its
# hang_at_trial-th trial until it is killed.
WORKER = r"""
import json, sys, time
from pathlib import Path
from msgnn.learn.settings import TuneScheduling
from msgnn.learn.trials import open_storage, open_study, run_trials

url, name, n_trials, worker, hang_at, out = sys.argv[1:]
n_trials, hang_at, out = int(n_trials), int(hang_at), Path(out)
storage = open_storage(url, TuneScheduling.defaults(heartbeat_interval_s=%(hb)d, grace_period_s=%(grace)d))
study = open_study(storage, name, seed=0, n_startup_trials=3, worker=int(worker))
(out / f"ready{worker}").write_text("")
while not (out / "go").exists():
    time.sleep(0.02)
evaluated = []

def suggest(trial):
    return {"x": trial.suggest_float("x", -2.0, 2.0), "y": trial.suggest_float("y", -2.0, 2.0)}

def evaluate(p):
    evaluated.append(p)
    if len(evaluated) == hang_at:
        (out / f"hung{worker}").write_text(json.dumps(p))
        time.sleep(600)
    time.sleep(0.3)
    return (p["x"] - 0.3) ** 2 + (p["y"] + 0.5) ** 2

ran = run_trials(study, suggest, evaluate, n_trials, heartbeat_interval_s=%(hb)d,
                 lock_path=out / "study.reserve", wait=True, worker=worker)
(out / f"ran{worker}.json").write_text(json.dumps([t.number for t in ran]))
""" % {"hb": HEARTBEAT_S, "grace": GRACE_S}


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _start_workers(tmp_path, url, n_trials, hang_at: dict):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = {w: subprocess.Popen([sys.executable, str(script), url, "shared", str(n_trials), str(w),
                                  str(hang_at.get(w, 0)), str(tmp_path)], env=_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for w in (0, 1)}
    _wait_for(lambda: all((tmp_path / f"ready{w}").exists() for w in procs), procs, 60)
    (tmp_path / "go").write_text("")
    return procs


def _wait_for(cond, procs, timeout):
    t0 = time.time()
    while not cond():
        for p in procs.values():
            if p.poll() is not None:
                raise AssertionError(f"process ended (rc {p.returncode}) before it should: {p.stdout.read()}")
        if time.time() - t0 > timeout:
            raise AssertionError("timed out")
        time.sleep(0.02)


def _finish(procs, timeout=90):
    out = {}
    for w, p in procs.items():
        try:
            text, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
        out[w] = (p.returncode, text)
    return out


def _load(url):
    return optuna.load_study(study_name="shared", storage=open_storage(url, SCHEDULING))


def test_two_workers_share_one_journal_study_without_losing_or_duplicating_trials(tmp_path):
    url, n = f"journal:///{tmp_path}/study.log", 6
    procs = _start_workers(tmp_path, url, n, hang_at={})
    for w, (rc, text) in _finish(procs).items():
        assert rc == 0, text
    study = _load(url)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * n        # exactly n, none failed or left over
    assert sorted(t.number for t in trials) == list(range(n))
    ran = {w: json.loads((tmp_path / f"ran{w}.json").read_text()) for w in (0, 1)}
    assert ran[0] and ran[1]                                              # both workers contributed
    assert not set(ran[0]) & set(ran[1]) and sorted(ran[0] + ran[1]) == list(range(n))
    for w in (0, 1):                                                      # each trial records its worker
        assert all(study.trials[i].user_attrs["worker"] == str(w) for i in ran[w])
    points = {(t.params["x"], t.params["y"]) for t in trials}
    assert len(points) == n                                               # distinct seeds: no repeated point
    assert all(HEARTBEAT_ATTR in t.system_attrs for t in trials)          # heartbeats went to the journal


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_killed_worker_trial_is_failed_by_heartbeat_and_retried(tmp_path, kind):
    url = f"journal:///{tmp_path}/study.log" if kind == "journal" else f"sqlite:///{tmp_path}/study.db"
    n = 5
    procs = _start_workers(tmp_path, url, n, hang_at={1: 1})             # worker 1 hangs in its 1st trial
    _wait_for(lambda: (tmp_path / "hung1").exists(), procs, 60)
    procs[1].send_signal(signal.SIGKILL)
    hung = json.loads((tmp_path / "hung1").read_text())
    results = _finish(procs)
    assert results[1][0] == -signal.SIGKILL
    assert results[0][0] == 0, results[0][1]
    study = _load(url)
    killed = [t for t in study.trials if t.params == hung]
    assert [t.state for t in killed] == [TrialState.FAIL, TrialState.COMPLETE]
    dead, retry = killed
    assert dead.user_attrs["worker"] == "1" and retry.user_attrs["worker"] == "0"
    assert retried_from(retry) == dead.number                             # RetryHeartbeatStaleTrialCallback
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == n and len(study.trials) == n + 1             # only the dead trial is extra
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert retry.number in json.loads((tmp_path / "ran0.json").read_text())


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_journal_heartbeat_marks_only_silent_trials_stale(tmp_path):
    storage = open_storage(f"{tmp_path}/s.journal", TuneScheduling.defaults(heartbeat_interval_s=1, grace_period_s=2))
    assert isinstance(storage, HeartbeatJournalStorage)
    study = open_study(storage, "s", seed=0, n_startup_trials=4)
    silent, beating = study.ask(), study.ask()
    sid = storage.get_study_id_from_name("s")
    storage.set_trial_system_attr(silent._trial_id, HEARTBEAT_ATTR, time.time() - 10)
    storage.record_heartbeat(beating._trial_id)
    # an old heartbeat (as a re-queued trial inherits from its dead predecessor) does not make a
    # trial that has just (re)started stale: its start counts as a beat
    assert storage._get_stale_trial_ids(sid) == []
    time.sleep(2.2)
    storage.record_heartbeat(beating._trial_id)
    assert storage._get_stale_trial_ids(sid) == [silent._trial_id]
    fail_stale_trials(study)
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]
    assert retried_from(study.trials[2]) == silent.number


def test_storage_values():
    assert parse_storage("journal:///results/tune/study.log") == ("journal", "results/tune/study.log")
    assert parse_storage("journal:////scratch/study.log") == ("journal", "/scratch/study.log")
    assert parse_storage("results/tune/study.journal") == ("journal", "results/tune/study.journal")
    assert parse_storage("postgresql://u@db/optuna") == ("rdb", "postgresql://u@db/optuna")
    assert storage_for("journal:///results/tune/study.log", "svr") == "journal:///results/tune/study_svr.log"
    assert storage_for("postgresql://u@db/optuna", "svr") == "postgresql://u@db/optuna"
    with pytest.raises(ConfigError, match="tune.storage: 'results/study.db'"):
        parse_storage("results/study.db")
    with pytest.raises(ConfigError, match="grace_period_s"):
        open_storage("results/x.log", TuneScheduling.defaults(heartbeat_interval_s=60, grace_period_s=30))


# ---- a killed tuning run (msgnn's run_tuning, SVR on a toy dataset) resumes ------------------------

# argv: samples splits out_dir storage k. Hangs inside the (k+1)-th call of the real objective, i.e.
# in the first study's trial k, after k trials have completed, and says so in out_dir/hung.
RUN = r"""
import json, sys, time
from pathlib import Path
import msgnn.learn.tune as tune
from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings

samples, splits, out, url, k = sys.argv[1:]
out, k, calls = Path(out), int(k), []
real = tune.inner_cv_rmse

def delayed(*args, **kw):      # around the real objective: hang in call k+1 so the parent can kill it
    calls.append(1)
    if len(calls) == k + 1:
        (out / "hung").write_text("")
        time.sleep(600)
    return real(*args, **kw)

tune.inner_cv_rmse = delayed
cfg = json.loads((out / "tune.json").read_text())
tune.run_tuning(samples, splits, out / "bp.json", out / "hist.csv", model="svr", train=TrainSettings.defaults(),
                tune=TuneSettings.from_section(cfg), scheduling=TuneScheduling.from_section(cfg), seed=1)
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    ins = toy_inputs(root, {"Al": [780, 830, 880], "Cu": [1150, 1230, 1290]}, n_snapshots=1, n_images=1,
                     n_atoms=12)
    build_dataset(ins, root / "samples.pt", root / "targets.csv", root / "splits.json", folds=3, seed=3)
    return root


def test_killed_tuning_run_resumes_with_its_finished_trials(dataset, tmp_path):
    url = f"sqlite:///{tmp_path}/study.db"    # the default storage (the journal resumes alike: same code)
    n, k = 4, 2
    tune = TuneSettings.defaults(n_trials=n, epochs=1, storage=url, study_name="m", inner_folds=2,
                                 n_startup_trials=2, outer_splits=["group_kfold"])
    scheduling = TuneScheduling.defaults(heartbeat_interval_s=60, grace_period_s=180)
    (tmp_path / "tune.json").write_text(json.dumps({**tune.to_dict(), **scheduling.to_dict()}))
    (tmp_path / "run.py").write_text(RUN)
    p = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(dataset / "samples.pt"),
                          str(dataset / "splits.json"), str(tmp_path), url, str(k)], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: (tmp_path / "hung").exists(), {0: p}, 90)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    assert p.returncode == -signal.SIGKILL and not (tmp_path / "bp.json").exists()
    storage = open_storage(storage_for(url, "svr"), scheduling)
    (first,) = [s for s in optuna.get_all_study_names(storage) if ".fold0." in s]
    before = optuna.load_study(study_name=first, storage=storage).trials
    assert [t.state for t in before] == [TrialState.COMPLETE] * k + [TrialState.RUNNING]

    # rerun in this process (the tune rule after the kill): the grace period (180 s) has not passed,
    # yet the orphaned trial is re-queued at once because no other worker can be running it
    best = run_tuning(dataset / "samples.pt", dataset / "splits.json", tmp_path / "bp.json",
                      tmp_path / "hist.csv", model="svr", train=TrainSettings.defaults(), tune=tune,
                      scheduling=scheduling, seed=1)
    after = optuna.load_study(study_name=first, storage=storage).trials
    assert [(t.number, t.params, t.value) for t in after[:k]] == [(t.number, t.params, t.value) for t in before[:k]]
    assert after[k].state == TrialState.FAIL
    assert [t.state for t in after[k + 1:]] == [TrialState.COMPLETE] * (n - k)   # only the remaining trials
    assert retried_from(after[k + 1]) == k and after[k + 1].params == before[k].params
    assert all(v["n_complete"] == n for v in best["splits"].values()) and len(best["splits"]) == 3
    h = pd.read_csv(tmp_path / "hist.csv")
    assert len(h) == 3 * n and h[h.fold == "fold0"]["retried_from"].dropna().tolist() == [k]
