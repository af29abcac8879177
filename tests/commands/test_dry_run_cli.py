"""``mrp dry-run``: for every paper-scale preset, the memory per job, the number of jobs and the
device-hours are printed, and nothing is run or written."""

from __future__ import annotations

import os
import re

import torch
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.experiments.mae.dry_run import vit_train_flops
from mrptheory.presets import paper_presets
from mrptheory.presets import presets_root
from tests.cli_checks import refused


def test_every_paper_preset_prints_its_estimates_and_writes_nothing(tmp_path):
    presets = paper_presets()
    assert {"multiview/paper_regime_large", "mae/paper_vit_s16_224",
            "subspace/paper_tinyimagenet"} <= set(presets)
    before = sorted(p for p in presets_root().rglob("*"))
    threads = torch.get_num_threads()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["dry-run", "--all", "--device", "cpu"])
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    for name in presets:
        start = result.output.index(f"{name}: ")
        block = result.output[start:].split("nothing was run (dry run)")[0]
        assert re.search(r"memory per job\s+[\d.]+ [KMGT]i?B", block), block
        assert re.search(r"jobs\s+[1-9]\d*\n", block), block
        assert re.search(r"device-hours\s+[\d,.]+( to [\d,.]+)? \(", block), block
        assert re.search(r"time per step\s+[\d.e+-]+ s \(measured: .* scaled by", block), block
    assert "lr = base lr 0.00015 x 1024 / 256 = 0.0006 (the MAE reference rule)" in result.output
    assert list(tmp_path.iterdir()) == []  # no result, store or figure
    assert sorted(p for p in presets_root().rglob("*")) == before


def test_unknown_preset_is_one_line():
    line = refused("dry-run", "multiview/nope")
    assert "paper presets: " in line and "multiview/paper_regime_large" in line


def test_vit_flops_follow_the_token_count():
    """Masking 75% of the 196 patches leaves the encoder 49 + 1 tokens instead of 196 + 1 (the
    decoder sees all of them either way): the FLOPs differ by exactly the encoder blocks' and the
    decoder embedding's share; doubling the batch doubles the step."""
    from mrptheory.experiments.mae.model import MAEConfig

    base = dict(image_shape=(3, 224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6,
                decoder_embed_dim=512, mlp_ratio=4.0)
    full = vit_train_flops(MAEConfig(**base, method="ae"), 1)
    masked = vit_train_flops(MAEConfig(**base, method="mae", mask_ratio=0.75), 1)

    def encoder(t: int) -> float:
        return 12 * (2 * t * 12 * 384 ** 2 + 4 * t * t * 384)

    expected = 3 * (encoder(197) - encoder(50) + 2 * (197 - 50) * 384 * 512)
    assert abs((full - masked) - expected) <= 1e-9 * expected
    assert vit_train_flops(MAEConfig(**base, method="ae"), 2) == 2 * full


def _dry(*args: str):
    threads = torch.get_num_threads()
    try:
        return CliRunner().invoke(main, [*args, "--dry-run", "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)


def test_the_flag_of_each_command_plans_its_own_options_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    regime = _dry("multiview", "regime", "--quick", "--map", "mu_d", "--k", "3", "--out", str(out))
    assert regime.exit_code == 0, regime.output
    assert "multiview/theory: multi-view regime map(s) mu_d (quick grid) at k=3" in regime.output  # its default preset
    assert re.search(r"jobs\s+6\n", regime.output)  # the quick mu x d grid: 3 x 2 cells
    sub = _dry("subspace", "--archs", "mlp", "--cuts", "0.5", "--seeds", "2", "--out", str(out))
    assert sub.exit_code == 0, sub.output
    assert re.search(r"jobs\s+4\n", sub.output)  # 1 cut x 2 parts x 2 seeds
    assert not out.exists()


def test_a_preset_reaches_its_command_whole(tmp_path):
    """The preset's own choices (the map, the seeds per cell, the launch's processes) reach the
    command: `mrp multiview regime --preset paper_regime_large` runs the leak/gap map only."""
    regime = _dry("multiview", "regime", "--preset", "paper_regime_large")
    assert regime.exit_code == 0, regime.output
    assert "map(s) leak_gap at k=50, d=500, P=12, 8 seeds per cell" in regime.output
    # a --config file's [dry_run] table: an image folder's shape and the launch
    (tmp_path / "mae").mkdir()
    path = tmp_path / "mae" / "vit.toml"  # mrp dry-run FILE: the folder names the experiment
    path.write_text('dataset = "folder"\nembed_dim = 64\ndepth = 2\nnum_heads = 2\n'
                    'patch_size = 16\nbatch_size = 16\nblr = 1e-4\ntrain_samples = 1000\n'
                    '[dry_run]\nimage_shape = [3, 96, 96]\nclasses = 10\nprocesses = 2\n')
    mae = _dry("mae", "pretrain", "--config", str(path))
    assert mae.exit_code == 0, mae.output
    assert f"{path}: MAE ViT (64 wide, depth 2, patch 16) on 1,000 images of (3, 96, 96)" \
        in mae.output
    assert "effective batch 32 = 16 per process x 2 processes" in mae.output
    via = CliRunner().invoke(main, ["dry-run", str(path), "--device", "cpu"])
    assert via.exit_code == 0 and "on 1,000 images of (3, 96, 96)" in via.output, via.output


def test_what_a_dry_run_cannot_know_is_asked_for_in_one_line():
    line = refused("mae", "pretrain", "--dataset", "folder", "--dry-run")
    assert "image_shape = [C, H, W]" in line and "[dry_run] table" in line
    line = refused("subspace", "--budget-train-sizes", "0", "--dry-run")
    assert "train_images = N" in line


def test_huge_planned_sizes_are_planned_or_refused_in_one_line_never_allocated():
    """A dry run times a reduced step, never the planned one: a ResNet-9 of width 4096 (500 GB
    of training memory) is counted on the meta device and planned; a ViT block of width 65536,
    which the timed step would hold, and a multi-view size without a step budget are refused
    in one line."""
    wide = _dry("subspace", "--archs", "resnet9", "--resnet-width", "4096", "--cuts", "0.5",
                "--seeds", "1")
    assert wide.exit_code == 0, wide.output
    assert re.search(r"memory per job\s+\d+ GiB", wide.output)
    line = refused("mae", "pretrain", "--embed-dim", "65536", "--num-heads", "16", "--dry-run")
    assert "timing one block of width 65536" in line
    line = refused("multiview", "regime", "--map", "leak_gap", "--k", "100000", "--d", "1000000",
                   "--dry-run")
    assert "no step budget" in line
