"""Run the derivation :mod:`mrptheory.proofs.masking_changes_subspace` (``python -m proofs.masking_changes_subspace``)."""

from mrptheory.proofs._result import main_for
from mrptheory.proofs.masking_changes_subspace import derive

if __name__ == "__main__":
    main_for(derive)
