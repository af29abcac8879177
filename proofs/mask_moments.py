"""Run the derivation :mod:`mrptheory.proofs.mask_moments` (``python -m proofs.mask_moments``)."""

from mrptheory.proofs._result import main_for
from mrptheory.proofs.mask_moments import derive

if __name__ == "__main__":
    main_for(derive)
