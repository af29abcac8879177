"""``mrp subspace``: the projection experiment (classify top- vs bottom-subspace projections)."""

from __future__ import annotations

from pathlib import Path

import click

from mrptheory.cli_support.options import (data_root_option, dataset_option, device_option,
                                           dry_run_data_shape, dry_run_inputs, dry_run_option,
                                           experiment_out_option, flags_named, given,
                                           parse_int_list, preset_options, progress_option,
                                           refuse_unused, seed_option, threads_option, with_presets)
from mrptheory.experiments.subspace.dry_run import resnet_bytes
from mrptheory.experiments.subspace.projection import ProjectionConfig
from mrptheory.launch.options import (job_data_source, launcher_options, pop_launcher_options,
                                      unit_device)
from mrptheory.planning import print_dry_run


#: Most test images the projected-images figure shows (one 1.7-inch row each: Agg cannot draw an
#: image taller than 2^16 pixels, about 290 rows at the package's DPI; 100 keeps it readable).
MAX_EXAMPLES = 100


def check_sizes(splits, train_size: int | None, test_size: int | None, examples: int,
                dataset: str, train_size_given: bool) -> None:
    """The work-size rule (``resources.check_within_data``) for ``mrp subspace``: train and test
    sizes within the splits (the default train size is capped, an explicit one is checked), and
    at most :data:`MAX_EXAMPLES` example images, which come from the test images used."""
    from mrptheory.resources import check_within_data
    from mrptheory.validation import check_int

    if train_size and train_size_given:
        check_within_data("--train-size", train_size, len(splits.train), f"train images of {dataset}")
    if test_size:
        check_within_data("--test-size", test_size, len(splits.test), f"test images of {dataset}")
    check_int("--examples", examples, 0, MAX_EXAMPLES)
    check_within_data("--examples", examples, test_size or len(splits.test),
                      f"test images used (--test-size) of {dataset}")


def _configs():
    from mrptheory.experiments.subspace.budget import BudgetConfig

    return ProjectionConfig, BudgetConfig


@click.command()
@preset_options("subspace", *_configs(), derived=("seeds",))
@dataset_option()
@data_root_option
@click.option("--cuts", multiple=True, type=float,
              help="Cut-off share(s) in (0, 1): top = leading directions holding < share of the "
                   "variance, bottom = the rest. Repeat for a grid [default: 0.5 0.8 0.9 0.95].")
@click.option("--archs", multiple=True,
              help="Classifier(s): mlp, resnet9. Repeat for both [default: mlp].")
@click.option("--seeds", "n_seeds", type=int, default=3, show_default=True,
              help="Number of seeds (seed, seed+1, ...).")
@click.option("--epochs", type=int, default=5, show_default=True, help="Epochs (paper: 50).")
@click.option("--train-size", type=int, default=10000, show_default=True,
              help="Train images used (0 = all; the default is capped at the split's size, a "
                   "larger value given explicitly is refused).")
@click.option("--test-size", type=int, default=0, show_default=True,
              help="Test images used (0 = all).")
@click.option("--augment/--no-augment", default=False, show_default=True,
              help="Random crop (padding 2) + horizontal flip.")
@click.option("--resnet-width", type=int, default=16, show_default=True,
              help="ResNet-9 base width (paper: 64).")
@click.option("--examples", type=int, default=6, show_default=True,
              help=f"Test images shown in the projected-images figure (one row each; at most "
                   f"{MAX_EXAMPLES}).")
@click.option("--budget-train-sizes", default=None, metavar="SIZES",
              help="Budget curve instead of the share grid: top-90% vs bottom-20% for each train-set "
                   "size in this comma list (0 = all), e.g. 2000,10000,60000. Writes "
                   "OUT/subspace_budget_<dataset>.json/.png; resumable.")
@click.option("--budget-epochs", default=None, metavar="LIST",
              help="With --budget-train-sizes: epoch counts to sweep (comma list) [default: --epochs].")
