"""`python -m vivavoce ...`: the same as the `vivavoce` command."""

from vivavoce.cli import main

main()
