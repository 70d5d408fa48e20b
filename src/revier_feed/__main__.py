"""``python -m revier_feed`` runs the command line."""

from ._console import run

run()
