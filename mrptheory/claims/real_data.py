"""Claims on real data: the projection experiment and the learned-last dynamics.

Balestriero & LeCun (2024, arXiv 2402.11337):
* "bottom 20% of the variance classifies at least as well as the top 90%" (TinyImageNet:
  55% vs 45%), checked per data set with the same classifier on both projections;
* "the features for perception are learned last": gradient descent on a (deep) linear
  autoencoder learns eigen-directions in order of decreasing eigenvalue (Saxe et al. 2014 give the
  closed forms), and the label information of the learned directions keeps arriving after the
  reconstruction has mostly converged.

Natural images: the CIFAR-10 rows (``...-cifar10``) read CIFAR-10's python pickles when found
(``$MRP_CIFAR10_DIR``), else a CIFAR-10 image folder or archive (``cifar10-jpeg``:
``$MRP_CIFAR10_JPEG_DIR``, which ``mrp reproduce --image-folder PATH`` -- or a ``--data-root`` that is
an image folder -- sets); each row names the source and its size, and reads "not run" when neither
is present (:func:`natural_image_splits`).

Expectations and tolerances are module constants, fixed before any measurement.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from mrptheory.claims.registry import (ClaimContext, ClaimResult, Measurement, Verdict,
                                       register_claim)
from mrptheory.errors import CorruptDatasetError, DatasetNotFoundError

PAPER = "Balestriero & LeCun 2024"
PAPER_DYN = "Balestriero & LeCun 2024; Saxe et al. 2014"

#: Floor of the tolerance of the projection claim (accuracy points as a fraction).
PROJECTION_TOL_FLOOR = 0.005
#: Spearman(eigenvalue, time to 50%) at or below this confirms the learning order.
ORDER_CONFIRM = -0.9
#: Above this (for any model) the order claim is refuted.
ORDER_REFUTE = -0.5
#: Measured vs closed-form per-direction reconstruction: median and 90th-percentile tolerances.
MATCH_MEDIAN_TOL = 0.05
MATCH_P90_TOL = 0.15
#: Probe-on-learned-directions gap closed when reconstruction has closed 90% of its gap.
PROBE_LAG_CONFIRM = 0.88
PROBE_LAG_REFUTE = 0.92

PROJECTION_DATASETS = ("fashion-mnist", "mnist", "cifar10", "cifar100", "svhn", "tinyimagenet")

#: ResNet-9 base width of the claim runs: 8 fits 2 CPU cores (about 500 train images/s on one
#: thread at 28x28); the paper's is 64 (``mrp subspace --preset gpu``).
RESNET_CLAIM_WIDTH = 8
#: A side whose mean accuracy is below chance (1/classes) + this did not train: a comparison
#: between untrained classifiers says nothing, so it is inconclusive (a sanity rule, not a
#: tolerance: a first quick ResNet-9 run with 12 optimiser steps sat at 10-11% on both sides).
TRAINED_MARGIN = 0.05


#: The data set of the natural-image rows.
NATURAL = "cifar10"


def natural_image_splits(ctx: ClaimContext | None = None):
    """``(splits, source)`` of CIFAR-10 for the natural-image rows: the python pickles
    (``cifar10``) when found, else the image folder or archive ``cifar10-jpeg``; ``source`` is
    the registry name read. DatasetNotFoundError (one line) when neither is present."""
    from mrptheory.data.registry import env_var, load_dataset

    try:
        return load_dataset("cifar10"), "cifar10"
    except DatasetNotFoundError:
        pass
    try:
        return load_dataset("cifar10-jpeg"), "cifar10-jpeg"
    except DatasetNotFoundError:
        raise DatasetNotFoundError(
            f"no CIFAR-10: neither the python pickles (${env_var('cifar10')}) nor a CIFAR-10 image "
            f"folder or archive (mrp reproduce --image-folder PATH, or ${env_var('cifar10-jpeg')})"
        ) from None


def describe_source(splits, source: str) -> str:
    """``"CIFAR-10 JPEG image folder, 10000 train / 5000 test images of 3x32x32"``."""
    title = {"cifar10": "CIFAR-10 python pickles",
             "cifar10-jpeg": "CIFAR-10 JPEG image folder"}.get(source, source)
    c, h, w = splits.train.image_shape
    return f"{title}, {len(splits.train)} train / {len(splits.test)} test images of {c}x{h}x{w}"


def _load_claim_data(dataset: str, ctx: ClaimContext):
    """``(splits, source)`` of a claim's data set (Fashion-MNIST from ``--data-root``)."""
    from mrptheory.data.registry import load_dataset

    if dataset == NATURAL:
        return natural_image_splits(ctx)
    return load_dataset(dataset, ctx.data_root if dataset == "fashion-mnist" else None), dataset


