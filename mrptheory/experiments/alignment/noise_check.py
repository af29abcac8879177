"""``mrp noise-check NOISE``: can this noise change what a linear DAE learns? Verdict + evidence."""

from __future__ import annotations

import click
import numpy as np

from mrptheory.cli_support.options import seed_option, yes_option
from mrptheory.errors import ConfigError
from mrptheory.linear.noise import NOISE_SPEC_HELP
from mrptheory.cli_support.outputs import writable_file_callback


def _parse_shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(t) for t in text.lower().replace("x", ",").split(","))
    except ValueError:
        raise ConfigError(f"--image-shape must look like C,H,W (e.g. 1,4,4); got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"--image-shape must be three positive integers C,H,W; got {text!r}")
    return shape  # type: ignore[return-value]


HELP = f"""Verdict on NOISE: does it ever change the subspace a linear DAE learns?

NOISE is a spec: {NOISE_SPEC_HELP}.

A symbolic proof is given when the noise's moments are matrix functions of the data
covariance; otherwise a random search looks for a covariance where the learned top-K subspace
differs from PCA's. The exact moments are also checked against Monte Carlo.
"""


@click.command("noise-check", help=HELP, short_help="Can this noise change what a linear DAE learns?")
@click.argument("noise")
@click.option("--trials", type=int, default=200, show_default=True,
              help="Random covariances searched for a counterexample.")
@click.option("--image-shape", default=None, help="C,H,W of the small test images (default: "
              "the smallest shapes that fit the noise, tried in turn).")
@click.option("--mc-draws", type=int, default=2000, show_default=True,
              help="Monte-Carlo draws for the moment check (0 to skip, else at least 2).")
@seed_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              callback=writable_file_callback,
              help="Also save the verdict and evidence as JSON.")
@yes_option
def noise_check(noise, trials, image_shape, mc_draws, seed, json_path, yes):
    """Print (and optionally save) the never-beneficial verdict on NOISE with its evidence."""
    from mrptheory.linear.monte_carlo import check_moments
    from mrptheory.linear import never_beneficial
    from mrptheory.linear.never_beneficial import default_image_shape
    from mrptheory.linear.noise import parse_noise
    from mrptheory.resources import check_fits, check_work, monte_carlo_seconds
    from mrptheory.results import save_json
    from mrptheory.validation import check_int

    # every flag is checked before any work (the search can take minutes)
    model = parse_noise(noise)
    check_int("--trials", trials, 1)
    if mc_draws != 0 and check_int("--mc-draws", mc_draws) < 2:
        raise ConfigError(f"--mc-draws must be 0 (skip the check) or at least 2 (a standard error "
                          f"needs two draws), got {mc_draws}")
    requested = _parse_shape(image_shape)
    if requested is not None:
        d = int(np.prod(requested))
        check_fits(never_beneficial.estimated_bytes(requested),
                   f"the search on {requested[0]}x{requested[1]}x{requested[2]} images (D = {d}: "
                   f"about {never_beneficial.DENSE_MATRICES} D x D float64 matrices)",
                   "--image-shape")
    if mc_draws:
        mc_dim = int(np.prod(requested or default_image_shape(model)))
        check_work(monte_carlo_seconds(mc_draws, mc_dim),
                   f"{mc_draws} Monte-Carlo draws on D = {mc_dim} pixels", "--mc-draws", yes=yes,
                   rate="about 0.2 ms per draw plus 1e-8 s per entry of the D x D sums")
    verdict = never_beneficial.check_never_beneficial(model, requested, trials, seed)
    shape = (verdict.counterexample.image_shape if verdict.counterexample is not None
             else requested or default_image_shape(model))
    click.echo(verdict.summary)
    if verdict.symbolic is not None:
        click.echo("\nsymbolic argument:")
        for step in verdict.symbolic.steps:
            click.echo(f"  - {step}")
    for note in verdict.notes:
        click.echo(f"note: {note}")
    record = {"noise": model.name, "changes_subspace": verdict.changes_subspace,
              "summary": verdict.summary, "image_shape": list(shape), "trials": trials, "seed": seed,
              "symbolic_steps": verdict.symbolic.steps if verdict.symbolic else None}
    c = verdict.counterexample
    if c is not None:
        with np.printoptions(precision=3, suppress=True, linewidth=110):
            click.echo(f"\ncounterexample covariance (D = {c.covariance.shape[0]}, image {c.image_shape}):")
            click.echo(str(c.covariance))
            click.echo(f"top principal direction:  {c.pca_top}")
            click.echo(f"top learned direction:    {c.noise_top}")
        click.echo(f"top-{c.k} subspace overlap with PCA: {c.overlap:.6f} (1 = same subspace)")
        record["counterexample"] = {"covariance": c.covariance, "k": c.k, "overlap": c.overlap,
                                    "pca_top": c.pca_top, "noise_top": c.noise_top}
    if mc_draws:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(8, int(np.prod(shape))))
        try:
            mc = check_moments(model, x, mc_draws, shape, seed)
        except NotImplementedError:
            click.echo("\nMonte-Carlo moment check: skipped (this noise model has no sampler)")
        else:
            status = "agree" if mc.passed() else "DISAGREE"
            click.echo(f"\nMonte-Carlo moment check ({mc_draws} draws): exact and sampled moments "
                       f"{status} (largest deviation {mc.max_z:.2f} standard errors; tolerance 6)")
            record["monte_carlo"] = {"max_z": mc.max_z, "passed": mc.passed(), "draws": mc_draws}
    if json_path:
        save_json(json_path, record)
        click.echo(f"wrote {json_path}")
