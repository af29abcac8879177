"""``mrp dynamics``: learned-last -- per-direction learning of linear (D)AEs vs closed forms."""

from __future__ import annotations

from pathlib import Path

import click

from mrptheory.cli_support.options import (data_root_option, dataset_option, device_option,
                                           experiment_out_option, flags_named, given,
                                           preset_options, progress_option, refuse_unused,
                                           seed_option, threads_option, with_presets, yes_option)
from mrptheory.experiments.dynamics.config import DynamicsConfig


def estimated_bytes(n_train: int, dim: int, batch_size: int, n_probe: int = 7000) -> int:
    """Rough peak bytes of ``mrp dynamics``: data, D x D matrices and one mini-batch's tensors.

    Train data as float64 and float32 (12 bytes per entry), the probe sets (float64), about eight
    ``[D, D]`` float64 matrices (eigenvectors, weights, their copies for the closed forms) and about
    eight ``[batch, D]`` float32 tensors per step (input, noise, output, residual, autograd).
    """
    return 12 * n_train * dim + 8 * n_probe * dim + 64 * dim * dim + 32 * batch_size * dim


@click.command()
@preset_options("dynamics", DynamicsConfig)
@dataset_option()
@data_root_option
@click.option("--models", multiple=True,
              help="linear, deep, gaussian, mask; repeat to choose [default: all four].")
@click.option("--train-size", type=int, default=DynamicsConfig.train_size, show_default=True,
              help="Train images (the default is capped at the split's size; a larger value "
                   "given explicitly is refused).")
@click.option("--downsample", type=int, default=DynamicsConfig.downsample, show_default=True,
              help="Average-pool the images by this factor (1 = full resolution); it must divide "
                   "the image side.")
@click.option("--t-max", type=float, default=DynamicsConfig.t_max, show_default=True,
              help="Gradient-flow time to train the one-layer models for.")
@click.option("--deep-t-max", type=float, default=DynamicsConfig.deep_t_max, show_default=True,
              help="Gradient-flow time for the two-layer model.")
@click.option("--init-scale", type=float, default=DynamicsConfig.init_scale, show_default=True,
              help="Two-layer start W1 = eps Q^T, W2 = eps Q.")
@click.option("--sigma", type=float, default=DynamicsConfig.sigma, show_default=True,
              help="Gaussian DAE noise std.")
@click.option("--keep", type=float, default=DynamicsConfig.keep, show_default=True,
              help="Masked DAE: probability of keeping a pixel.")
@click.option("--lr-scale", type=float, default=DynamicsConfig.lr_scale, show_default=True,
              help="Learning rate = lr_scale / (2 lambda_max).")
@click.option("--batch-size", type=int, default=DynamicsConfig.batch_size, show_default=True)
@click.option("--n-eval", type=int, default=DynamicsConfig.n_eval, show_default=True,
              help="Log-spaced evaluation points.")
@threads_option(default=1)
@device_option
@seed_option
@experiment_out_option("dynamics")
@progress_option
@yes_option
def dynamics(**kw) -> None:
    """Train linear autoencoders by gradient descent and show when each eigen-direction is learned.

    Measured per-direction reconstruction and linear-probe accuracy over training, beside the
    closed forms (matrix exponential; Saxe et al. 2014 sigmoids). Redraw the figures with
    ``mrp plot OUT/dynamics_<dataset>.json``.
    """
    from mrptheory.data.registry import canonical_name, dataset_fingerprint, load_dataset
    from mrptheory.device import resolve_device
    from mrptheory.experiments.dynamics import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import redraw
    from mrptheory.resources import (check_fits, check_within_data, check_work,
                                     dynamics_eval_seconds)
    from mrptheory.experiments.dynamics.experiment import dynamics_summary, run_dynamics
    from mrptheory.config_spec import build
    from mrptheory.validation import check_pool_factor

    kw = with_presets(kw)
    models = kw["models"] or DynamicsConfig.models  # --models not given: all four
    if isinstance(models, str):  # one name from a preset file
        models = (models,)
    chosen = set(models)
    refuse_unused({"--sigma": "sigma"}, "the gaussian model (--models gaussian)",
                  "gaussian" in chosen)
    refuse_unused({"--keep": "keep"}, "the mask model (--models mask)", "mask" in chosen)
    refuse_unused({"--deep-t-max": "deep_t_max", "--init-scale": "init_scale"},
                  "the two-layer model (--models deep)", "deep" in chosen)
    with flags_named():
        config = build(DynamicsConfig, kw, dataset=canonical_name(kw["dataset"]),
                       models=tuple(models))
    data_root, device, out_dir = kw["data_root"], kw["device"], kw["out_dir"]
    dev = resolve_device(device)
    splits = load_dataset(config.dataset, data_root)
    check_pool_factor("--downsample", config.downsample, splits.train.image_shape)
    c, h, w = splits.train.image_shape
    dim = c * (h // config.downsample) * (w // config.downsample)
    if given("train_size"):
        check_within_data("--train-size", config.train_size, len(splits.train),
                          f"train images of {config.dataset}")
    n_train = min(config.train_size, len(splits.train))
    n_probe = min(config.probe_train_size, n_train) + min(config.probe_test_size, len(splits.test))
    check_work(dynamics_eval_seconds(config.n_eval, len(config.models), dim, n_probe),
               f"up to {config.n_eval} evaluation points for each of {len(config.models)} model(s) "
               f"on D = {dim}", "--n-eval", yes=kw["yes"],
               rate="two ridge probes per point, about 1.2 s each at D = 196 on one CPU thread")
    check_fits(estimated_bytes(n_train, dim, config.batch_size),
               f"training on {n_train} images of D = {dim} with batches of {config.batch_size}",
               "--batch-size" if 32 * config.batch_size > 12 * n_train + 64 * dim else "--downsample")
    payload = run_dynamics(splits, config, out_dir, device=str(dev), show_progress=kw["progress"],
                           threads=kw["threads"] or None,
                           data_fingerprint=dataset_fingerprint(config.dataset, data_root))
    for name, s in dynamics_summary(payload).items():
        click.echo(f"{name:8s}: {s['n_compared']} directions reach 50% in theory; Spearman(λ, t50) "
                   f"{s['spearman']:+.3f}; median |ρ - ρ_theory| {s['median_abs_diff']:.4f} "
                   f"(p90 {s['p90_abs_diff']:.4f}); probe on learned dirs closes "
                   f"{100 * s['probe_closure_at_t90']:.1f}% of its gap when reconstruction has "
                   f"closed 90%")
    for p in redraw(Path(out_dir) / f"{payload['tag']}.json", out_dir):
        click.echo(f"wrote {p}")
