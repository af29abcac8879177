"""``mrp dry-run``: for every paper-scale preset, the memory per job, the number of jobs and the
device-hours are printed, and nothing is run or written."""

from __future__ import annotations

import os
import re

import torch
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.commands.dry_run_plans import paper_presets, vit_train_flops
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
