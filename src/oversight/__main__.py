"""`python -m oversight` is the `oversight` command."""

from oversight.cli import main

main()
