"""One module per `riskcard` subcommand (see transforms.cli.main)."""
