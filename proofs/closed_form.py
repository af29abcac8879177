"""Run the derivation :mod:`mrptheory.proofs.closed_form` (``python -m proofs.closed_form``)."""

from mrptheory.proofs._result import main_for
from mrptheory.proofs.closed_form import derive

if __name__ == "__main__":
    main_for(derive)
