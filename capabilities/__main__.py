import os

# This process is ours: pydantic's plugin discovery (an entry-point scan of every installed
# distribution) has nothing to find for the report's models.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from ._cli import main  # noqa: E402

raise SystemExit(main())
