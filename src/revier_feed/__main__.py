"""``python -m revier_feed`` runs the command line."""

from .cli import run

run()
