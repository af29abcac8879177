"""One folder per experiment: its CLI group, config, model(s), training loop, measurements, theory,
claims and figures, behind the package's ``__init__`` facade (its public API).

An experiment imports only the shared kernels below it (``mrptheory.linear``, ``metrics``, ``data``,
``nets``, ``plots.registry`` / ``plots.style``, ``results``, ``checkpoint``, ``claims.registry``,
``cli_support``, ...), never another experiment and never the top layer (``mrptheory.cli``,
``mrptheory.catalog``, the cross-experiment ``mrptheory.commands``); ``tests/test_layers.py`` checks it.
"""