def _projection_config(dataset: str, ctx: ClaimContext, arch: str = "mlp"):
    from mrptheory.train.projection import ProjectionConfig

    if dataset == NATURAL:
        return _natural_projection_config(ctx, arch)
    if arch == "resnet9":
        if ctx.quick:  # batch 128 (paper: 512) so 2,000 images give 64 optimiser steps
            return ProjectionConfig(dataset=dataset, cuts=(0.8, 0.9), archs=("resnet9",),
                                    seeds=(ctx.seed, ctx.seed + 1), train_size=2000,
                                    test_size=2000, epochs=4, batch_size=128,
                                    resnet_width=RESNET_CLAIM_WIDTH, examples=0)
        return ProjectionConfig(dataset=dataset, cuts=(0.8, 0.9), archs=("resnet9",),
                                seeds=tuple(range(ctx.seed, ctx.seed + 3)), train_size=10000,
                                test_size=None, epochs=10, resnet_width=RESNET_CLAIM_WIDTH,
                                examples=0)
    if ctx.quick:
        return ProjectionConfig(dataset=dataset, cuts=(0.8, 0.9), archs=("mlp",),
                                seeds=(ctx.seed, ctx.seed + 1, ctx.seed + 2), train_size=10000,
                                test_size=5000, epochs=4, examples=0)
    return ProjectionConfig(dataset=dataset, cuts=(0.8, 0.9), archs=("mlp",),
                            seeds=tuple(range(ctx.seed, ctx.seed + 3)), train_size=None,
                            test_size=None, epochs=15, examples=0)


def _natural_projection_config(ctx: ClaimContext, arch: str):
    """CIFAR-10: the 10k train images, 5k test images. Quick: ResNet-9 at base width
    ``RESNET_CLAIM_WIDTH`` for 2 epochs (batch 128: 156 optimiser steps), two seeds (the fewest
    the judge's noise floor needs); MLP 4 epochs, three seeds. Full: the paper's 50 epochs at
    batch 512, three seeds (ResNet-9 still at base width 8 and without augmentation on CPU)."""
    from mrptheory.train.projection import ProjectionConfig

    seeds = (ctx.seed, ctx.seed + 1) if ctx.quick and arch == "resnet9" else \
        tuple(range(ctx.seed, ctx.seed + 3))
    if ctx.quick:
        epochs, batch = (2, 128) if arch == "resnet9" else (4, 512)
    else:
        epochs, batch = 50, 512
    return ProjectionConfig(dataset=NATURAL, cuts=(0.8, 0.9), archs=(arch,), seeds=seeds,
                            train_size=10000, test_size=5000, epochs=epochs, batch_size=batch,
                            resnet_width=RESNET_CLAIM_WIDTH, examples=0)


PROJECTION_EXPECTATION = (
    "mean test accuracy on the bottom-20% projection >= mean on the top-90% projection minus "
    f"tol, tol = max(2 x standard error of the difference over seeds, "
    f"{100 * PROJECTION_TOL_FLOOR:.1f} pt): seed-to-seed spread is the noise floor of a "
    "comparison of two trained networks; below -tol refuted; inconclusive when neither side "
    f"beats chance by {100 * TRAINED_MARGIN:.0f} pt (the classifiers did not train)"
)


def judge_projection(m: Measurement) -> ClaimResult:
    """Values: ``headline`` (train.projection.headline: ``top90_mean``, ``bottom20_mean``,
    ``difference``, ``se_difference``, ``n_seeds``; None when no seed finished), ``chance``
    (1 / classes), ``summary`` (train.projection summary rows: ``part`` "top"/"bottom",
    ``dims``, ``variance_share``) and ``config`` (saved)."""
    expectation, conditions = PROJECTION_EXPECTATION, m.conditions
    if m.not_run:
        return ClaimResult(measured=f"not run: {m.not_run}", expectation=expectation,
                           verdict=Verdict.INCONCLUSIVE, conditions=conditions)
    v = m.values
    h = v["headline"]
    if h is None or h["n_seeds"] < 2:
        return ClaimResult(measured="fewer than two seeds finished", expectation=expectation,
                           verdict=Verdict.INCONCLUSIVE, conditions=conditions)
    tol = max(2 * h["se_difference"], PROJECTION_TOL_FLOOR)
    chance = v["chance"]
    trained = max(h["top90_mean"], h["bottom20_mean"]) >= chance + TRAINED_MARGIN
    if not trained:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.CONFIRMED if h["difference"] >= -tol else Verdict.REFUTED
    dims = {r["part"]: (r["dims"], r["variance_share"]) for r in v["summary"]}
    measured = (f"top-90% ({dims['top'][0]} dims, {100 * dims['top'][1]:.1f}% var): "
                f"{100 * h['top90_mean']:.2f}%; bottom-20% ({dims['bottom'][0]} dims, "
                f"{100 * dims['bottom'][1]:.1f}% var): {100 * h['bottom20_mean']:.2f}%; "
                f"difference {100 * h['difference']:+.2f} pt, tol {100 * tol:.2f} pt"
                + ("" if trained else f"; neither side beats chance ({100 * chance:.0f}%) by "
                   f"{100 * TRAINED_MARGIN:.0f} pt: not trained"))
    return ClaimResult(measured=measured, expectation=expectation, verdict=verdict,
                       details={"headline": h, "tol": tol, "summary": v["summary"],
                                "config": v["config"]},
                       conditions=conditions)