@threads_option(default=1)
@device_option
@seed_option
@experiment_out_option("subspace")
@progress_option
@launcher_options
@dry_run_option
def subspace(**kw) -> None:
    """Train the same classifier on images projected onto the top or the bottom principal subspace.

    Balestriero & LeCun 2024: on TinyImageNet the bottom subspace with 20% of the variance
    classifies better (55%) than the top subspace with 90% (45%). Each (share, part, arch, seed)
    unit is appended to a JSONL store in OUT, so a rerun resumes; figures are redrawn with
    ``mrp plot OUT/subspace_<dataset>.json``. With ``--launcher submitit`` each missing unit is
    one job, which reads the data set itself (same --data-root, checked to be the data loaded
    here) and computes the principal basis on its node.
    """
    from mrptheory.data.registry import canonical_name, dataset_fingerprint, load_dataset
    from mrptheory.errors import ConfigError
    from mrptheory.experiments.subspace import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import redraw
    from mrptheory.config_spec import build
    from mrptheory.experiments.subspace.projection import run_projection_sweep

    launcher = pop_launcher_options(kw)
    kw = with_presets(kw)
    for key in ("cuts", "archs"):  # one value from a preset file
        if isinstance(kw[key], (str, float, int)):
            kw[key] = (kw[key],)
    dataset, data_root, shares, archs, n_seeds = (kw["dataset"], kw["data_root"], kw["cuts"],
                                                  kw["archs"], kw["n_seeds"])
    budget_sizes, budget_epochs = kw["budget_train_sizes"], kw["budget_epochs"]
    seed, device, out_dir, progress, threads = (kw["seed"], kw["device"], kw["out_dir"],
                                                kw["progress"], kw["threads"])
    refuse_unused({"--resnet-width": "resnet_width"}, "the ResNet-9 classifier (--archs resnet9)",
                  "resnet9" in archs)
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {n_seeds}")
    if budget_epochs is not None and budget_sizes is None:
        raise ConfigError("--budget-epochs needs --budget-train-sizes SIZES")
    if budget_sizes is not None:
        if shares:
            raise ConfigError("--cuts does not apply with --budget-train-sizes (the budget "
                              "curve compares top-90% with bottom-20%)")
        _run_budget(kw, launcher)
        return
    with flags_named():
        config = build(ProjectionConfig, kw, dataset=canonical_name(dataset),
                       cuts=tuple(shares) if shares else ProjectionConfig.cuts,
                       archs=tuple(archs) if archs else ("mlp",),
                       seeds=tuple(range(seed, seed + n_seeds)))
    if kw["dry_run"]:
        _dry_run(config, [(config.train_size or 0, config.epochs)],
                 len(config.cuts) * len(config.parts) * len(config.seeds),
                 f"projection sweep on {config.dataset}: cuts {list(config.cuts)}, parts "
                 f"{list(config.parts)}, {len(config.seeds)} seeds, {config.epochs} epochs",
                 "--train-size", kw["device"])
        return
    units_on = unit_device(launcher, device)  # a bad --device fails before the data loads
    splits = load_dataset(config.dataset, data_root)
    check_sizes(splits, config.train_size, config.test_size, config.examples, config.dataset,
                given("train_size"))
    if "resnet9" in config.archs:
        from mrptheory.resources import check_fits

        check_fits(resnet_bytes(config.resnet_width, splits.train.image_shape, config.batch_size),
                   f"training ResNet-9 of width {config.resnet_width}", "--resnet-width")
    payload = run_projection_sweep(splits, config, out_dir,
                                   device=units_on,
                                   show_progress=progress, threads=threads or None,
                                   strict_cuts=True,
                                   data_fingerprint=dataset_fingerprint(config.dataset, data_root),
                                   launcher=launcher,
                                   source=job_data_source(launcher, config.dataset, data_root,
                                                          splits))
    # the sweep saved its numbers (and the example images) in out_dir: draw from those files
    paths = redraw(Path(out_dir) / f"{payload['tag']}.json", out_dir)
    if config.examples:
        paths += redraw(Path(out_dir) / f"{payload['tag']}_images.json", out_dir)
    for row in payload["summary"]:
        click.echo(f"{row['arch']:8s} {row['part']:6s} cut {row['cut']:.2f}: "
                   f"{row['dims']:5d} dims, {100 * row['variance_share']:5.1f}% var -> "
                   f"acc {100 * row['mean']:.2f}% (sd {100 * row['std']:.2f}, n={row['n_seeds']})")
    for arch, h in payload["headline"].items():
        if h:
            click.echo(f"{arch}: top-90% {100 * h['top90_mean']:.2f}% vs bottom-20% "
                       f"{100 * h['bottom20_mean']:.2f}% (difference {100 * h['difference']:+.2f}"
                       f" +- {100 * h['se_difference']:.2f} pts)")
    for p in paths:
        click.echo(f"wrote {p}")


