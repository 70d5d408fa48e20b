"""The C part of revier-feed: the story stage's text work (stories/_textcore.c), the folded
words tagging reads (_words.c) and the text of sanitized markup (_markup.c).

Everything else about the package is in pyproject.toml. Each extension is optional: where no
C compiler is found the install still succeeds and the same work runs in Python, slower
(the worker says so in its log when it first collects, and the test suite fails).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "revier_feed.stories._textcore",
            sources=["src/revier_feed/stories/_textcore.c"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,
        ),
        Extension(
            "revier_feed._words",
            sources=["src/revier_feed/_words.c"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
            optional=True,
        ),
        Extension(
            "revier_feed._markup",
            sources=["src/revier_feed/_markup.c"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
            optional=True,
        ),
    ]
)
