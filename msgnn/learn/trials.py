"""Optuna studies that several workers share: storages with heartbeats, a reservation lock and
the trial loop. Nothing here knows msgnn's models or data (:mod:`msgnn.learn.tune` does).

Studies live in persistent storage (``tune.storage``: an SQLite file by default, any SQLAlchemy
database URL, or an Optuna journal file, see :func:`parse_storage`). Several workers
(``tune.workers``; on SLURM, one job each) can share one study. Three things make that safe
(docs/tuning.md):

- *Heartbeats.* A running trial records a heartbeat every ``heartbeat_interval_s``; a RUNNING
  trial without one for ``grace_period_s`` belongs to a dead worker (killed, preempted, out of
  time) and is set to FAIL and re-queued once more as a WAITING trial with the same parameters
  (Optuna's ``RetryHeartbeatStaleTrialCallback``), which the next free worker runs. Optuna
  implements heartbeats for ``RDBStorage`` only; :class:`HeartbeatJournalStorage` adds them to
  the journal storage with the same protocol.
- *A reservation lock* (an ``O_EXCL`` lock file on the shared filesystem) around "count the
  study, create the next trial, draw its parameters": a worker only starts a trial while
  COMPLETE + RUNNING + WAITING < ``n_trials``, so the study ends with exactly ``n_trials`` COMPLETE
  trials (Optuna's ``MaxTrialsCallback`` stops a worker only *after* a trial, so concurrent
  workers overshoot), and the GP of the next trial sees every trial in flight.
- *Batch-aware sampling.* GPSampler is sequential by design, but Optuna 5's version conditions on
  the RUNNING trials (q-batch log EI: their outcomes are integrated out by Monte Carlo), which is
  the principled form of a constant liar: concurrent workers do not propose the same point.
  Each worker's sampler gets its own seed, so the random start-up trials differ too.
"""
from __future__ import annotations

import logging
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
import tenacity
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalFileSymlinkLock
from optuna.trial import FrozenTrial, TrialState

from msgnn.errors import ConfigError
from msgnn.learn.settings import TuneScheduling
from msgnn.progress import progress

log = logging.getLogger(__name__)


JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
JOURNAL_LOCKS = {"open": JournalFileOpenLock, "symlink": JournalFileSymlinkLock}
HEARTBEAT_ATTR = "msgnn:heartbeat"   # trial system attribute: time.time() of the last heartbeat
RESERVATION_GRACE_S = 60             # a reservation lock older than this is a dead worker's: broken


