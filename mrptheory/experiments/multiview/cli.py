"""``mrp multiview``: the multi-view simulator (SL vs mask-reconstruction pretraining).

    mrp multiview sl        supervised learner only (lottery, one view per class?)
    mrp multiview mrp       MRP pretraining + linear probe + fine-tuning only
    mrp multiview compare   both on the same data and seeds; figures + JSON in --out
    mrp multiview compare --sweep mu=0.05,0.1,0.2   the comparison at each value (resumable)
    mrp multiview regime [--quick]   2-D regime maps: where each prediction holds (resumable)

``--preset theory`` (default) uses the theory-regime defaults, ``--preset noisy`` the first
release's noisier setting; explicit options win over the preset. Every output of a configuration
outside the theorem's finite-k regime is labelled so (see ``mrptheory.experiments.multiview.regime``).

Every figure is drawn from a JSON file saved next to it (``mrp plot FILE.json`` redraws it).
Bad values fail before any training with a one-line message (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from mrptheory.cli_support.options import (device_option, dry_run_inputs, dry_run_option,
                                           experiment_out_option, given, preset_options,
                                           progress_option, refuse_swept, seed_option,
                                           with_presets)
from mrptheory.config_spec import keys, option_flag
from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig, build_configs
from mrptheory.device import resolve_device, set_cpu_threads
from mrptheory.errors import ConfigError
from mrptheory.experiments.multiview import figures  # noqa: F401  (its figure kinds)
from mrptheory.launch.options import launcher_options, pop_launcher_options, unit_device
from mrptheory.planning import print_dry_run
from mrptheory.plots.registry import write
from mrptheory.text import plural

def _stack(options: list, fn):
    """Apply click options so they appear in ``options``' order in ``--help``."""
    for option in reversed(options):
        fn = option(fn)
    return fn


def _data_options(fn):
    opts = [
        click.option("--k", type=int, default=None, help="Classes (default 10)."),
        click.option("--d", type=int, default=None, help="Patch dimension (default 100)."),
        click.option("--patches", type=int, default=None, help="Patches per sample P (12)."),
        click.option("--mu", type=float, default=None, help="Single-view probability of the training data (0: the regime at d < 10 N P)."),
        click.option("--gamma", type=float, default=None, help="Per-patch feature noise (1e-4)."),
        click.option("--sigma-p", type=float, default=None,
                     help="Gaussian patch-noise std (1e-4; noisy preset: 1/sqrt(d))."),
        click.option("--single-view-weak-weight", type=float, default=None,
                     help="Weak view's total weight in single-view samples (0.1)."),
    ]
    # --preset theory (the default) = inside the theorem's finite-k regime; noisy = the first
    # release's setting (outside it): simulations/multiview/<name>.toml
    return preset_options("multiview", MultiViewConfig, SLConfig, MRPConfig,
                          default="theory")(_stack(opts, fn))


def _model_options(fn):
    opts = [
        click.option("--m", type=int, default=None, help="Kernels per class (default 4)."),
        click.option("--q", type=int, default=None, help="Smoothed-ReLU power q >= 3 (4)."),
        click.option("--rho", type=float, default=None, help="Smoothed-ReLU threshold (0.2)."),
        click.option("--sigma-0", type=float, default=None, help="Init std sigma_0 (0.005)."),
        click.option("--lr", type=float, default=None, help="SL's GD step size (8; MRP's is --mrp-lr)."),
        click.option("--steps", type=int, default=None,
                     help="SL GD steps [default: until converged, from the budget derived from "
                          "the slowest class up to 5x it]; explicit steps run exactly (the run "
                          "says whether it converged). Not accepted by `mrp`."),
        click.option("--n-train", type=int, default=None, help="Labelled samples per seed (400)."),
        click.option("--n-test", type=int, default=None, help="Test samples per set (500)."),
        click.option("--log-every", type=int, default=None, help="Log every N steps (20)."),
    ]
    return _stack(opts, fn)


