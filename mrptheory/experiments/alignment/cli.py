"""``mrp alignment``: the paper's alignment and impact-of-noise figures from the closed forms."""

from __future__ import annotations

from pathlib import Path

import click

from mrptheory.cli_support.options import (data_root_option, dataset_option, experiment_out_option,
                                           parse_float_list, parse_int_list, progress_option,
                                           seed_option)
from mrptheory.errors import ConfigError
from mrptheory.linear.noise import NOISE_SPEC_HELP, parse_noise


def run_alignment(dataset: str, noises: list[str], out_dir: Path, data_root: str | None,
                  max_samples: int | None, k_min: int, pool: int, seed: int,
                  show_progress: bool, class_weighting: str = "count") -> dict:
    """Compute, save (JSON) and draw the alignment study of one data set; return the payload."""
    from mrptheory.data.registry import load_dataset
    from mrptheory.linear.alignment import alignment_study, dataset_moments
    from mrptheory.experiments.alignment import figures  # noqa: F401  (its figure kinds)
    from mrptheory.plots.registry import write
    from mrptheory.validation import check_pool_factor

    models = [parse_noise(n) for n in noises]  # fail on a bad spec before loading anything
    splits = load_dataset(dataset, data_root)
    check_pool_factor("--pool", pool, splits.train.image_shape)
    data = dataset_moments(splits.train, max_samples, seed, pool)
    if k_min > data.dim:
        raise ConfigError(f"--k-min must be at most D = {data.dim}, got {k_min}")
    study = alignment_study(data, models, dataset, show_progress, class_weighting)
    payload = study.to_payload()
    payload.update(k_min=k_min, pool=pool, max_samples=max_samples, seed=seed, noises=noises,
                   image_shape=list(data.image_shape))
    for path in write({f"alignment_{dataset}": payload}, out_dir):
        click.echo(f"wrote {path}")
    return payload


@click.command()
@dataset_option(allow_all=True)
@click.option("--noise", "noises", multiple=True, metavar="SPEC",
              help=f"Noise setting (repeatable). {NOISE_SPEC_HELP}. Default: the paper's grid.")
@click.option("--ratios", default=None, help="Mask drop ratios of the grid (comma list; default: "
              "10 values from 0 to 0.99, as in the paper).")
@click.option("--patch-sides", default=None, help="Square patch sides of the grid (default 1,2,4).")
@click.option("--gaussian-sigma", type=float, default=1.0, show_default=True,
              help="Std of the Gaussian-noise setting of the grid (data standardised to std 1).")
@click.option("--k-min", type=int, default=32, show_default=True,
              help="Smallest K shown in the figures and the summary.")
@click.option("--max-samples", type=int, default=None, help="Subsample the training set.")
@click.option("--pool", type=int, default=1, show_default=True,
              help="Average-pool images by this factor first (large images: each setting is O(D^3)); "
                   "it must divide the image side.")
@click.option("--class-weighting", type=click.Choice(["count", "none"]), default="count",
              show_default=True,
              help="Label energy of the alignment metric: 'count' weights each class by its sample "
                   "count, ||Y Y^T Q||^2 (the authors' code and the paper's figures); 'none' is "
                   "||Y^T Q||^2. Identical on balanced labels.")
@data_root_option
@experiment_out_option("alignment")
@seed_option
@progress_option
def alignment(dataset, noises, ratios, patch_sides, gaussian_sigma, k_min, max_samples, pool,
              class_weighting, data_root, out_dir, seed, progress):
    """Alignment and impact-of-noise figures of the optimal linear DAE (closed form).

    For every noise setting the optimal linear denoising autoencoder is solved in closed form and
    the alignment of its first K features with the labels is computed for every K. Numbers go to
    OUT/alignment_DATASET.json, figures to OUT/alignment_DATASET.png and
    OUT/impact_of_noise_DATASET.png; with --dataset all also OUT/alignment_summary.md.

    \b
    Conventions (defaults = the authors' code, used for the paper's figures):
    - masks: mask:P drops every entry (each channel of each pixel) independently; mask:P:AxB
      drops AxB blocks of pixel locations across all channels, so mask:P:1x1 is the authors'
      1x1 mask. The paper's grid (no --noise) uses mask:P:AxB with A = B in 1, 2, 4. On
      one-channel data (Fashion-MNIST) mask:P and mask:P:1x1 coincide.
    - --class-weighting count: classes weighted by their sample counts (see the option).
    """
    from mrptheory.data.registry import DATASET_NAMES, canonical_name, dataset_status
    from mrptheory.linear.alignment import (PAPER_PATCH_SIDES, PAPER_RATIOS, impact_summary,
                                            paper_noise_grid, summary_markdown)
    from mrptheory.validation import check_int

    from mrptheory.linear.noise import MAX_NOISE_STD
    from mrptheory.validation import check_float

    check_int("--k-min", k_min, 1)
    check_int("--pool", pool, 1)
    if max_samples is not None:
        check_int("--max-samples", max_samples, 2)
    ctx = click.get_current_context()
    grid_flags = [flag for flag, param in (("--ratios", "ratios"), ("--patch-sides", "patch_sides"),
                                           ("--gaussian-sigma", "gaussian_sigma"))
                  if ctx.get_parameter_source(param) is not click.core.ParameterSource.DEFAULT]
    if noises:
        if grid_flags:  # they only shape the default grid, which --noise replaces
            raise ConfigError(f"{'/'.join(grid_flags)} set the default noise grid, which --noise "
                              f"replaces; give either --noise or the grid options, not both")
        specs = list(noises)
    else:
        check_float("--gaussian-sigma", gaussian_sigma, 0.0, MAX_NOISE_STD)
        ratio_grid = parse_float_list(ratios, "--ratios") or PAPER_RATIOS
        for r in ratio_grid:
            if not 0.0 <= r < 1.0:
                raise ConfigError(f"--ratios: a mask ratio must be in [0, 1), got {r:g}")
        sides = parse_int_list(patch_sides, "--patch-sides", minimum=1) or PAPER_PATCH_SIDES
        specs = paper_noise_grid(ratio_grid, sides, gaussian_sigma)
    for spec in specs:
        parse_noise(spec)

    if dataset == "all":
        if data_root is not None:
            raise ConfigError("--data-root names one data set's folder; with --dataset all set "
                              "MRP_<NAME>_DIR for each data set instead")
        names = [n for n in DATASET_NAMES if dataset_status(n).found]
        click.echo(f"data sets found: {', '.join(names) or 'none'}")
    else:
        names = [canonical_name(dataset)]
    rows = []
    for name in names:
        payload = run_alignment(name, specs, Path(out_dir), data_root, max_samples, k_min, pool,
                                seed, progress, class_weighting)
        rows += impact_summary(payload, k_min)
    if dataset == "all":
        from mrptheory.experiments.alignment import figures  # noqa: F401  (its figure kinds)
        from mrptheory.plots.registry import write

        text = summary_markdown(rows, k_min)
        (Path(out_dir) / "alignment_summary.md").write_text(text)
        write({"alignment_summary": {"k_min": k_min, "rows": rows}}, out_dir)
        click.echo(text)
        click.echo(f"wrote {Path(out_dir) / 'alignment_summary.md'}")