def measure_projection(dataset: str, ctx: ClaimContext, arch: str = "mlp") -> Measurement:
    """Train ``arch`` on top-90% and bottom-20% projections over seeds (mean accuracies)."""
    from mrptheory.device import resolve_device
    from mrptheory.train.projection import (HEADLINE_BOTTOM_CUT, HEADLINE_TOP_CUT, headline,
                                            run_projection_sweep)

    config = _projection_config(dataset, ctx, arch)
    try:
        splits, source = _load_claim_data(dataset, ctx)
    except (DatasetNotFoundError, CorruptDatasetError) as exc:
        return Measurement(conditions=f"{dataset}, {arch}", not_run=str(exc))
    config.dataset = source
    where = describe_source(splits, source) if dataset == NATURAL else dataset
    model = (f"MLP (4 layers, width <= {config.mlp_max_width})" if arch == "mlp" else
             f"ResNet-9 (the paper's architecture) at base width {config.resnet_width} (paper: 64), "
             "no augmentation (paper: with)")
    conditions = (f"{where}, {model}, "
                  f"{config.epochs} epochs, batch {config.batch_size}, train images {config.train_size or 'all'}, "
                  f"test images {config.test_size or 'all'}, seeds {list(config.seeds)}, "
                  "authors' preprocessing" + (", quick mode: fewer epochs and seeds than the "
                                               "paper's 50 epochs" if ctx.quick else ""))
    units = [(arch, "top", HEADLINE_TOP_CUT, s) for s in config.seeds]
    units += [(arch, "bottom", HEADLINE_BOTTOM_CUT, s) for s in config.seeds]
    payload = run_projection_sweep(splits, config, ctx.out_dir,
                                   device=str(resolve_device(ctx.device)),
                                   show_progress=ctx.progress, threads=1, units=units,
                                   tag=f"claim_subspace_{source}" + ("" if arch == "mlp" else f"_{arch}"))
    if dataset == NATURAL:
        from mrptheory.plots.real_data import plot_subspace_accuracy

        plot_subspace_accuracy(payload, ctx.out_dir)
    h = headline(payload["records"], arch)
    chance = 1.0 / max(len(splits.train.class_names), int(splits.train.labels.max()) + 1)
    return Measurement({"headline": h, "chance": chance,
                        "summary": payload["summary"], "config": asdict(config)}, conditions)


def check_projection(dataset: str, ctx: ClaimContext, arch: str = "mlp") -> ClaimResult:
    """Measure and judge the projection claim for ``dataset`` and ``arch``."""
    return judge_projection(measure_projection(dataset, ctx, arch))


def _register_bound(claim_id: str, judge, statement: str, measure_fn, **bound) -> None:
    """Register ``claim_id`` whose measurement is ``measure_fn(ctx=ctx, **bound)`` (one claim per
    data set / architecture from one measuring function)."""
    def measure(ctx: ClaimContext) -> Measurement:
        return measure_fn(ctx=ctx, **bound)

    measure.__qualname__ = f"measure_{claim_id.replace('-', '_')}"
    register_claim(claim_id, paper=PAPER, judge=judge, statement=statement)(measure)


def _register_projection(dataset: str, arch: str) -> None:
    suffix = "" if arch == "mlp" else f"-{arch}"
    model = "an MLP" if arch == "mlp" else "ResNet-9 (the paper's architecture)"
    _register_bound(
        f"real-data-bottom20-vs-top90-{dataset}{suffix}", judge_projection,
        f"{dataset}, {model}: a classifier on the bottom subspace holding 20% of the pixel "
        "variance is at least as accurate as one on the top subspace holding 90% (paper, "
        "TinyImageNet: 55% vs 45%)", measure_projection, dataset=dataset, arch=arch)


for _name in PROJECTION_DATASETS:
    _register_projection(_name, "resnet9")
    _register_projection(_name, "mlp")


# ---------------------------------------------------------------- budget curve

#: The budget-curve claim: the bottom-20% minus top-90% accuracy difference must grow from the
#: smallest to the largest train-set size by more than max(2 SE, this floor) to confirm.
BUDGET_TOL_FLOOR = 0.005


def _budget_config(ctx: ClaimContext):
    from mrptheory.train.projection_budget import BudgetConfig

    seeds = (ctx.seed, ctx.seed + 1)
    if ctx.quick:
        return BudgetConfig(archs=("mlp",), train_sizes=(2000, 6000, 18000), epochs=(5,),
                            seeds=seeds, test_size=5000)
    return BudgetConfig(archs=("mlp", "resnet9"), train_sizes=(2000, 10000, 60000), epochs=(10,),
                        seeds=seeds, test_size=None, resnet_width=RESNET_CLAIM_WIDTH)


BUDGET_EXPECTATION = (
    "for every architecture, d(n) = mean bottom-20% minus mean top-90% test accuracy rises "
    "from the smallest to the largest train-set size by more than tol, tol = max(2 x standard "
    f"error of that change over seeds, {100 * BUDGET_TOL_FLOOR:.1f} pt): the seed spread is the "
    "noise floor of trained networks; a fall by more than tol for any architecture refutes; "
    "otherwise inconclusive. The crossover (sign change of d) is reported, not required. "
    f"Sizes where neither side beats chance by {100 * TRAINED_MARGIN:.0f} pt (not trained) "
    "are left out"
)


def combine_verdicts(verdicts: list[Verdict]) -> Verdict:
    """One verdict from per-architecture ones: any refuted refutes, all confirmed confirm,
    anything else (or none) is inconclusive."""
    if any(v is Verdict.REFUTED for v in verdicts):
        return Verdict.REFUTED
    if verdicts and all(v is Verdict.CONFIRMED for v in verdicts):
        return Verdict.CONFIRMED
    return Verdict.INCONCLUSIVE


