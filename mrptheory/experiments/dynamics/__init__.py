"""Learning dynamics of linear auto-encoders on real images (Saxe et al. 2014; Balestriero &
LeCun 2024): the closed-form gradient flows (``theory``), gradient descent on the same models
(``descent``, ``model``), per-direction probes and summaries, the classifier-lag study
(``classifier_lag``), their claims, figures and the ``mrp dynamics`` command.
"""

from __future__ import annotations

from mrptheory.facade import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "DynamicsConfig": "config", "prepare_dynamics_data": "data",
    "run_dynamics": "experiment", "dynamics_summary": "summary",
    "ClassifierLagConfig": "classifier_lag", "run_classifier_lag": "classifier_lag",
    "lag_summary": "classifier_lag",
    "one_layer_trajectory": "theory", "two_layer_trajectory": "theory",
    "time_to_fraction": "theory",
    "LinearAEDescent": "descent", "descent_trajectory": "descent",
    "dynamics": "cli",
})
