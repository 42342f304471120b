"""`python -m kartshoppe` is the `kartshoppe` command."""

import sys

from kartshoppe.cli import main

sys.exit(main())