def judge_budget(m: Measurement) -> ClaimResult:
    """Budget curve: (bottom - top) at the largest train size minus at the smallest, per arch.

    Values: ``archs``, ``epochs`` (the epoch count judged), ``chance`` (1 / classes),
    ``summary`` (rows per arch, epochs, train_size: ``top90_mean``, ``bottom20_mean``,
    ``difference``, ``se_difference``, ``n_seeds``), ``crossovers`` (per arch and epochs:
    ``crossover_size`` or None, ``winner``) and ``config`` (saved)."""
    expectation = BUDGET_EXPECTATION
    if m.not_run:
        return ClaimResult(measured=f"not run: {m.not_run}", expectation=expectation,
                           verdict=Verdict.INCONCLUSIVE, conditions=m.conditions)
    v = m.values
    epochs, chance = v["epochs"], v["chance"]
    verdicts, parts = [], []
    for arch in v["archs"]:
        rows = sorted((r for r in v["summary"] if r["arch"] == arch and r["epochs"] == epochs
                       and max(r["top90_mean"], r["bottom20_mean"]) >= chance + TRAINED_MARGIN),
                      key=lambda r: r["train_size"])
        if len(rows) < 2 or min(r["n_seeds"] for r in rows) < 2:
            verdicts.append(Verdict.INCONCLUSIVE)
            parts.append(f"{arch}: fewer than two trained sizes x two seeds")
            continue
        lo, hi = rows[0], rows[-1]
        change = hi["difference"] - lo["difference"]
        tol = max(2 * float(np.hypot(lo["se_difference"], hi["se_difference"])), BUDGET_TOL_FLOOR)
        verdicts.append(Verdict.CONFIRMED if change > tol else
                        Verdict.REFUTED if change < -tol else Verdict.INCONCLUSIVE)
        cross = next(c for c in v["crossovers"] if c["arch"] == arch and c["epochs"] == epochs)
        where = (f"crossover near n = {cross['crossover_size']:.0f}" if cross["crossover_size"]
                 else f"no crossover ({cross['winner']} wins at every size)")
        parts.append(f"{arch}: bottom - top " + ", ".join(
            f"{100 * r['difference']:+.2f} (n={r['train_size']})" for r in rows)
            + f" pt; change {100 * change:+.2f} pt, tol {100 * tol:.2f}; {where}")
    verdict = combine_verdicts(verdicts)
    return ClaimResult(measured="; ".join(parts), expectation=expectation, verdict=verdict,
                       details={"summary": v["summary"], "crossovers": v["crossovers"],
                                "config": v["config"]},
                       conditions=m.conditions)


def _natural_budget_config(ctx: ClaimContext, n_train: int):
    """CIFAR-10 budget curve: train sizes 1k, 3k, 10k (and 30k, 50k when the pickles hold them).
    Quick: MLP, 5 epochs; full: MLP and ResNet-9 (base width 8), the paper's 50 epochs."""
    from mrptheory.train.projection_budget import BudgetConfig

    sizes = tuple(n for n in (1000, 3000, 10000, 30000, 50000) if n <= n_train)
    if ctx.quick:
        return BudgetConfig(dataset=NATURAL, archs=("mlp",), train_sizes=sizes, epochs=(5,),
                            seeds=(ctx.seed, ctx.seed + 1), test_size=5000)
    return BudgetConfig(dataset=NATURAL, archs=("mlp", "resnet9"), train_sizes=sizes,
                        epochs=(50,), seeds=(ctx.seed, ctx.seed + 1), test_size=5000,
                        resnet_width=RESNET_CLAIM_WIDTH)


def measure_budget(dataset: str, ctx: ClaimContext) -> Measurement:
    """Budget curve: the projection comparison at several train-set sizes (figure written)."""
    from mrptheory.device import resolve_device
    from mrptheory.train.projection_budget import run_budget

    try:
        splits, source = _load_claim_data(dataset, ctx)
    except (DatasetNotFoundError, CorruptDatasetError) as exc:
        return Measurement(conditions=dataset, not_run=str(exc))
    config = (_natural_budget_config(ctx, len(splits.train)) if dataset == NATURAL
              else _budget_config(ctx))
    config.dataset = source
    where = describe_source(splits, source) if dataset == NATURAL else dataset
    conditions = (f"{where}, archs {list(config.archs)} (ResNet-9 base width "
                  f"{config.resnet_width}), train sizes {list(config.train_sizes)}, epochs "
                  f"{list(config.epochs)}, seeds {list(config.seeds)}, test images "
                  f"{config.test_size or 'all'}, authors' preprocessing, basis fitted per train size"
                  + ("; quick mode: MLP only" if ctx.quick else ""))
    payload = run_budget(splits, config, ctx.out_dir, device=str(resolve_device(ctx.device)),
                         show_progress=ctx.progress, threads=1,
                         tag=f"claim_subspace_budget_{source}")
    from mrptheory.plots.real_data import plot_subspace_budget

    plot_subspace_budget(payload, ctx.out_dir)
    chance = 1.0 / max(len(splits.train.class_names), int(splits.train.labels.max()) + 1)
    return Measurement({"archs": list(config.archs), "epochs": max(config.epochs),
                        "chance": chance, "summary": payload["summary"],
                        "crossovers": payload["crossovers"], "config": asdict(config)},
                       conditions)


for _name in ("fashion-mnist", NATURAL):
    _register_bound(
        f"real-data-budget-favours-bottom-{_name}", judge_budget,
        f"{_name}: the advantage of the bottom-20% subspace over the top-90% subspace grows with "
        "the training budget (more training images), for each architecture measured -- the "
        "condition under which the paper's ordering can appear", measure_budget, dataset=_name)


def check_budget(ctx: ClaimContext) -> Measurement:
    """The Fashion-MNIST budget curve (kept for callers of the former single claim)."""
    return measure_budget("fashion-mnist", ctx)


