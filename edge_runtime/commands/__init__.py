"""One module per ``eyegrad`` subcommand: ``configure(parser)`` and ``run(args)``."""
