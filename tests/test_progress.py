"""Progress lines of long steps in a job log (msgnn/progress.py)."""
import logging

from msgnn.progress import progress


def test_progress_goes_to_the_log_when_not_a_terminal(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    with caplog.at_level(logging.INFO, logger="msgnn.progress"):
        assert list(progress(range(5), "Cu 1200 K: replicas", every_s=0)) == [0, 1, 2, 3, 4]
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all(line.startswith("Cu 1200 K: replicas: ") for line in lines)
    assert "5/5 done" in lines[-1]                    # the end is always reported
    assert "left" in lines[-1]
