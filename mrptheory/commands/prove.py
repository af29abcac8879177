"""``mrp prove``: run the sympy derivations (:mod:`mrptheory.proofs`) and print a PASS/FAIL table.

Each proof derives one formula the package relies on (closed form of the linear autoencoder,
Gaussian noise keeps PCA's subspace, mask moments, masking can rotate the subspace, the alignment
metric) and cross-checks it numerically. Exit code 0 when all pass, 1 when any fails, 2 for an
unknown ``--only`` name.
"""

from __future__ import annotations

import click

from mrptheory.errors import ConfigError


@click.command()
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Run only this proof (repeatable). Names: closed_form, gaussian_never_changes, "
                   "mask_moments, masking_changes_subspace, alignment_energy.")
@click.option("--verbose", "-v", is_flag=True, help="Print every derivation step.")
def prove(only: tuple[str, ...], verbose: bool) -> None:
    """Run the symbolic derivations (mrptheory.proofs) and report PASS/FAIL per proof."""
    import mrptheory.proofs as package
    from mrptheory.proofs._result import print_result

    known = package.PROOFS
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ConfigError(f"--only: unknown proof {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(known)}")
    names = list(dict.fromkeys(only)) if only else known

    rows = []
    for name in names:
        result = package.run_one(name)
        if verbose:
            print_result(result)
            click.echo("")
        rows.append(result)

    width = max(len(r.name) for r in rows)
    click.echo(f"{'proof':<{width}}  {'result':<6}  {'seconds':>7}  statement")
    for r in rows:
        verdict = "PASS" if r.passed else "FAIL"
        click.echo(f"{r.name:<{width}}  {verdict:<6}  {r.seconds:7.2f}  {r.statement}")
        for label in r.failed_checks:
            click.echo(f"{'':<{width}}  failed: {label}")
    failed = sum(not r.passed for r in rows)
    total = sum(r.seconds for r in rows)
    click.echo(f"{len(rows) - failed}/{len(rows)} proofs passed in {total:.1f} s")
    if failed:
        raise SystemExit(1)
