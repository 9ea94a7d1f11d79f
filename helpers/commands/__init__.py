"""The subcommands of ``course``, one module each: :mod:`helpers.cli` builds the parser and imports
only the module of the subcommand that runs, so that each command loads only what it needs."""
