"""Exercise every CUDA path of the package once, check it against the CPU, print throughput.

Run as ``bash benchmarks/gpu_check.sh`` on a machine with one GPU (about 2-4 minutes; the CPU
references take most of it). Exit status: 0 every check passed, 1 a check failed (each failure
is one ``FAIL`` line with the numbers), 2 no CUDA device (nothing was checked).

Checks and their tolerances (fixed before any GPU run; why each):

1. Multi-view SL and MRP, seeds batched (``run_compare``, explicit steps). The data, kernels and
   masks come from generators that live on the device, so the CPU and the GPU runs see different
   random draws: the check is statistical. 8 seeds = 80 classes / 160 features; the SL one-view
   fraction, the lottery hit rate, MRP's captured-feature fraction and the four accuracies must
   agree within 0.15 (about 3 binomial standard deviations of a difference of two independent
   80-class fractions near 0.8).
2. MAE family, AdamW, 2 epochs of a tiny ViT (``train.mae.train``). Data order comes from a CPU
   generator and the initialisation is built on the CPU, so an autoencoder without masking
   (``ae``) is the same computation on both devices: float32 on the GPU must match the CPU's
   per-epoch train loss within 1e-3 relative (only the order of float sums differs), bfloat16
   autocast within 5e-2 (bf16 keeps 8 mantissa bits, 0.4% per rounding; the loss accumulates in
   float32). MAE (masked) with bf16 autocast draws its masks on the device: its final train loss
   must be finite and within 15% of the CPU's.
3. ResNet-9 (the projection experiment's classifier). cuDNN convolutions may use TF32 (10
   mantissa bits): one forward/backward on the same weights and batch must give logits and
   gradients within 1e-2 relative (of their largest magnitude) of the CPU's; a short training
   run on a separable synthetic task must reach a test accuracy within 0.05 of the CPU's (the
   batch order comes from a device generator, so the runs differ in order).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

FAILURES: list[str] = []


def check(ok: bool, what: str, detail: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}: {detail}")
    if not ok:
        FAILURES.append(what)


def multiview(cuda: torch.device) -> None:
    from mrptheory.experiments.multiview import MRPConfig, SLConfig
    from mrptheory.experiments.multiview.data import MultiViewConfig
    from mrptheory.experiments.multiview.experiment import compare_summary, run_compare

    print("multi-view SL / MRP (8 seeds batched, 600 SL and 600 MRP steps)")
    data = MultiViewConfig()
    sl, mrp = SLConfig(steps=600), MRPConfig(steps=600)
    seeds = list(range(8))
    out = {}
    for side, dev in (("cpu", torch.device("cpu")), ("cuda", cuda)):
        res = run_compare(data, sl, mrp, seeds, device=dev, show_progress=False)
        out[side] = (compare_summary(res), res.sl.seconds, res.mrp.seconds)
        print(f"  {side}: SL {600 * len(seeds) / res.sl.seconds:,.0f} seed-steps/s, "
              f"MRP {600 * len(seeds) / res.mrp.seconds:,.0f} seed-steps/s")
    a, b = out["cpu"][0], out["cuda"][0]
    for key in ("sl_frac_classes_one_view", "lottery_hit_rate", "mrp_frac_features_captured"):
        d = abs(a[key]["mean"] - b[key]["mean"])
        check(d <= 0.15, key, f"cpu {a[key]['mean']:.3f} cuda {b[key]['mean']:.3f} (|diff| "
                              f"{d:.3f} <= 0.15)")
    for method in ("SL", "MRP fine-tuned"):
        for test in ("multi", "single"):
            x, y = a["acc"][method][test]["mean"], b["acc"][method][test]["mean"]
            check(abs(x - y) <= 0.15, f"{method} {test}-view accuracy",
                  f"cpu {x:.3f} cuda {y:.3f} (|diff| {abs(x - y):.3f} <= 0.15)")


def mae(cuda: torch.device) -> None:
    from mrptheory.experiments.mae.model import MAEConfig
    from mrptheory.experiments.mae.training import MAETrainConfig, small_dataset, train

    print("MAE family (tiny ViT, 2 epochs, AdamW)")
    splits = small_dataset(512, 128, shape=(1, 16, 16), num_classes=3)

    def cfg(method: str, device: str, amp: bool) -> MAETrainConfig:
        model = MAEConfig(image_shape=(1, 16, 16), patch_size=4, embed_dim=64, depth=2,
                          num_heads=4, decoder_embed_dim=32, method=method,
                          mask_ratio=0.75 if method == "mae" else 0.0, num_classes=3)
        return MAETrainConfig(model=model, epochs=2, batch_size=64, lr=1e-3, train_samples=None,
                              test_samples=None, probe_train_samples=256, eval_every=0,
                              device=device, amp=amp)

    runs = {}
    gpu = str(cuda)
    for name, method, dev, amp in (("ae cpu", "ae", "cpu", False), ("ae cuda fp32", "ae", gpu, False),
                                   ("ae cuda bf16", "ae", gpu, True),
                                   ("mae cpu", "mae", "cpu", False),
                                   ("mae cuda bf16", "mae", gpu, True)):
        res = train(cfg(method, dev, amp), splits, None, show_progress=False)
        runs[name] = res
        print(f"  {name}: {res.timing['images_per_s']:,.0f} images/s, train loss "
              f"{[round(v, 5) for v in res.history['train_loss']]}")
    ref = np.array(runs["ae cpu"].history["train_loss"])
    for name, tol in (("ae cuda fp32", 1e-3), ("ae cuda bf16", 5e-2)):
        got = np.array(runs[name].history["train_loss"])
        rel = float(np.max(np.abs(got - ref) / np.abs(ref)))
        check(rel <= tol, f"{name} train loss vs cpu", f"max rel. diff {rel:.2e} <= {tol:g}")
    a, b = runs["mae cpu"].history["train_loss"][-1], runs["mae cuda bf16"].history["train_loss"][-1]
    rel = abs(a - b) / abs(a)
    check(math.isfinite(b) and rel <= 0.15, "mae cuda bf16 final train loss vs cpu",
          f"cpu {a:.4f} cuda {b:.4f} (rel. diff {rel:.3f} <= 0.15; masks differ by device)")


def resnet(cuda: torch.device) -> None:
    from mrptheory.nets.classifiers import build_classifier
    from mrptheory.seeding import seed_everything
    from mrptheory.nets.supervised import ClassifierTrainConfig, train_classifier

    print("ResNet-9 (projection classifier, width 32, 32 x 32 RGB)")
    seed_everything(0)
    net = build_classifier("resnet9", (3, 32, 32), 10, width=32)
    x = torch.randn(64, 3, 32, 32)
    y = torch.randint(0, 10, (64,))
    grads, logits = {}, {}
    for side, dev in (("cpu", torch.device("cpu")), ("cuda", cuda)):
        model = net.to(dev)
        model.zero_grad()
        out = model(x.to(dev))
        torch.nn.functional.cross_entropy(out, y.to(dev)).backward()
        logits[side] = out.detach().cpu()
        grads[side] = torch.cat([p.grad.flatten().cpu() for p in model.parameters()])
    for what, t in (("logits", logits), ("gradients", grads)):
        rel = float((t["cpu"] - t["cuda"]).abs().max() / t["cpu"].abs().max())
        check(rel <= 1e-2, f"ResNet-9 {what} vs cpu", f"max diff / max |value| {rel:.2e} <= 1e-2")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2560)
    images = rng.normal(0, 1, (2560, 3, 32, 32)).astype(np.float32)
    for i, c in enumerate(labels):  # class c: a bright band in channel c % 3, rows by c // 3
        images[i, c % 3, (c // 3) * 8:(c // 3) * 8 + 8, :] += 1.5
    acc = {}
    for dev in ("cpu", str(cuda)):
        seed_everything(0)
        model = build_classifier("resnet9", (3, 32, 32), 10, width=32)
        t0 = time.perf_counter()
        res = train_classifier(model, images[:2048], labels[:2048], images[2048:], labels[2048:],
                               ClassifierTrainConfig(epochs=3, batch_size=256), device=dev,
                               show_progress=False)
        acc[dev] = res.test_accuracy
        print(f"  {dev}: test accuracy {res.test_accuracy:.3f}, "
              f"{3 * 2048 / (time.perf_counter() - t0):,.0f} training images/s")
    a, b = acc["cpu"], acc[str(cuda)]
    check(abs(a - b) <= 0.05, "ResNet-9 test accuracy vs cpu",
          f"cpu {a:.3f} cuda {b:.3f} (|diff| <= 0.05)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["multiview", "mae", "resnet"], action="append",
                        help="Run only these checks (repeatable) [default: all].")
    parser.add_argument("--against", default="cuda", help=argparse.SUPPRESS)  # self-test: cpu
    args = parser.parse_args(argv)
    if args.against == "cpu":  # the script's own test: every check, CPU against CPU
        print("gpu_check self-test: the 'cuda' side runs on the CPU (checks the script only)")
        return _run(torch.device("cpu"), args.only)
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device (torch.cuda.is_available() is False, torch "
              f"{torch.__version__}): nothing was checked; run it on a machine with a GPU and a "
              "CUDA build of torch", file=sys.stderr)
        return 2
    cuda = torch.device("cuda")
    print(f"gpu_check on {torch.cuda.get_device_name(cuda)}, torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}")
    return _run(cuda, args.only)


def _run(cuda: torch.device, only: list[str] | None) -> int:
    start = time.perf_counter()
    for name, fn in (("multiview", multiview), ("mae", mae), ("resnet", resnet)):
        if not only or name in only:
            fn(cuda)
    print(f"{len(FAILURES)} check(s) failed" if FAILURES else "every check passed",
          f"({time.perf_counter() - start:.0f} s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
