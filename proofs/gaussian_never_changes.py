"""Run the derivation :mod:`mrptheory.proofs.gaussian_never_changes` (``python -m proofs.gaussian_never_changes``)."""

from mrptheory.proofs._result import main_for
from mrptheory.proofs.gaussian_never_changes import derive

if __name__ == "__main__":
    main_for(derive)