def _mrp_options(fn):
    opts = [
        click.option("--mask-ratio", type=float, default=None, help="Masked fraction (0.5)."),
        click.option("--target", type=str, default=None,
                     help="Reconstruction target: teacher (default, the paper's) or pixel."),
        click.option("--ema", type=float, default=None, help="Teacher EMA tau (0.99)."),
        click.option("--target-norm", type=str, default=None,
                     help="Teacher target normalisation: batch (default), layer or none."),
        click.option("--decoder-init", type=str, default=None,
                     help="Decoder initialisation: identity (default) or random."),
        click.option("--decoder-shape", type=str, default=None,
                     help="Decoder shape: full R x R (default) or diagonal."),
        click.option("--mrp-lr", type=float, default=None,
                     help="MRP pretraining step size (4)."),
        click.option("--decoder-lr", type=float, default=None, help="Decoder step size (1.0)."),
        click.option("--mrp-steps", type=int, default=None,
                     help="MRP pretraining steps [default: until converged, from the budget "
                          "derived from the slowest feature up to 20x it]."),
        click.option("--probe-steps", type=int, default=None, help="Linear-probe steps (200)."),
        click.option("--ft-steps", type=int, default=None, help="Fine-tuning steps (100)."),
        click.option("--n-pretrain", type=int, default=None, help="Pretraining samples (400)."),
    ]
    return _stack(opts, fn)


def _run_options(fn):
    opts = [
        click.option("--seeds", "n_seeds", type=int, default=8, show_default=True,
                     help="Number of seeds trained at once (batched)."),
        seed_option, device_option, experiment_out_option("multiview"), progress_option,
        click.option("--threads", type=int, default=None,
                     help="torch CPU threads [default: 1 on CPU -- the batched tensors are "
                          "small, and on a shared 2-core machine 1 thread ran ~8x faster than 2]."),
    ]
    return _stack(opts, fn)


def _setup(kw: dict):
    from mrptheory.experiments.multiview import seed_list

    kw.update(with_presets(kw))  # the preset's and --config file's values, explicit options win
    cfgs = build_configs(kw)
    device = resolve_device(kw["device"])
    threads = kw.get("threads")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    set_cpu_threads(1 if threads is None and device.type == "cpu" else threads)
    seeds = seed_list(kw["n_seeds"], kw["seed"])
    from mrptheory.experiments.multiview.memory import check_memory

    which = kw.get("_which", "both")
    check_memory(cfgs[0], len(seeds), device, sl_cfg=cfgs[1] if which in ("sl", "both") else None,
                 mrp_cfg=cfgs[2] if which in ("mrp", "both") else None)
    return cfgs, device, seeds


def _write(payloads: dict[str, dict], out: Path, prefix: str = "") -> list[Path]:
    """Save and draw the comparison's payloads; ``prefix`` renames ``multiview_X`` files."""
    named = {}
    for kind, payload in payloads.items():
        name = kind.replace("multiview_", f"multiview_{prefix}") if prefix else kind
        named[name] = {**payload, "figure_name": name}
    return write(named, out)


def _echo_summary(payloads: dict[str, dict]) -> None:
    from mrptheory.experiments.multiview.figures import convergence_caption

    conv = next((p.get("convergence") for p in payloads.values() if p.get("convergence")), None)
    if conv:
        click.echo("  " + ("" if conv["converged"] else "NOT CONVERGED -- ")
                   + convergence_caption(conv))
    regime = next((p.get("regime") for p in payloads.values() if p.get("regime")), None)
    if regime is not None:
        label = regime["label"]
        click.echo("  " + ("OUTSIDE THE THEOREM'S REGIME" + label[len("outside the theorem's regime"):]
                           if label else
                           "inside the theorem's finite-k regime (all conditions hold)"))
    acc = payloads.get("multiview_accuracy", {}).get("summary", {})
    for method, tests in acc.items():
        click.echo(f"  {method:17s} multi-view acc {tests['multi']['mean']:.3f} +- "
                   f"{tests['multi']['sd']:.3f}   single-view acc {tests['single']['mean']:.3f}"
                   f" +- {tests['single']['sd']:.3f}")
    counts = payloads.get("multiview_captured_views", {})
    for key, name in (("sl_counts", "SL"), ("mrp_counts", "MRP")):
        if key in counts:
            c = np.asarray(counts[key])
            click.echo(f"  {name}: captured views per class {c.mean():.2f} (classes with 0/1/2 "
                       f"views: {[int((c == v).sum()) for v in (0, 1, 2)]})")
    lot = payloads.get("multiview_lottery")
    if lot:
        click.echo(f"  SL lottery hit rate {np.mean(lot['hit_rate_all']):.3f} (chance 0.5)")


