"""The five MAE claims in their registered protocol, outside `mrp reproduce`.

    python simulations/mae_protocol.py            # quick protocol (about 3 min on 2 idle cores)
    python simulations/mae_protocol.py --full     # default protocol (about 30 min, estimated)

Same as ``mrp reproduce [--quick] --only 'mae-*'``: one shared pretraining on the whole
Fashion-MNIST train split (stored in ``--out`` and reused by every claim and by a re-run), the
label-budget curve, and the ranking sweep (:mod:`mrptheory.experiments.mae.claims`). Independent units run in
two worker processes, which is why this script keeps its work under ``if __name__ == "__main__"``.
"""

from __future__ import annotations

import argparse

from mrptheory.catalog import all_claims
from mrptheory.claims.registry import ClaimContext, run_claim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the default (non-quick) protocol")
    ap.add_argument("--out", default="paper_figs/mae")
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    ctx = ClaimContext(quick=not args.full, out_dir=args.out, data_root=args.data_root)
    for cid, claim in all_claims().items():
        if cid.startswith("mae-"):
            record = run_claim(claim, ctx)
            print(f"{cid}: {record['verdict']} -- {record['measured']}")


if __name__ == "__main__":
    main()
