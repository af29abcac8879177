"""The cross-experiment sub-commands of the ``mrp`` CLI (``reproduce``, ``plot``, ``prove``,
``datasets``), one module each; each experiment's own command lives in its folder
(``mrptheory.experiments.<name>.cli``). All are listed in ``mrptheory.cli.COMMANDS``."""
