"""revier-feed: collect a region's news from feeds and web pages, merge stories, publish feeds."""

import logging

__version__ = "0.1.0"

# The package stays silent until the CLI configures logging (as a library should).
logging.getLogger(__name__).addHandler(logging.NullHandler())
