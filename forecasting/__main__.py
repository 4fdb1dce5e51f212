"""Run the CLI with ``python -m forecasting``."""

from forecasting.cli import main

main()