@click.group()
def multiview() -> None:
    """Multi-view data simulator: supervised learning vs mask-reconstruction pretraining
    (Pan, Zhou & Yan 2022 on the data model of Allen-Zhu & Li 2020)."""


def _run_single(kw: dict, which: str) -> None:
    """``multiview sl`` / ``multiview mrp``: train one learner (``which``) on its data, write its
    ``multiview_<which>_*`` payloads and echo the summary."""
    from mrptheory.experiments.multiview import make_data, train_mrp, train_sl
    from mrptheory.experiments.multiview.experiment import build_payloads

    if which == "mrp":  # an option that only SL's config has would be silently ignored
        for key in keys(SLConfig):
            if key not in keys(MRPConfig) and key in kw and given(key):
                raise ConfigError(f"{option_flag(SLConfig, key)} sets SL's {key} and is not used "
                                  f"by `multiview mrp`: use {option_flag(MRPConfig, key)} "
                                  "(--ft-steps, --probe-steps after pretraining)")
    kw["_which"] = which
    (data_cfg, sl_cfg, mrp_cfg), device, seeds = _setup(kw)
    cfg = sl_cfg if which == "sl" else mrp_cfg
    data = make_data(data_cfg, seeds, cfg.n_train, cfg.n_test, device,
                     **({"n_pretrain": mrp_cfg.n_pretrain} if which == "mrp" else {}))
    res = (train_sl if which == "sl" else train_mrp)(data_cfg, cfg, seeds, device=device,
                                                     data=data, show_progress=kw["progress"])
    common = {"config": {"data": data_cfg, which: cfg}, "seeds": seeds, "device": str(device)}
    payloads = build_payloads(common, data_cfg, sl_cfg, mrp_cfg, *((res, None) if which == "sl"
                                                                   else (None, res)))
    for p in _write(payloads, Path(kw["out_dir"]), prefix=f"{which}_"):
        click.echo(f"wrote {p}")
    _echo_summary(payloads)
    click.echo(f"  ({plural(len(seeds), 'seed')} on {device}, {res.seconds:.1f}s)")


@multiview.command()
@_data_options
@_model_options
@_run_options
def sl(**kw) -> None:
    """Train the supervised two-layer conv learner (many seeds at once)."""
    _run_single(kw, "sl")


@multiview.command()
@_data_options
@_model_options
@_mrp_options
@_run_options
def mrp(**kw) -> None:
    """MRP pretraining, then linear probe and fine-tuning (many seeds at once)."""
    _run_single(kw, "mrp")


@multiview.command()
@_data_options
@_model_options
@_mrp_options
@_run_options
@launcher_options
@click.option("--sweep", "sweep_spec", default=None,
              help="Sweep one knob: NAME=V1,V2,... with NAME in mu, mask_ratio, m, sigma_0, d, q, "
                   "gamma, sigma_p.")
