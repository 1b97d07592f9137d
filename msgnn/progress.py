"""Progress of long steps (MD replicas, HRTEM frames, tuning trials): a tqdm bar on a terminal;
in a workflow job, whose stderr is not a terminal, a log line with count, rate and time left
every `every_s` seconds and at the end, so the job's log shows how far it got."""
from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

log = logging.getLogger("msgnn.progress")


class _LogLines:
    """A file for tqdm that turns its carriage-return updates into log lines."""

    def write(self, s: str) -> None:
        s = s.strip("\r\n ")
        if s:
            log.info(s)

    def flush(self) -> None:
        pass


def progress(iterable, desc: str, total: int | None = None, every_s: float = 30.0):
    """`iterable`, reporting its progress under `desc` (see the module docstring); with
    `iterable=None` a bar of `total` steps to `.update(n)` and `.close()` by hand."""
    if sys.stderr.isatty():
        return tqdm(iterable, desc=desc, total=total, file=sys.stderr)
    return tqdm(iterable, desc=desc, total=total, file=_LogLines(), mininterval=every_s, maxinterval=every_s,
                ascii=True, ncols=80, bar_format="{desc}: {n_fmt}/{total_fmt} done, {elapsed} elapsed, "
                                                 "about {remaining} left ({rate_fmt})")
