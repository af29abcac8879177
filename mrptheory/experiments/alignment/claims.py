"""Balestriero & LeCun (2024) claims about linear (denoising) autoencoders, made executable.

All three claims share one closed-form alignment study of Fashion-MNIST (computed once per
reproduce run (memoised on the claim context) and saved as ``OUT/alignment_fashion-mnist_claims[_quick].json`` with its figures). When the data set is
not installed the real-data half of each claim is inconclusive, and says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mrptheory.claims.registry import (ClaimContext, ClaimResult, Measurement, Verdict,
                                       register_claim)
from mrptheory.errors import DatasetNotFoundError

PAPER = "Balestriero & LeCun 2024"

#: Gaussian noise must leave the alignment unchanged at every K up to round-off. Measured with the
#: SVD-based solver on Fashion-MNIST: |change| <= 1e-11 % at all 784 widths for sigma in
#: {0.1, 1, 10}. GAUSSIAN_TOL leaves five orders of margin, while a real subspace change moves the
#: alignment by >= 1e-2 %.
GAUSSIAN_TOL = 1e-6
#: A masking setting "changes the learned subspace" on real data when it moves the alignment by
#: more than this (percent, relative): 1e5 times the round-off level above.
REAL_CHANGE = 0.1
#: "Size varies": the largest and smallest mean |change| across mask settings differ by this factor.
SIZE_FACTOR = 2.0

QUICK_RATIOS = (0.11, 0.55, 0.99)
GAUSSIAN_SIGMAS = (0.1, 1.0, 10.0)


def _study(quick: bool, data_root: str | None, out_dir: str, seed: int) -> dict:
    """The shared Fashion-MNIST alignment study (payload dict); figures written to ``out_dir``."""
    from mrptheory.data.registry import load_dataset
    from mrptheory.linear.alignment import (PAPER_PATCH_SIDES, PAPER_RATIOS, alignment_study,
                                            dataset_moments, paper_noise_grid)
    from mrptheory.experiments.alignment import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import write

    splits = load_dataset("fashion-mnist", data_root)
    max_samples = 20000 if quick else None
    data = dataset_moments(splits.train, max_samples, seed)
    ratios = QUICK_RATIOS if quick else PAPER_RATIOS
    specs = paper_noise_grid(ratios, PAPER_PATCH_SIDES, None) + [f"gaussian:{s:g}" for s in GAUSSIAN_SIGMAS]
    study = alignment_study(data, specs, "fashion-mnist", show_progress=False)
    payload = study.to_payload()
    tag = "claims_quick" if quick else "claims"
    payload.update(k_min=32, max_samples=max_samples, seed=seed, noises=specs, quick=quick, tag=tag,
                   image_shape=list(data.image_shape))
    write({f"alignment_fashion-mnist_{tag}": payload}, out_dir)
    return payload


def _load(ctx: ClaimContext) -> tuple[dict | None, str]:
    """(the shared study's payload, "") or (None, why it could not run): once per context."""
    inputs = (ctx.quick, ctx.data_root, str(ctx.out_dir), ctx.seed)
    try:
        return ctx.shared(("linear.alignment_study", *inputs), lambda: _study(*inputs)), ""
    except DatasetNotFoundError as exc:
        return None, str(exc)


def _conditions(payload: dict) -> str:
    n = payload["n_samples"]
    return (f"Fashion-MNIST train set, N = {n}, D = {payload['dim']}, centred and scaled by one "
            f"global std; closed-form optimal linear DAE at every K")


GAUSSIAN_EXPECTATION = (f"symbolic proof for every sigma, and |alignment change| < {GAUSSIAN_TOL:g} % "
                        "at every K (float64 round-off is ~1e-11 %)")


def judge_gaussian_never_changes(m: Measurement) -> ClaimResult:
    """Values: ``proved`` (symbolic proof for every sigma), ``max_change`` ({str(sigma): max
    |change| in percent over all K}, absent when the data was missing) and ``dim``."""
    v = m.values
    proved = v["proved"]
    if m.not_run:
        return ClaimResult(f"symbolic proof: {'yes' if proved else 'no'}; real data: not run "
                           f"({m.not_run})", GAUSSIAN_EXPECTATION,
                           Verdict.INCONCLUSIVE if proved else Verdict.REFUTED)
    changes = v["max_change"]
    worst = max(changes.values())
    measured = (f"symbolic proof: {'yes' if proved else 'NO'}; max |change| over all {v['dim']} K: "
                + ", ".join(f"sigma={float(s):g}: {c:.1e} %" for s, c in changes.items()))
    ok = proved and worst < GAUSSIAN_TOL
    return ClaimResult(measured, GAUSSIAN_EXPECTATION, Verdict.CONFIRMED if ok else Verdict.REFUTED,
                       {"max_change": changes, "proved": proved}, m.conditions)


@register_claim(
    "bl-gaussian-never-changes-subspace", paper=PAPER, judge=judge_gaussian_never_changes,
    statement="Additive isotropic Gaussian noise never changes the subspace a linear DAE learns "
              "(so it cannot help perception): the alignment equals the noiseless one at every K.",
)
def gaussian_never_changes(ctx: ClaimContext) -> Measurement:
    from mrptheory.linear.never_beneficial import check_never_beneficial
    from mrptheory.linear.noise import GaussianNoise

    verdicts = [check_never_beneficial(GaussianNoise(s), trials=50 if ctx.quick else 200) for s in GAUSSIAN_SIGMAS]
    proved = all(v.changes_subspace is False for v in verdicts)
    payload, missing = _load(ctx)
    if payload is None:
        return Measurement({"proved": proved}, not_run=missing)
    # keyed by str(sigma), as the measurement is stored in JSON (a stored run is re-judged)
    changes = {str(s): float(np.max(np.abs(payload["impact"][f"gaussian:{s:g}"])))
               for s in GAUSSIAN_SIGMAS}
    return Measurement({"proved": proved, "max_change": changes, "dim": payload["dim"]},
                       _conditions(payload))


def _mask_changes(payload: dict, k_min: int = 32) -> dict[str, np.ndarray]:
    ks = np.asarray(payload["ks"])
    return {name: np.asarray(v)[ks >= k_min] for name, v in payload["impact"].items()
            if name.startswith("mask:")}


MASKING_CHANGES_EXPECTATION = (
    f"a counterexample covariance exists (pixel and 2x2 masks), and on Fashion-MNIST some "
    f"mask setting moves the alignment by more than {REAL_CHANGE} % (relative) at some K >= 32")


def judge_masking_changes(m: Measurement) -> ClaimResult:
    """Values: ``counterexamples`` ([pixel mask, 2x2 mask] found), and with the data ``largest``
    (the largest |alignment change| in percent at K >= 32) and ``setting`` (its mask)."""
    found = m.values["counterexamples"]
    if m.not_run:
        verdict = Verdict.INCONCLUSIVE if all(found) else Verdict.REFUTED
        return ClaimResult(f"counterexamples: {found}; real data: not run ({m.not_run})",
                           MASKING_CHANGES_EXPECTATION, verdict)
    biggest, name = m.values["largest"], m.values["setting"]
    measured = (f"counterexample found for pixel/2x2 masks: {found[0]}/{found[1]}; largest |change| on "
                f"Fashion-MNIST: {biggest:.2f} % ({name})")
    ok = all(found) and biggest > REAL_CHANGE
    return ClaimResult(measured, MASKING_CHANGES_EXPECTATION,
                       Verdict.CONFIRMED if ok else Verdict.REFUTED,
                       {"largest_change": biggest, "setting": name, "counterexamples": found},
                       m.conditions)


@register_claim(
    "bl-masking-changes-subspace", paper=PAPER, judge=judge_masking_changes,
    statement="Masking, unlike Gaussian noise, can change the subspace a linear DAE learns.",
)
def masking_changes(ctx: ClaimContext) -> Measurement:
    from mrptheory.linear.never_beneficial import check_never_beneficial
    from mrptheory.linear.noise import MaskNoise

    found = [check_never_beneficial(MaskNoise(0.5, patch), trials=50).changes_subspace is True
             for patch in ((1, 1), (2, 2))]
    payload, missing = _load(ctx)
    if payload is None:
        return Measurement({"counterexamples": found}, not_run=missing)
    changes = _mask_changes(payload)
    name, values = max(changes.items(), key=lambda kv: np.max(np.abs(kv[1])))
    biggest = float(np.max(np.abs(values)))
    return Measurement({"counterexamples": found, "largest": biggest, "setting": name},
                       _conditions(payload))


EFFECT_VARIES_EXPECTATION = (
    f"on Fashion-MNIST (K >= 32), both signs of alignment change occur across mask settings "
    f"(beyond +-{REAL_CHANGE} %), and the mean |change| of the strongest and weakest "
    f"setting differ by a factor >= {SIZE_FACTOR:g}; data-set dependence needs a second "
    "data set (`mrp alignment --dataset all`)")


def judge_masking_effect_varies(m: Measurement) -> ClaimResult:
    """Values: ``changes`` ({"mask:<ratio>:<patch>": alignment changes in percent at K >= 32})."""
    if m.not_run:
        return ClaimResult(f"not run ({m.not_run})", EFFECT_VARIES_EXPECTATION, Verdict.INCONCLUSIVE)
    changes = {n: np.asarray(v, dtype=float) for n, v in m.values["changes"].items()}
    helps = sorted(n for n, v in changes.items() if np.max(v) > REAL_CHANGE)
    hurts = sorted(n for n, v in changes.items() if np.min(v) < -REAL_CHANGE)
    sizes = {n: float(np.mean(np.abs(v))) for n, v in changes.items()}
    strongest, weakest = max(sizes, key=sizes.get), min(sizes, key=sizes.get)
    factor = sizes[strongest] / max(sizes[weakest], 1e-12)
    by_patch: dict[str, list[float]] = {}
    for n, v in changes.items():
        by_patch.setdefault(n.split(":")[2], []).append(float(np.mean(v)))
    sign_varies = bool(helps) and bool(hurts)
    size_varies = factor >= SIZE_FACTOR
    measured = (f"settings that raise alignment somewhere: {len(helps)}, lower it: {len(hurts)} of "
                f"{len(changes)}; mean |change| from {sizes[weakest]:.3f} % ({weakest}) to "
                f"{sizes[strongest]:.3f} % ({strongest}), factor {factor:.1f}; mean change by patch: "
                + ", ".join(f"{p}: {np.mean(v):+.2f} %" for p, v in by_patch.items()))
    if sign_varies and size_varies:
        verdict = Verdict.CONFIRMED
    elif not sign_varies and not size_varies:
        verdict = Verdict.REFUTED
    else:
        verdict = Verdict.INCONCLUSIVE
    return ClaimResult(measured, EFFECT_VARIES_EXPECTATION, verdict,
                       {"helps": helps, "hurts": hurts, "mean_abs_change": sizes, "factor": factor},
                       m.conditions + " (data-set dependence not tested here)")


@register_claim(
    "bl-masking-effect-varies", paper=PAPER, judge=judge_masking_effect_varies,
    statement="The effect of masking on the learned features varies in sign and size with the mask "
              "ratio, the patch shape and the data set.",
)
def masking_effect_varies(ctx: ClaimContext) -> Measurement:
    payload, missing = _load(ctx)
    if payload is None:
        return Measurement(not_run=missing)
    return Measurement({"changes": _mask_changes(payload)}, _conditions(payload))


#: "Same reconstruction": reconstruction error within this factor of the PCA encoder's.
SAME_RECONSTRUCTION = 1.01
#: "Very different supervised error": at least this relative reduction of the least-squares error.
SUPERVISED_GAIN = 0.10
BILINEAR_K = 32

SAME_RECONSTRUCTION_EXPECTATION = (
    f"at K = {BILINEAR_K} on Fashion-MNIST, a joint supervised+reconstruction linear encoder "
    f"with reconstruction error <= {SAME_RECONSTRUCTION:g} x the PCA encoder's has a "
    f"least-squares supervised error at least {SUPERVISED_GAIN:.0%} lower")


def judge_same_reconstruction(m: Measurement) -> ClaimResult:
    """Values: ``in_band`` (some weight keeps the reconstruction within the band) and, when it
    does, ``reconstruction_ratio``, ``supervised_error`` ({"pca", "joint"}), ``weight``,
    ``probe`` ({"pca", "joint"} test probe accuracies)."""
    expectation = SAME_RECONSTRUCTION_EXPECTATION
    if m.not_run:
        return ClaimResult(f"not run ({m.not_run})", expectation, Verdict.INCONCLUSIVE)
    v = m.values
    if not v["in_band"]:
        return ClaimResult("no weight keeps the reconstruction error within the band", expectation,
                           Verdict.INCONCLUSIVE)
    pca_err, joint_err = v["supervised_error"]["pca"], v["supervised_error"]["joint"]
    gain = 1 - joint_err / pca_err
    probe, weight = v["probe"], v["weight"]
    measured = (f"reconstruction error ratio {v['reconstruction_ratio']:.4f}; "
                f"supervised error {pca_err:.0f} (PCA) -> {joint_err:.0f} "
                f"(joint, weight {weight:.2g}): {gain:.1%} lower; test probe accuracy "
                f"{probe['pca']:.3f} -> {probe['joint']:.3f}")
    verdict = Verdict.CONFIRMED if gain >= SUPERVISED_GAIN else Verdict.REFUTED
    return ClaimResult(measured, expectation, verdict,
                       {"weight": weight, "gain": gain, "probe": probe,
                        "reconstruction_ratio": v["reconstruction_ratio"]},
                       m.conditions)


@register_claim(
    "bl-same-reconstruction-different-perception", paper=PAPER, judge=judge_same_reconstruction,
    statement="Encoders with (nearly) the same reconstruction error can have very different "
              "supervised error: reconstruction quality does not determine perception quality.",
)
def same_reconstruction_different_perception(ctx: ClaimContext) -> Measurement:
    from mrptheory.data.registry import load_dataset
    from mrptheory.linear.closed_form import bilinear_solution
    from mrptheory.linear.moments import standardise_images
    from mrptheory.metrics.probe import ridge_probe_accuracy

    try:
        splits = load_dataset("fashion-mnist", ctx.data_root)
    except DatasetNotFoundError as exc:
        return Measurement(not_run=str(exc))
    train = splits.train.subset(20000 if ctx.quick else None, ctx.seed)
    raw_train, raw_test = train.flat(), splits.test.flat()
    mean = raw_train.mean(axis=0, keepdims=True)
    x = standardise_images(raw_train)
    scale = (raw_train - mean).std()
    x_test = (raw_test - mean) / scale
    y = np.eye(train.num_classes)[train.labels]
    y = y - y.mean(axis=0, keepdims=True)
    # PCA = the reconstruction-only optimum (weight -> infinity); then lower the weight of
    # reconstruction until its error would exceed the "same reconstruction" band.
    gram = x.T @ x
    pca = bilinear_solution(x, y, BILINEAR_K, weight=1e12, gram=gram)

    def in_band(sol) -> bool:
        return sol.reconstruction_error <= SAME_RECONSTRUCTION * pca.reconstruction_error

    # Lowering the reconstruction weight trades reconstruction for supervision monotonically, so
    # bisect (in log10 weight) for the smallest weight whose reconstruction stays in the band.
    lo, hi = -4.0, 4.0  # log10 weights: 1e-4 (supervision dominates) .. 1e4 (PCA-like)
    best = bilinear_solution(x, y, BILINEAR_K, 10**hi, gram=gram)
    if not in_band(best):
        return Measurement({"in_band": False})
    weight = 10**hi
    low_sol = bilinear_solution(x, y, BILINEAR_K, 10**lo, gram=gram)
    if in_band(low_sol):
        weight, best = 10**lo, low_sol
    else:
        for _ in range(12):  # 8 decades / 2^12: the weight is pinned to within 0.5%
            mid = (lo + hi) / 2
            sol = bilinear_solution(x, y, BILINEAR_K, 10**mid, gram=gram)
            if in_band(sol):
                hi, weight, best = mid, 10**mid, sol
            else:
                lo = mid
    joint = best
    probe = {name: ridge_probe_accuracy(x @ s.encoder, train.labels, x_test @ s.encoder, splits.test.labels)
             for name, s in (("pca", pca), ("joint", joint))}
    return Measurement(
        {"in_band": True, "weight": weight, "probe": probe,
         "reconstruction_ratio": joint.reconstruction_error / pca.reconstruction_error,
         "supervised_error": {"pca": pca.supervised_error, "joint": joint.supervised_error}},
        f"Fashion-MNIST, N = {len(train)} train (standardised), 10000 test, K = {BILINEAR_K}")