# ---------------------------------------------------------------- learned-last dynamics

def _dynamics_config(ctx: ClaimContext, dataset: str = "fashion-mnist"):
    """Quick: 3,000 train images, t_max 2 (two-layer 4), 12 evaluation times. Natural images are
    pooled 4x in quick mode (CIFAR-10: D = 3x8x8 = 192, about Fashion-MNIST's 196 at 2x) and 2x
    in full (D = 768)."""
    from mrptheory.train.linear_dynamics import DynamicsConfig

    pool = {"quick": 4, "full": 2} if dataset == NATURAL else {"quick": 2, "full": 2}
    if ctx.quick:
        return DynamicsConfig(dataset=dataset, train_size=3000, probe_train_size=2000,
                              probe_test_size=1000, t_max=2.0, deep_t_max=4.0, n_eval=12,
                              batch_size=128, seed=ctx.seed, downsample=pool["quick"])
    return DynamicsConfig(dataset=dataset, seed=ctx.seed, downsample=pool["full"])


def dynamics_run(ctx: ClaimContext, dataset: str = "fashion-mnist"
                 ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    """The learned-last run shared by the dynamics claims of ``dataset``, run once per context:
    (payload, summary, conditions). A missing data set raises (the claim is then "not run")."""
    from mrptheory.train.linear_dynamics import dynamics_summary

    payload = dynamics_payload(ctx, dataset)[0]
    c = payload["config"]
    source = payload.get("source", c["dataset"])
    conditions = (f"{source} downsampled x{c['downsample']} "
                  f"(D={int(np.prod(payload['image_shape']))}), {c['train_size']} train images, "
                  f"minibatch {c['batch_size']}, lr = {c['lr_scale']}/(2 lambda_max), one-layer "
                  f"t_max {c['t_max']}, two-layer t_max {c['deep_t_max']} (init {c['init_scale']}),"
                  f" Gaussian sigma {c['sigma']}, mask keep {c['keep']}, seed {c['seed']}")
    return payload, dynamics_summary(payload), conditions


def dynamics_payload(ctx: ClaimContext, dataset: str = "fashion-mnist"):
    """``(payload, splits, config)`` of the shared learned-last run of ``dataset`` (once per
    context; natural images: figures drawn)."""
    from mrptheory.device import resolve_device
    from mrptheory.train.linear_dynamics import run_dynamics

    key = ("real_data.dynamics", dataset, ctx.quick, str(ctx.out_dir), ctx.seed, str(ctx.device),
           str(ctx.data_root))

    def compute():
        splits, source = _load_claim_data(dataset, ctx)
        config = _dynamics_config(ctx, dataset)
        config.dataset = source
        payload = run_dynamics(splits, config, ctx.out_dir,
                               device=str(resolve_device(ctx.device)),
                               show_progress=ctx.progress, threads=1,
                               tag=f"claim_dynamics_{source}")
        payload["source"] = describe_source(splits, source) if dataset == NATURAL else source
        if dataset == NATURAL:
            from mrptheory.plots.real_data import plot_dynamics

            plot_dynamics(payload, ctx.out_dir)
        return payload, splits, config

    return ctx.shared(key, compute)


def _measure_dynamics(ctx: ClaimContext, dataset: str = "fashion-mnist") -> Measurement:
    """The per-model summary of the shared learned-last run (``values["summary"]``)."""
    _, summary, conditions = dynamics_run(ctx, dataset)
    return Measurement({"summary": summary}, conditions)


def _measure_dynamics_natural(ctx: ClaimContext) -> Measurement:
    return _measure_dynamics(ctx, NATURAL)


ORDER_EXPECTATION = (f"Spearman(eigenvalue, measured time to reconstruct 50%) <= {ORDER_CONFIRM} for "
                     "the one-layer and the two-layer AE, over the directions the closed form says "
                     "reach 50% within the run (theory: exactly -1; tolerance 0.1 because "
                     "near-degenerate eigenvalues can swap under minibatch noise and the "
                     f"log-spaced evaluation grid); any > {ORDER_REFUTE} refutes")


def judge_learned_in_order(m: Measurement) -> ClaimResult:
    """Values: ``summary`` (per model: ``spearman``, ``n_compared``, ``median_log_ratio``; the
    one-layer "linear" and two-layer "deep" models are judged)."""
    summary = m.values["summary"]
    vals = {name: summary[name]["spearman"] for name in ("linear", "deep") if name in summary}
    if len(vals) < 2 or any(np.isnan(v) for v in vals.values()):
        verdict = Verdict.INCONCLUSIVE
    elif all(v <= ORDER_CONFIRM for v in vals.values()):
        verdict = Verdict.CONFIRMED
    elif any(v > ORDER_REFUTE for v in vals.values()):
        verdict = Verdict.REFUTED
    else:
        verdict = Verdict.INCONCLUSIVE
    measured = "; ".join(f"{k}: Spearman {v:+.4f} over {summary[k]['n_compared']} directions, "
                         f"median |ln(t50/t50_theory)| {summary[k]['median_log_ratio']:.3f}"
                         for k, v in vals.items())
    return ClaimResult(measured=measured, expectation=ORDER_EXPECTATION, verdict=verdict,
                       details={"summary": summary}, conditions=m.conditions)


LEARNED_IN_ORDER = ("Gradient descent on a linear autoencoder learns the eigen-directions of real "
                    "data in order of decreasing eigenvalue (time to learn ~ 1/lambda), one- and "
                    "two-layer")


def _register_dynamics(claim_id: str, paper: str, judge, statement: str) -> None:
    """Register a dynamics claim on Fashion-MNIST (``claim_id``) and on CIFAR-10
    (``claim_id-cifar10``); both read the shared learned-last run of their data set."""
    register_claim(claim_id, paper=paper, judge=judge, statement=statement)(_measure_dynamics)
    register_claim(f"{claim_id}-{NATURAL}", paper=paper, judge=judge,
                   statement=f"{NATURAL}: {statement}")(_measure_dynamics_natural)


_register_dynamics("real-data-learned-in-order", PAPER_DYN, judge_learned_in_order,
                   LEARNED_IN_ORDER)


MATCH_EXPECTATION = (f"for each model, median |rho_measured - rho_theory| <= {MATCH_MEDIAN_TOL} and "
                     f"90th percentile <= {MATCH_P90_TOL} over all evaluation times and directions "
                     "(rho = fraction of a direction's energy reconstructed). Tolerance: discrete "
                     "steps (lr x 2 lambda_max = 0.5 changes the fastest mode's per-step decay "
                     "from e^-0.5 to 0.5), minibatch and noise sampling vs the expected-loss flow; "
                     f"any median > {2 * MATCH_MEDIAN_TOL} refutes")


def judge_dynamics_match(m: Measurement) -> ClaimResult:
    """Values: ``summary`` (per model: ``median_abs_diff``, ``p90_abs_diff``; four models)."""
    summary = m.values["summary"]
    meds = {k: (s["median_abs_diff"], s["p90_abs_diff"]) for k, s in summary.items()}
    if len(meds) < 4:
        verdict = Verdict.INCONCLUSIVE
    elif all(a <= MATCH_MEDIAN_TOL and b <= MATCH_P90_TOL for a, b in meds.values()):
        verdict = Verdict.CONFIRMED
    elif any(a > 2 * MATCH_MEDIAN_TOL for a, _ in meds.values()):
        verdict = Verdict.REFUTED
    else:
        verdict = Verdict.INCONCLUSIVE
    measured = "; ".join(f"{k}: median {a:.4f}, p90 {b:.4f}" for k, (a, b) in meds.items())
    return ClaimResult(measured=measured, expectation=MATCH_EXPECTATION, verdict=verdict,
                       details={"summary": summary}, conditions=m.conditions)


DYNAMICS_MATCH = ("On real data, minibatch gradient descent follows the closed-form gradient flow "
                  "per eigen-direction: matrix exponential (one-layer AE and DAEs on the expected "
                  "loss) and Saxe et al.'s sigmoids (two-layer AE)")
_register_dynamics("real-data-dynamics-match-theory", PAPER_DYN, judge_dynamics_match,
                   DYNAMICS_MATCH)


PROBE_LAG_EXPECTATION = (f"one-layer AE: probe-accuracy gap closed at t90 < {PROBE_LAG_CONFIRM} "
                         f"(confirmed), > {PROBE_LAG_REFUTE} refuted, in between inconclusive; t90 = "
                         "first evaluation where the reconstruction loss has closed 90% of its drop "
                         "over the run; the +-2-point band covers the probe's test-set noise and the "
                         "coarse log-spaced evaluation grid")


def judge_probe_lags(m: Measurement) -> ClaimResult:
    """Values: ``summary`` (per model: ``probe_closure_at_t90``; for the one-layer "linear"
    model also ``t90_reconstruction``, ``probe_learned_{at_t90,start,final}``)."""
    summary = m.values["summary"]
    s = summary.get("linear")
    if s is None:
        return ClaimResult(measured="one-layer model not run", expectation=PROBE_LAG_EXPECTATION,
                           verdict=Verdict.INCONCLUSIVE, conditions=m.conditions)
    c = s["probe_closure_at_t90"]
    verdict = (Verdict.CONFIRMED if c < PROBE_LAG_CONFIRM else
               Verdict.REFUTED if c > PROBE_LAG_REFUTE else Verdict.INCONCLUSIVE)
    others = "; ".join(f"{k}: {100 * v['probe_closure_at_t90']:.1f}%" for k, v in summary.items()
                       if k != "linear")
    measured = (f"one-layer AE: at t90 = {s['t90_reconstruction']:.3g} the probe on learned "
                f"directions is at {100 * s['probe_learned_at_t90']:.1f}% (start "
                f"{100 * s['probe_learned_start']:.1f}%, end {100 * s['probe_learned_final']:.1f}%)"
                f" = {100 * c:.1f}% of its gap closed (other models: {others})")
    return ClaimResult(measured=measured, expectation=PROBE_LAG_EXPECTATION, verdict=verdict,
                       details={"summary": summary}, conditions=m.conditions)


PROBE_LAGS = ("The package's own variant of 'features for perception are learned last' (the "
              "paper's is real-data-classifier-lags-reconstruction): when a linear AE's "
              "reconstruction error has closed 90% of its gap, the label information (a linear "
              "probe on the directions learned so far) has closed clearly less of its gap")
_register_dynamics("real-data-probe-lags-reconstruction", PAPER, judge_probe_lags, PROBE_LAGS)


# ---------------------------------------------------------------- learned last, trained classifier

#: The paper's "perception is learned last", judged by a trained classifier. Fixed before any
#: measurement: at t90 (the first evaluation time where the reconstruction loss has closed 90% of
#: its gap) the lag is ``r - c``, the reconstruction gap closed minus the classifier's accuracy gap
#: closed. The band is max(2 x the binomial standard error of c, LAG_BAND_FLOOR): the test-set
#: noise of two accuracies divided by the accuracy gap, floored by the linear-probe variant's
#: 2-point band (coarse evaluation grid).
LAG_BAND_FLOOR = 0.02

CLASSIFIER_LAG_EXPECTATION = (
    "for every classifier, at t90 (first evaluation where the reconstruction loss has closed 90% "
    "of its gap) the reconstruction gap closed r minus the classifier's test-accuracy gap closed c "
    f"exceeds the band b = max(2 x binomial standard error of c, {100 * LAG_BAND_FLOOR:.0f} pt): "
    "confirmed; r - c < -b for any classifier refutes; otherwise inconclusive; also inconclusive "
    f"when a classifier's accuracy rises by less than {100 * TRAINED_MARGIN:.0f} pt over the run "
    "(no gap to close)")


def judge_classifier_lag(m: Measurement) -> ClaimResult:
    """Values: ``summary`` (per arch: train.dynamics_classifier.lag_summary rows)."""
    verdicts, parts = [], []
    for arch, s in m.values["summary"].items():
        r, c = s["reconstruction_closed_at_t90"], s["accuracy_closed_at_t90"]
        band = max(2 * s["se_accuracy_closed"], LAG_BAND_FLOOR)
        if s["accuracy_gap"] < TRAINED_MARGIN:
            verdicts.append(Verdict.INCONCLUSIVE)
        else:
            verdicts.append(Verdict.CONFIRMED if r - c > band else
                            Verdict.REFUTED if r - c < -band else Verdict.INCONCLUSIVE)
        parts.append(f"{arch}: at t90 = {s['t90']:.3g} ({s['n_learned_at_t90']} of "
                     f"{s['n_learned_final']} directions learned) reconstruction closed "
                     f"{100 * r:.1f}%, accuracy {100 * s['accuracy_at_t90']:.1f}% (start "
                     f"{100 * s['accuracy_start']:.1f}%, end {100 * s['accuracy_final']:.1f}%) = "
                     f"{100 * c:.1f}% of its gap closed; lag {100 * (r - c):+.1f} pt, band "
                     f"{100 * band:.1f} pt")
    verdict = combine_verdicts(verdicts)
    return ClaimResult(measured="; ".join(parts), expectation=CLASSIFIER_LAG_EXPECTATION,
                       verdict=verdict, details={"summary": m.values["summary"]},
                       conditions=m.conditions)


def _classifier_lag_config(ctx: ClaimContext):
    """Quick: the MLP only, 10 epochs on the run's 3,000 train images, 5,000 test images (the
    accuracy's binomial noise sets the judge's band: 1,000 test images gave a 20-pt band on
    CIFAR-10); full: MLP and ResNet-9 (base width 8), 15 epochs on its 10,000 train images,
    10,000 test images. Batch 128, AdamW 1e-3, one-cycle (the projection recipe)."""
    from mrptheory.train.dynamics_classifier import ClassifierLagConfig

    if ctx.quick:
        return ClassifierLagConfig(archs=("mlp",), epochs=10, seed=ctx.seed, train_images=3000,
                                   test_images=5000, resnet_width=RESNET_CLAIM_WIDTH)
    return ClassifierLagConfig(archs=("mlp", "resnet9"), epochs=15, seed=ctx.seed,
                               train_images=10000, test_images=10000,
                               resnet_width=RESNET_CLAIM_WIDTH)


def measure_classifier_lag(dataset: str, ctx: ClaimContext) -> Measurement:
    """Classifiers trained on the directions the one-layer AE has learned at each evaluation."""
    from mrptheory.device import resolve_device
    from mrptheory.train.dynamics_classifier import lag_summary, run_classifier_lag

    from dataclasses import replace

    from mrptheory.train.linear_dynamics import prepare_dynamics_data

    _, _, dyn_conditions = dynamics_run(ctx, dataset)
    payload, splits, dyn_config = dynamics_payload(ctx, dataset)
    config = _classifier_lag_config(ctx)
    # the run's train subset (hence its eigenvectors) with the classifier's own image counts
    data = prepare_dynamics_data(splits, replace(
        dyn_config, probe_train_size=min(config.train_images, dyn_config.train_size),
        probe_test_size=config.test_images))
    tag = f"claim_classifier_lag_{payload['config']['dataset']}"
    lag = run_classifier_lag(payload, data, config, ctx.out_dir, tag,
                             device=str(resolve_device(ctx.device)), show_progress=ctx.progress,
                             threads=1)
    from mrptheory.plots.real_data import plot_classifier_lag

    plot_classifier_lag(lag, ctx.out_dir)
    models = ", ".join(("MLP (4 layers, width <= 256)" if a == "mlp" else
                        f"ResNet-9 (base width {config.resnet_width})") for a in config.archs)
    conditions = (f"{dyn_conditions}; one-layer AE's learned directions (rho >= 0.5) at each of "
                  f"{len(lag['times'])} evaluation times; {models} trained {config.epochs} epochs "
                  f"(batch {config.batch_size}) on {lag['n_train']} projected images, tested on "
                  f"{lag['n_test']}, seed {config.seed}"
                  + ("; quick mode: MLP only, one seed" if ctx.quick else ""))
    return Measurement({"summary": lag_summary(lag)}, conditions)


for _name in ("fashion-mnist", NATURAL):
    _register_bound(
        "real-data-classifier-lags-reconstruction" + ("" if _name == "fashion-mnist"
                                                      else f"-{_name}"),
        judge_classifier_lag,
        f"{_name}: features for perception are learned last (the paper's measurement): a "
        "classifier (MLP; ResNet-9 in full runs) trained on the directions a linear AE has "
        "learned so far has closed clearly less of its accuracy gap than the AE has closed of its "
        "reconstruction gap, when the latter reaches 90%", measure_classifier_lag, dataset=_name)


# ---------------------------------------------------------------- alignment and masking, CIFAR-10

#: Average-pooling factor of the CIFAR-10 alignment study (quick, full): O(D^3) per setting, and
#: D = 3072 at full resolution takes about 6 minutes on 2 cores for the paper's grid.
NATURAL_ALIGNMENT_POOL = {"quick": 2, "full": 1}


def _natural_alignment(ctx: ClaimContext) -> tuple[dict, str]:
    """The closed-form alignment study of CIFAR-10 (once per context; figures written):
    quick: 2x-pooled images (D = 3x16x16 = 768), mask ratios 0.11, 0.55, 0.99; full: full
    resolution (D = 3072) and the paper's 9 non-zero ratios; patch sides 1, 2, 4 and Gaussian
    noise (sigma 1) in both. Returns (payload, conditions)."""
    from mrptheory.claims.linear import QUICK_RATIOS
    from mrptheory.linear.alignment import (PAPER_PATCH_SIDES, PAPER_RATIOS, alignment_study,
                                            dataset_moments, paper_noise_grid)
    from mrptheory.results import write

    def compute() -> tuple[dict, str]:
        splits, source = natural_image_splits(ctx)
        pool = NATURAL_ALIGNMENT_POOL["quick" if ctx.quick else "full"]
        specs = paper_noise_grid(QUICK_RATIOS if ctx.quick else PAPER_RATIOS, PAPER_PATCH_SIDES,
                                 1.0)
        data = dataset_moments(splits.train, None, ctx.seed, pool)
        study = alignment_study(data, specs, source, show_progress=ctx.progress)
        payload = study.to_payload()
        tag = "claims_quick" if ctx.quick else "claims"
        payload.update(k_min=32, pool=pool, max_samples=None, seed=ctx.seed, noises=specs,
                       quick=ctx.quick, tag=tag, image_shape=list(data.image_shape))
        write({f"alignment_{source}_{tag}": payload}, ctx.out_dir)
        c, h, w = data.image_shape
        conditions = (f"{describe_source(splits, source)}; pooled {pool}x to {c}x{h}x{w} "
                      f"(D = {data.dim}; patch sides count pooled pixels)"
                      + (", quick mode" if ctx.quick else "") + f", N = {data.n_samples}, "
                      "centred and scaled by one global std; closed-form optimal linear DAE at "
                      "every K")
        return payload, conditions

    return ctx.shared(("real_data.natural_alignment", ctx.quick, str(ctx.out_dir), ctx.seed),
                      compute)


def judge_natural_masking(m: Measurement) -> ClaimResult:
    """The rule of ``bl-masking-effect-varies`` (claims.linear: both signs beyond the real-change
    threshold and a size factor across settings) on CIFAR-10, plus where masking raises the
    alignment. Values: ``changes`` ({mask: changes in percent at K >= 32}), ``ks`` (those K)."""
    from mrptheory.claims.linear import judge_masking_effect_varies

    base = judge_masking_effect_varies(m)
    ks = np.asarray(m.values["ks"])
    best = []
    for name, v in m.values["changes"].items():
        v = np.asarray(v, dtype=float)
        i = int(np.argmax(v))
        best.append((float(v[i]), int(ks[i]), name))
    best.sort(reverse=True)
    by_patch: dict[str, tuple[float, int, str]] = {}
    for rise, k, name in best:
        by_patch.setdefault(name.split(":")[2], (rise, k, name))
    where = "; largest rise per patch: " + ", ".join(
        f"{p}: {r:+.2f} % at K = {k} ({n})" for p, (r, k, n) in sorted(by_patch.items()))
    expectation = base.expectation.replace("on Fashion-MNIST", "on CIFAR-10").replace(
        "; data-set dependence needs a second data set (`mrp alignment --dataset all`)",
        "; compare the Fashion-MNIST row bl-masking-effect-varies for the data-set dependence")
    return ClaimResult(measured=base.measured + where, expectation=expectation,
                       verdict=base.verdict, details={**base.details, "largest_rise": by_patch},
                       conditions=m.conditions)


@register_claim(
    f"bl-masking-effect-varies-{NATURAL}", paper=PAPER, judge=judge_natural_masking,
    statement=f"{NATURAL}: the effect of masking on the features a linear DAE learns varies in sign "
              "and size with the mask ratio and the patch shape (does masking raise the alignment, "
              "at which K, for which patch sizes)",
)
def natural_masking_effect(ctx: ClaimContext) -> Measurement:
    try:
        payload, conditions = _natural_alignment(ctx)
    except (DatasetNotFoundError, CorruptDatasetError) as exc:
        return Measurement(conditions=NATURAL, not_run=str(exc))
    ks = np.asarray(payload["ks"])
    keep = ks >= 32
    changes = {n: np.asarray(v)[keep].tolist() for n, v in payload["impact"].items()
               if n.startswith("mask:")}
    return Measurement({"changes": changes, "ks": ks[keep].tolist()}, conditions)
