"""The claims registry behind ``mrp reproduce``.

A claim is a paper's statement made executable: a check function that measures something and
returns a :class:`~mrptheory.claims.registry.ClaimResult` with the measured value, the
expectation (with its tolerance and why) and an honest verdict. Modules register claims with
:func:`~mrptheory.claims.registry.register_claim`; ``CLAIM_MODULES`` lists the modules to import.
"""

from mrptheory.claims.registry import (
    Claim,
    ClaimContext,
    ClaimResult,
    Measurement,
    Verdict,
    all_claims,
    register_claim,
)

__all__ = ["Claim", "ClaimContext", "ClaimResult", "Measurement", "Verdict", "all_claims", "register_claim"]
