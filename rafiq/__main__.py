"""``python -m rafiq`` is the ``rafiq`` command."""

from rafiq.cli import main

main()
