import json
import os

import pytest

from msgnn.io import atomic_path, read_json_object, write_json
from msgnn.errors import InputFileError
from msgnn.io import sha256
from msgnn.workflow.provenance.records import Job, record


def test_failed_write_leaves_no_output_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "a" / "result.json"
    write_json(out, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("job died")
    assert json.loads(out.read_text()) == {"v": 1}
    assert os.listdir(out.parent) == ["result.json"]
    assert out.stat().st_mode & 0o044, "outputs must be readable by the group/others (umask permitting)"


def test_nan_is_refused_rather_than_written(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "x.json", {"v": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_bad_json_input_names_the_file(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="run.json: not valid JSON"):
        read_json_object(bad)
    with pytest.raises(InputFileError, match="file not found"):
        read_json_object(tmp_path / "missing.json")


def test_provenance_record_pins_inputs_by_checksum(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("abc")
    out = tmp_path / "out.txt"
    out.write_text("xyz")
    rec_path = tmp_path / "prov.json"
    record(rec_path, Job(rule="r", wildcards={"material": "Al"}, inputs=[src], outputs=[out],
                         params={"p": 1}, config_hash="h", threads=1, started=0.0))
    rec = json.loads(rec_path.read_text())
    assert rec["inputs"][0]["sha256"] == sha256(src) == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert rec["packages"]["torch"] and rec["msgnn_code_sha256"] and rec["wildcards"] == {"material": "Al"}


def test_plain_gives_json_types_and_trims_file_metadata(tmp_path):
    import numpy as np
    from pathlib import Path

    from msgnn.io import plain
    data = {1: np.float32(0.5), "a": (np.int64(3), np.bool_(True)), "arr": np.arange(3), "nan": float("nan"),
            "path": Path("x/y"), "_private": b"v\x00"}
    assert plain(data) == {"1": 0.5, "a": [3, True], "arr": [0, 1, 2], "nan": None, "path": "x/y", "_private": "v"}
    # file metadata: private keys, long arrays, values without a JSON form and what became None are dropped
    meta = {"_x": 1, "big": np.zeros(65), "obj": object(), "nan": np.nan, "keep": [np.nan, "s"], "deep": {}}
    d = meta["deep"]
    for _ in range(14):
        d["d"] = {"v": 1}
        d = d["d"]
    out = plain(meta, trim=True)
    assert set(out) == {"keep", "deep"} and out["keep"] == [None, "s"]
    assert json.dumps(out).count('"d"') == 11          # 14 nested: cut where the nesting passes 12 levels
    write_json(tmp_path / "n.json", {"v": np.float32(2.5), "p": Path("q")})   # numpy and Paths through plain
    assert json.loads((tmp_path / "n.json").read_text()) == {"v": 2.5, "p": "q"}
