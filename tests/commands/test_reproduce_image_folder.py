"""``mrp reproduce`` with an image folder: how --data-root / --image-folder reach the CIFAR-10 rows."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.commands.reproduce import image_folder_env, split_image_folder
from tests.shared_data import cifar_sample  # noqa: F401  (fixture)


def test_an_image_folder_data_root_becomes_the_image_folder(tmp_path):
    (tmp_path / "imgs" / "train").mkdir(parents=True)
    (tmp_path / "imgs" / "test").mkdir()
    (tmp_path / "idx").mkdir()
    (tmp_path / "a.tar.gz").write_bytes(b"")
    assert split_image_folder(str(tmp_path / "imgs"), None) == (None, str(tmp_path / "imgs"))
    assert split_image_folder(str(tmp_path / "a.tar.gz"), None) == (None, str(tmp_path / "a.tar.gz"))
    assert split_image_folder(str(tmp_path / "idx"), None) == (str(tmp_path / "idx"), None)
    assert split_image_folder(str(tmp_path / "imgs"), "x") == (str(tmp_path / "imgs"), "x")


def test_image_folder_env_is_restored(monkeypatch, tmp_path):
    monkeypatch.delenv("MRP_CIFAR10_JPEG_DIR", raising=False)
    with image_folder_env(str(tmp_path)):
        assert os.environ["MRP_CIFAR10_JPEG_DIR"] == str(tmp_path.resolve())
    assert "MRP_CIFAR10_JPEG_DIR" not in os.environ


def test_reproduce_measures_a_cifar_row_from_the_sample(cifar_sample, monkeypatch, tmp_path):
    """The alignment row on the shared sample, pooled 8x (D = 48), one mask ratio, to keep the test short."""
    import mrptheory.experiments.alignment.natural_claims as rd

    sample, cache = cifar_sample
    monkeypatch.setenv("MRP_CACHE_DIR", str(cache))
    monkeypatch.delenv("MRP_CIFAR10_DIR", raising=False)
    monkeypatch.delenv("MRP_CIFAR10_JPEG_DIR", raising=False)
    monkeypatch.setitem(rd.NATURAL_ALIGNMENT_POOL, "quick", 8)
    monkeypatch.setattr("mrptheory.experiments.alignment.claims.QUICK_RATIOS", (0.55,))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["reproduce", "--quick", "--only", "bl-masking-effect-varies-cifar10",
                                       "--data-root", str(sample), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "claims.json").read_text())["claims"]  # every registered claim
    row = next(r for r in rows if r["claim_id"] == "bl-masking-effect-varies-cifar10")
    assert row["verdict"] in ("confirmed", "refuted", "inconclusive"), row["measured"]
    assert "CIFAR-10 JPEG image folder, 10000 train / 5000 test images" in row["conditions"]
    assert "largest rise per patch" in row["measured"]
    assert (out / "alignment" / "alignment_cifar10-jpeg_claims_quick.png").is_file()  # per experiment
    assert "MRP_CIFAR10_JPEG_DIR" not in os.environ