def parse_storage(url: str) -> tuple[str, str]:
    """``("journal", path)`` or ``("rdb", url)`` for a ``tune.storage`` value.

    A journal file is ``journal:///relative/path`` or ``journal:////absolute/path`` (the slashes
    as in SQLite URLs) or a plain path ending in .log, .journal or .jsonl; anything with ``://``
    is a database URL for SQLAlchemy (``sqlite:///...``, ``postgresql://user@host/db``,
    ``mysql+pymysql://...``)."""
    if url.startswith("journal:///"):
        return "journal", url.removeprefix("journal:///")
    if "://" in url:
        return "rdb", url
    if Path(url).suffix in JOURNAL_SUFFIXES:
        return "journal", url
    raise ConfigError(f"tune.storage: {url!r} is neither a database URL (sqlite:///results/tune/study.db, "
                      f"postgresql://user@host/db) nor a journal file (journal:///results/tune/study.log "
                      f"or a path ending in {', '.join(JOURNAL_SUFFIXES)})")


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """Optuna's journal storage with the heartbeat protocol that Optuna 5.0 implements only for
    ``RDBStorage`` (optuna issue 6615): ``Study.optimize`` then runs a heartbeat thread beside
    every trial and fails stale trials before it asks for a new one, exactly as for a database.

    A heartbeat is the trial system attribute ``msgnn:heartbeat`` (the worker's ``time.time()``),
    one journal line per beat. A RUNNING trial is stale when neither its last heartbeat nor its
    (re)start is younger than ``grace_period`` seconds by the checking worker's clock, so the
    nodes' clocks must agree to well within the grace period (NTP does; a database server's
    clock is used by RDBStorage instead)."""

    def __init__(self, backend, *, heartbeat_interval: int | None = None, grace_period: int | None = None,
                 stale_trial_callback: Callable | None = None) -> None:
        super().__init__(backend)
        for name, v in (("heartbeat_interval", heartbeat_interval), ("grace_period", grace_period)):
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {v}")
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period or (2 * heartbeat_interval if heartbeat_interval else None)
        self.stale_trial_callback = stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
        except UpdateFinishedTrialError:
            pass   # another worker declared this trial dead meanwhile; Optuna's tell will say so

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            # a re-queued trial carries its predecessor's heartbeat: its (re)start counts too
            alive = max(float(t.system_attrs.get(HEARTBEAT_ATTR, 0.0)),
                        t.datetime_start.timestamp() if t.datetime_start else 0.0)
            if now - alive > self.grace_period:
                stale.append(t._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> Callable | None:
        return self.stale_trial_callback


def _retry_callback(max_retry: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry=max_retry)


def open_storage(url: str, scheduling: TuneScheduling) -> BaseStorage:
    """The Optuna storage for a ``tune.storage`` value (see :func:`parse_storage`).

    A trial whose worker stopped beating (every ``heartbeat_interval_s``) for ``grace_period_s`` is
    failed and re-queued up to ``max_retry`` times. The journal file is locked with ``O_EXCL`` lock
    files (``journal_lock="open"``: NFSv3 and later, Lustre, GPFS) or symlinks (``"symlink"``: also
    NFSv2), both of which work across nodes where the ``fcntl`` locks SQLite relies on often do not."""
    kind, where = parse_storage(url)
    beat, grace = scheduling.heartbeat_interval_s, scheduling.grace_period_s
    if grace <= beat:
        raise ConfigError(f"tune.grace_period_s ({grace}) must exceed tune.heartbeat_interval_s "
                          f"({beat}): a live trial would be declared dead between two beats")
    if scheduling.journal_lock not in JOURNAL_LOCKS:
        raise ConfigError(f"tune.journal_lock: {scheduling.journal_lock!r} is not one of {sorted(JOURNAL_LOCKS)}")
    retry = _retry_callback(scheduling.max_retry)
    if kind == "journal":
        Path(where).parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(where, lock_obj=JOURNAL_LOCKS[scheduling.journal_lock](where))
        return HeartbeatJournalStorage(backend, heartbeat_interval=beat, grace_period=grace,
                                       stale_trial_callback=retry)
    engine_kwargs = None
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}   # concurrent workers wait for the write lock
    return _rdb_storage(url, engine_kwargs=engine_kwargs, heartbeat_interval=beat, grace_period=grace,
                        heartbeat_stale_trial_callback=retry)


def _rdb_storage(url: str, attempts: int = 6, **kw) -> RDBStorage:
    """RDBStorage, retried (tenacity; waits 0.2, 0.4, ... s): workers that open a new database at
    the same moment race in its check-then-create of the tables ("table studies already exists")
    and of the version row."""
    import sqlalchemy.exc

    def open_storage() -> RDBStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return RDBStorage(url, **kw)

    races = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError)
    return tenacity.Retrying(retry=tenacity.retry_if_exception_type(races), stop=tenacity.stop_after_attempt(attempts),
                             wait=tenacity.wait_incrementing(start=0.2, increment=0.2), reraise=True,
                             before_sleep=tenacity.before_sleep_log(log, logging.INFO))(open_storage)


def sampler_seed(seed: int, worker: int, n_existing: int) -> int:
    """The GPSampler seed of one worker joining a study that already holds `n_existing` trials.
    Workers differ (else their random start-up trials would coincide), and so does a resumed run
    (else it would redraw the start-up points of the killed one); a fresh single-worker study
    keeps `seed` itself."""
    return (int(seed) + 7919 * int(n_existing) + 104729 * int(worker)) % (2 ** 31)


def open_study(storage: BaseStorage, study_name: str, *, seed: int, n_startup_trials: int,
               worker: int = 0) -> optuna.Study:
    """Create or load a minimising study with a GPSampler (log EI; q-batch log EI over running trials)."""
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                load_if_exists=True, sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        study.sampler = optuna.samplers.GPSampler(
            seed=sampler_seed(seed, worker, len(study.get_trials(deepcopy=False))),
            n_startup_trials=n_startup_trials, deterministic_objective=True)
    return study


