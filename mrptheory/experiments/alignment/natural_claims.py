"""The alignment experiment on natural images: the closed-form alignment study of CIFAR-10
(``bl-masking-effect-varies-cifar10``), judged by the Fashion-MNIST rule of
:mod:`mrptheory.experiments.alignment.claims`. A module of its own so that the catalog lists it
after the other real-data claims (the claims table keeps its order).
"""

from __future__ import annotations

import numpy as np

from mrptheory.claims.natural import NATURAL, describe_source, natural_image_splits
from mrptheory.claims.registry import ClaimContext, ClaimResult, Measurement, register_claim
from mrptheory.errors import CorruptDatasetError, DatasetNotFoundError

PAPER = "Balestriero & LeCun 2024"


# ---------------------------------------------------------------- alignment and masking, CIFAR-10

#: Average-pooling factor of the CIFAR-10 alignment study (quick, full): O(D^3) per setting, and
#: D = 3072 at full resolution takes about 6 minutes on 2 cores for the paper's grid.
NATURAL_ALIGNMENT_POOL = {"quick": 2, "full": 1}


def _natural_alignment(ctx: ClaimContext) -> tuple[dict, str]:
    """The closed-form alignment study of CIFAR-10 (once per context; figures written):
    quick: 2x-pooled images (D = 3x16x16 = 768), mask ratios 0.11, 0.55, 0.99; full: full
    resolution (D = 3072) and the paper's 9 non-zero ratios; patch sides 1, 2, 4 and Gaussian
    noise (sigma 1) in both. Returns (payload, conditions)."""
    from mrptheory.experiments.alignment.claims import QUICK_RATIOS
    from mrptheory.linear.alignment import (PAPER_PATCH_SIDES, PAPER_RATIOS, alignment_study,
                                            dataset_moments, paper_noise_grid)
    from mrptheory.experiments.alignment import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import write

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
    """The rule of ``bl-masking-effect-varies`` (experiments.alignment.claims: both signs beyond the real-change
    threshold and a size factor across settings) on CIFAR-10, plus where masking raises the
    alignment. Values: ``changes`` ({mask: changes in percent at K >= 32}), ``ks`` (those K)."""
    from mrptheory.experiments.alignment.claims import judge_masking_effect_varies

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
