"""Allow `python -m bot` as a synonym for the `social-review` command."""

import sys

from .cli import main

sys.exit(main())
