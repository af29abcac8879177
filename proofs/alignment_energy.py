"""Run the derivation :mod:`mrptheory.proofs.alignment_energy` (``python -m proofs.alignment_energy``)."""

from mrptheory.proofs._result import main_for
from mrptheory.proofs.alignment_energy import derive

if __name__ == "__main__":
    main_for(derive)
