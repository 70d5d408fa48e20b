"""``python -m revier_feed`` runs the command line."""

from .cli import main

raise SystemExit(main())
