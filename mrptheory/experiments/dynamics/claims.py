"""Claims of the dynamics experiment on real data: "the features for perception are learned last".

Balestriero & LeCun (2024, arXiv 2402.11337): gradient descent on a (deep) linear autoencoder
learns eigen-directions in order of decreasing eigenvalue (Saxe et al. 2014 give the closed
forms), and the label information of the learned directions keeps arriving after the
reconstruction has mostly converged (a linear probe, and a classifier trained on the learned
directions). Each claim has a Fashion-MNIST row and a CIFAR-10 row
(:func:`mrptheory.claims.natural.natural_image_splits`).

Expectations and tolerances are module constants, fixed before any measurement.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mrptheory.claims.natural import (NATURAL, RESNET_CLAIM_WIDTH, TRAINED_MARGIN,
                                      combine_verdicts, describe_source, load_claim_data,
                                      register_bound)
from mrptheory.claims.registry import (ClaimContext, ClaimResult, Measurement, Verdict,
                                       register_claim)

PAPER = "Balestriero & LeCun 2024"
PAPER_DYN = "Balestriero & LeCun 2024; Saxe et al. 2014"

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


# ---------------------------------------------------------------- learned-last dynamics

def _dynamics_config(ctx: ClaimContext, dataset: str = "fashion-mnist"):
    """Quick: 3,000 train images, t_max 2 (two-layer 4), 12 evaluation times. Natural images are
    pooled 4x in quick mode (CIFAR-10: D = 3x8x8 = 192, about Fashion-MNIST's 196 at 2x) and 2x
    in full (D = 768)."""
    from mrptheory.experiments.dynamics.experiment import DynamicsConfig

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
    from mrptheory.experiments.dynamics.experiment import dynamics_summary

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
    from mrptheory.experiments.dynamics.experiment import run_dynamics

    key = ("real_data.dynamics", dataset, ctx.quick, str(ctx.out_dir), ctx.seed, str(ctx.device),
           str(ctx.data_root))

    def compute():
        splits, source = load_claim_data(dataset, ctx)
        config = _dynamics_config(ctx, dataset)
        config.dataset = source
        payload = run_dynamics(splits, config, ctx.out_dir,
                               device=str(resolve_device(ctx.device)),
                               show_progress=ctx.progress, threads=1,
                               tag=f"claim_dynamics_{source}")
        payload["source"] = describe_source(splits, source) if dataset == NATURAL else source
        if dataset == NATURAL:
            from mrptheory.experiments.dynamics.figures import plot_dynamics

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
    """Values: ``summary`` (per arch: experiments.dynamics.classifier_lag.lag_summary rows)."""
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
    from mrptheory.experiments.dynamics.classifier_lag import ClassifierLagConfig

    if ctx.quick:
        return ClassifierLagConfig(archs=("mlp",), epochs=10, seed=ctx.seed, train_images=3000,
                                   test_images=5000, resnet_width=RESNET_CLAIM_WIDTH)
    return ClassifierLagConfig(archs=("mlp", "resnet9"), epochs=15, seed=ctx.seed,
                               train_images=10000, test_images=10000,
                               resnet_width=RESNET_CLAIM_WIDTH)


def measure_classifier_lag(dataset: str, ctx: ClaimContext) -> Measurement:
    """Classifiers trained on the directions the one-layer AE has learned at each evaluation."""
    from mrptheory.device import resolve_device
    from mrptheory.experiments.dynamics.classifier_lag import lag_summary, run_classifier_lag

    from dataclasses import replace

    from mrptheory.experiments.dynamics.experiment import prepare_dynamics_data

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
    from mrptheory.experiments.dynamics.figures import plot_classifier_lag

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
    register_bound(PAPER, 
        "real-data-classifier-lags-reconstruction" + ("" if _name == "fashion-mnist"
                                                      else f"-{_name}"),
        judge_classifier_lag,
        f"{_name}: features for perception are learned last (the paper's measurement): a "
        "classifier (MLP; ResNet-9 in full runs) trained on the directions a linear AE has "
        "learned so far has closed clearly less of its accuracy gap than the AE has closed of its "
        "reconstruction gap, when the latter reaches 90%", measure_classifier_lag, dataset=_name)
