"""``python -m reliefsvc`` is the ``reliefsvc`` console script."""

from reliefsvc.cli import main

main()
