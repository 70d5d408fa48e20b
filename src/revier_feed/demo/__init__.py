"""The bundled sample region: local websites plus a configuration that points at them.

``revier-feed demo`` starts :class:`~revier_feed.demo.server.SampleRegion`, writes the
configuration from the templates in ``demo/config`` (``{{BASE}}`` becomes the server's
address) and runs one cycle on it.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ..exceptions import RevierError
from .server import BASE_TOKEN, SampleRegion

__all__ = ["SampleRegion", "prepare_demo"]

CONFIG_TEMPLATES = resources.files("revier_feed.demo") / "config"
#: What the demo writes into its output folder; only these are removed on a new run.
DEMO_PARTS = (
    "config",
    "state",
    "feeds",
    "channels",
    "index.html",
    ".revier-feed-published.json",
    "digest-preview",
    "digests",
)
#: Marks a folder as the demo's own, so a new run may clear it.
MARKER = ".revier-feed-demo"


class NotADemoFolder(RevierError):
    """The output folder holds other files; the demo will not delete anything in it."""


def prepare_demo(output_dir: Path, base_url: str) -> Path:
    """Reset the demo folder and write a configuration for sample sites at ``base_url``.

    Returns:
        The configuration folder.

    Raises:
        NotADemoFolder: ``output_dir`` is not empty and was not made by the demo (say, the
            repository itself): nothing in it is touched.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    if any(output_dir.iterdir()) and not (output_dir / MARKER).exists():
        raise NotADemoFolder(
            f"{output_dir} is not empty and was not made by the demo; "
            "choose an empty or new folder with --output"
        )
    (output_dir / MARKER).write_text("made by `revier-feed demo`\n", encoding="utf-8")
    for part in DEMO_PARTS:
        target = output_dir / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    config_dir = output_dir / "config"
    config_dir.mkdir()
    for template in CONFIG_TEMPLATES.iterdir():
        if template.name.endswith(".yaml"):
            text = template.read_bytes().replace(BASE_TOKEN, base_url.encode())
            (config_dir / template.name).write_bytes(text)
        elif template.name.endswith(".png"):  # the site's icon
            (config_dir / template.name).write_bytes(template.read_bytes())
    return config_dir