def _dry_run(config, cells: list[tuple[int, int]], jobs_per_cell: int, what: str, option: str,
             device: str) -> None:
    """Print the plan of ``config``'s units (:mod:`mrptheory.experiments.subspace.dry_run`): the
    data's shape from the data registry, or from the file's ``[dry_run]`` table."""
    from mrptheory.experiments.subspace.dry_run import plan_subspace, train_images

    label, planned = dry_run_inputs()
    shape, classes = dry_run_data_shape(config.dataset, planned)
    cells = [(train_images(n, planned, option), e) for n, e in cells]
    print_dry_run(lambda dev: plan_subspace(
        label, what=what, archs=config.archs, cells=cells, jobs_per_cell=jobs_per_cell,
        shape=shape, classes=classes, batch=config.batch_size, width=config.resnet_width,
        mlp_max_width=config.mlp_max_width, device=dev), device)


def _run_budget(kw: dict, launcher) -> None:
    """``mrp subspace --budget-train-sizes SIZES``: the budget curve (see
    :mod:`mrptheory.experiments.subspace.budget`)."""
    from mrptheory.data.registry import canonical_name, dataset_fingerprint, load_dataset
    from mrptheory.errors import ConfigError
    from mrptheory.experiments.subspace import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import redraw
    from mrptheory.config_spec import build
    from mrptheory.experiments.subspace.budget import BudgetConfig, run_budget

    sizes = parse_int_list(kw["budget_train_sizes"], "--budget-train-sizes", minimum=0)
    if not sizes:
        raise ConfigError("--budget-train-sizes needs at least one train-set size, e.g. "
                          "2000,10000,0")
    epoch_grid = parse_int_list(kw["budget_epochs"], "--budget-epochs", minimum=1) \
        or (kw["epochs"],)
    dataset, data_root, seed, device, out_dir, progress, threads = (
        kw["dataset"], kw["data_root"], kw["seed"], kw["device"], kw["out_dir"], kw["progress"],
        kw["threads"])
    with flags_named():
        config = build(BudgetConfig, kw, dataset=canonical_name(dataset),
                       archs=tuple(kw["archs"]) or ("mlp",), train_sizes=sizes,
                       epochs=epoch_grid, seeds=tuple(range(seed, seed + kw["n_seeds"])))
    if kw["dry_run"]:
        _dry_run(config, [(n, e) for n in sizes for e in epoch_grid], 2 * len(config.seeds),
                 f"budget curve on {config.dataset} (top-90% vs bottom-20%): n in {list(sizes)}, "
                 f"epochs {list(epoch_grid)}, {len(config.seeds)} seeds",
                 "--budget-train-sizes", device)
        return
    splits = load_dataset(config.dataset, data_root)
    for size in sizes:
        check_sizes(splits, size, config.test_size, 0, config.dataset, True)
    payload = run_budget(splits, config, out_dir,
                         device=unit_device(launcher, device),
                         show_progress=progress, threads=threads or None,
                         data_fingerprint=dataset_fingerprint(config.dataset, data_root),
                         launcher=launcher,
                         source=job_data_source(launcher, config.dataset, data_root, splits))
    for row in payload["summary"]:
        click.echo(f"{row['arch']:8s} n={row['train_size']:6d} {row['epochs']:3d} ep: top-90% "
                   f"{100 * row['top90_mean']:.2f}%  bottom-20% {100 * row['bottom20_mean']:.2f}%  "
                   f"(bottom - top {100 * row['difference']:+.2f} +- "
                   f"{100 * row['se_difference']:.2f} pts, n={row['n_seeds']})")
    for c in payload["crossovers"]:
        where = (f"crossover near n = {c['crossover_size']:.0f}" if c["crossover_size"]
                 else f"no crossover ({c['winner']} wins at every size)")
        click.echo(f"{c['arch']} {c['epochs']} ep: {where}")
    for p in redraw(Path(out_dir) / f"{payload['tag']}.json", out_dir):
        click.echo(f"wrote {p}")
    click.echo(f"wrote {Path(out_dir) / (payload['tag'] + '.json')}")