def compare(sweep_spec: str | None, **kw) -> None:
    """SL vs MRP on the same data and seeds: figures and JSON numbers in --out."""
    from mrptheory.experiments.multiview.experiment import (parse_sweep, run_compare,
                                                            run_multiview_sweep)

    sweep = parse_sweep(sweep_spec) if sweep_spec else None  # validate before any work
    launcher = pop_launcher_options(kw)
    if sweep is not None:
        refuse_swept(sweep[0])
    elif launcher.name != "local":
        raise ConfigError("--launcher submitit runs the units of --sweep; a single comparison "
                          "runs here (use --launcher local)")
    (data_cfg, sl_cfg, mrp_cfg), device, seeds = _setup(kw)
    out = Path(kw["out_dir"])
    if sweep is not None:
        from mrptheory.experiments.multiview.experiment import apply_override

        param, values = sweep
        for v in values:  # every point's config is validated before the first run
            apply_override(data_cfg, sl_cfg, mrp_cfg, param, v)
        payload = run_multiview_sweep(data_cfg, sl_cfg, mrp_cfg, param, values, seeds,
                                      out / f"multiview_sweep_{param}.jsonl",
                                      device=unit_device(launcher, kw["device"]),
                                      show_progress=kw["progress"], launcher=launcher)
        for p in write({f"multiview_sweep_{param}": payload}, out):
            click.echo(f"wrote {p}")
        for pt in payload["points"]:
            s = pt["summary"]
            click.echo(f"  {param}={pt['value']:g}: SL one-view classes "
                       f"{s['sl_frac_classes_one_view']['mean']:.2f}, MRP features captured "
                       f"{s['mrp_frac_features_captured']['mean']:.2f}, single-view acc SL "
                       f"{s['acc']['SL']['single']['mean']:.3f} / MRP-FT "
                       f"{s['acc']['MRP fine-tuned']['single']['mean']:.3f}")
        return
    res = run_compare(data_cfg, sl_cfg, mrp_cfg, seeds, device=device,
                      show_progress=kw["progress"])
    # the noisy preset's figures sit beside the theory-regime ones instead of replacing them
    prefix = "noisy_" if kw.get("preset") == "noisy" else ""
    for p in _write(res.payloads, out, prefix=prefix):
        click.echo(f"wrote {p}")
    _echo_summary(res.payloads)
    click.echo(f"  ({plural(len(seeds), 'seed')} on {device}; SL {res.sl.seconds:.1f}s, "
               f"MRP {res.mrp.seconds:.1f}s)")


@multiview.command()
@_data_options
@_model_options
@_mrp_options
@_run_options
@launcher_options
@dry_run_option
@click.option("--map", "maps", type=click.Choice(["leak_gap", "mu_d", "all"]), default="all",
              show_default=True, help="Which regime map to run.")
@click.option("--quick", is_flag=True,
              help="3 x 2 grid per map, 2 seeds per cell (4 inside the regime); the cells' runs "
                   "are not shortened.")
def regime(**kw) -> None:
    """Regime maps: 2-D sweeps (leak ratio x sigma_0/rho; mu x d) with each prediction's verdict
    per cell, heat maps with the boundary where it stops holding and the theory's regime
    boundary. Resumable: finished cells are kept in --out/multiview_regime_<map>.jsonl."""
    from mrptheory.experiments.multiview.regime_map import boundary_summary, run_regime_map

    launcher = pop_launcher_options(kw)
    src = click.get_current_context().get_parameter_source("n_seeds")
    if src == click.core.ParameterSource.DEFAULT:  # not given: 2 seeds per cell quick, 4 full
        kw["n_seeds"] = None
    kw.update(with_presets(kw))  # --map, --quick and --seeds may come from the preset too
    maps, quick, dry_run = kw.pop("maps"), kw.pop("quick"), kw.pop("dry_run")
    if kw["n_seeds"] is None:
        kw["n_seeds"] = 2 if quick else 4
    for name in (("leak_gap", "mu_d") if maps == "all" else (maps,)):  # knobs each map sets
        for knob in {"leak_gap": ("gamma", "sigma_p", "sigma_0"), "mu_d": ("d", "mu")}[name]:
            refuse_swept(knob, f"--map {name}")
    if dry_run:  # the cost of the map, before the memory check refuses a size this machine lacks
        from mrptheory.experiments.multiview.dry_run import plan_regime

        print_dry_run(lambda device: plan_regime(dry_run_inputs()[0], kw, maps, kw["n_seeds"],
                                                 quick, device), kw["device"])
        return
    (data_cfg, sl_cfg, mrp_cfg), device, seeds = _setup(kw)
    out = Path(kw["out_dir"])
    for name in (("leak_gap", "mu_d") if maps == "all" else (maps,)):
        payload = run_regime_map(name, (data_cfg, sl_cfg, mrp_cfg), seeds,
                                 out / f"multiview_regime_{name}.jsonl", quick=quick,
                                 device=unit_device(launcher, kw["device"]),
                                 show_progress=kw["progress"], launcher=launcher)
        payload["figure_name"] = f"multiview_regime_{name}"
        for p in write({f"multiview_regime_{name}": payload}, out):
            click.echo(f"wrote {p}")
        for pred, line in boundary_summary(payload).items():
            click.echo(f"  {name} {pred}: {line}")


__all__ = ["multiview", "build_configs"]