def trial_counts(study: optuna.Study) -> dict:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {s: states.count(s) for s in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)}


def fail_stale_trials(study: optuna.Study) -> None:
    """Optuna's heartbeat check (a no-op for a storage without heartbeats)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def requeue_orphans(study: optuna.Study, max_retry: int) -> list[int]:
    """Fail and re-queue (as :func:`fail_stale_trials` would, without waiting out the grace period)
    every RUNNING trial of a study that no worker can be running now: called by the tune rule, which
    Snakemake starts only after every worker job of the study has ended. Returns their numbers."""
    retry = _retry_callback(max_retry)
    numbers = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for n in numbers:
        study.tell(n, state=TrialState.FAIL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            retry(study, study.trials[n])
    if numbers:
        log.warning("study %s: trial(s) %s were left RUNNING by a killed run; failed and re-queued",
                    study.study_name, numbers)
    return numbers


class _Reservation:
    """The reservation lock of one study (see the module docstring): an ``O_EXCL`` lock file that
    works across nodes on a shared filesystem. ``release`` may be called more than once."""

    def __init__(self, path: str | Path | None):
        self._lock = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = JournalFileOpenLock(str(path), grace_period=RESERVATION_GRACE_S)
        self._held = False

    def acquire(self) -> None:
        if self._lock is not None:
            self._lock.acquire()
            self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            try:
                self._lock.release()
            except RuntimeError:   # held past the grace period and broken by another worker
                log.warning("reservation lock was broken by another worker (held > %d s)", RESERVATION_GRACE_S)


def run_trials(study: optuna.Study, suggest: Callable[[optuna.Trial], dict], evaluate: Callable[[dict], float],
               n_trials: int, *, heartbeat_interval_s: int | None = None, lock_path: str | Path | None = None,
               wait: bool = True, worker: str = "0", catch=(RuntimeError, ValueError)) -> list[FrozenTrial]:
    """Run trials of `study` until it holds `n_trials` COMPLETE trials; return the trials run here.

    `suggest` draws a trial's parameters, `evaluate` scores them (the expensive part). Every start
    is reserved under the study's lock at `lock_path` (None: a single worker): stale trials are
    failed and re-queued, and a new trial starts only while COMPLETE + RUNNING < `n_trials` or a
    re-queued trial is WAITING; the lock is released once the parameters are drawn. When the
    remaining trials are all running elsewhere, the worker returns (``wait=False``) or polls
    until they finish or go stale (``wait=True``; needs heartbeats, else dead trials could never
    be told from running ones, and RUNNING trials are not counted). A worker starts at most as
    many trials as were missing when it began (a trial that fails by a caught error uses one up).
    """
    budget = max(0, int(n_trials) - trial_counts(study)[TrialState.COMPLETE])
    ran: list[FrozenTrial] = []
    reservation = _Reservation(lock_path)
    poll_s = min(max(1, heartbeat_interval_s or 1), 10)
    bar = progress(None, f"{study.study_name}: trials", total=budget)

    def objective(trial):
        try:
            params = suggest(trial)
        finally:
            reservation.release()
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("host", socket.gethostname())
        return evaluate(params)

    while len(ran) < budget:
        reservation.acquire()
        try:
            fail_stale_trials(study)
            c = trial_counts(study)
            in_flight = c[TrialState.RUNNING] if heartbeat_interval_s else 0
            if c[TrialState.COMPLETE] >= n_trials:
                break
            if c[TrialState.COMPLETE] + in_flight >= n_trials and not c[TrialState.WAITING]:
                if not wait:
                    break
                reservation.release()
                time.sleep(poll_s)
                continue
            study.optimize(objective, n_trials=1, catch=catch,
                           callbacks=[lambda _study, frozen: (ran.append(frozen), bar.update(1))])
        finally:
            reservation.release()
    bar.close()
    return ran


def retried_from(trial: FrozenTrial) -> int | None:
    """The number of the trial whose dead worker this trial re-runs (None for a first attempt)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)
