"""Child process entry: `python -m bench._group NAME WORKDIR OUT [--quick]`."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from bench.__main__ import GROUPS
from bench.config import Config


def main() -> int:
    name, workdir, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = Config(quick="--quick" in sys.argv[4:], workdir=workdir)
    module = importlib.import_module(GROUPS[name])
    figures = module.run(cfg)
    out.write_text(json.dumps([f.to_json() for f in figures], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
