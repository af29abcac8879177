"""Launch kernel pieces: per-unit files are atomic and merged once, invalid ones are dropped
(their unit recomputed), Slurm parameters map onto submitit's, the local launcher equals
``JsonlStore.get_or_run``."""

from __future__ import annotations

import json

import pytest

from mrptheory.errors import ConfigError
from mrptheory.launch import LocalLauncher, Unit, run_units
from mrptheory.launch.options import read_slurm_file, slurm_config_from_options
from mrptheory.launch.submitit_launcher import SlurmConfig, run_unit_job
from mrptheory.launch.unit_files import merge_unit_files, unit_file, units_dir, write_unit_file
from mrptheory.results import JsonlStore, check_record


def _square(x: int) -> dict:
    return {"x": x, "y": x * x}


def test_local_launcher_stores_what_get_or_run_stores(tmp_path):
    units = [Unit(f"x={x}", _square, (x,)) for x in (1, 2, 3)]
    a = run_units(units, JsonlStore(tmp_path / "a.jsonl"), LocalLauncher())
    b_store = JsonlStore(tmp_path / "b.jsonl")
    b = [b_store.get_or_run(f"x={x}", lambda x=x: _square(x)) for x in (1, 2, 3)]
    assert a == b
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_unit_files_merge_in_order_once_and_drop_invalid_ones(tmp_path):
    store = JsonlStore(tmp_path / "s.jsonl",
                       validate=lambda r: check_record(r, {"y": (int, 0, None)}))
    for x in (3, 1, 2):  # jobs finish in any order
        run_unit_job(Unit(f"x={x}", _square, (x,)), str(unit_file(store, f"x={x}")))
    write_unit_file(unit_file(store, "bad"), {"key": "bad", "y": -1})  # fails the store's check
    unit_file(store, "torn").write_text('{"key": "torn", "y"')  # not a whole record
    rejected = merge_unit_files(store, ["x=1", "x=2", "x=3", "bad", "torn"])
    assert set(rejected) == {"bad", "torn"}
    assert "invalid" in rejected["bad"] and "unreadable" in rejected["torn"]
    assert [json.loads(line)["key"] for line in store.path.read_text().splitlines()] == \
        ["x=1", "x=2", "x=3"]
    assert not units_dir(store).exists()  # merged or dropped: nothing left to merge twice
    run_unit_job(Unit("x=1", _square, (1,)), str(unit_file(store, "x=1")))  # a duplicate job
    merge_unit_files(store, ["x=1"])
    assert len(store.path.read_text().splitlines()) == 3  # a stored key is never appended twice


def test_slurm_parameters_and_file(tmp_path):
    cfg = SlurmConfig(partition="gpu", time_min=30, gpus_per_job=1, cpus_per_job=8, mem_gb=32,
                      array_parallelism=10, extra={"slurm_account": "lab"})
    assert cfg.parameters() == {"timeout_min": 30, "nodes": 1, "tasks_per_node": 1,
                                "cpus_per_task": 8, "gpus_per_node": 1,
                                "slurm_array_parallelism": 10, "slurm_partition": "gpu",
                                "mem_gb": 32, "slurm_account": "lab"}
    path = tmp_path / "slurm.toml"
    path.write_text('partition = "a100"\ntime = 120\ngpus_per_job = 2\n[extra]\nslurm_qos = "hi"\n')
    assert read_slurm_file(path) == {"partition": "a100", "time_min": 120, "gpus_per_job": 2,
                                     "extra": {"slurm_qos": "hi"}}
    cfg = slurm_config_from_options({"slurm_config": str(path), "slurm_time": 15})
    assert (cfg.partition, cfg.time_min, cfg.gpus_per_job) == ("a100", 15, 2)  # option wins
    with pytest.raises(ConfigError, match=r"cpus_per_job must be in \[1, inf\], got 0"):
        SlurmConfig(cpus_per_job=0)
