"""Pin one image of the prod overlay to a registry and digest: its `images:` entry is rewritten in place.

    python3 deploy/images/pin.py mai/petition-svc registry.example.org/mai/petition-svc sha256:...

Only the entry's lines change (comments and the rest of the file stay as they are); an image not
listed yet is added at the end of the block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OVERLAY = Path(__file__).resolve().parents[1] / "k8s" / "overlays" / "prod" / "kustomization.yaml"


def pin(text: str, name: str, new_name: str, digest: str) -> str:
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise SystemExit(f"not a digest: {digest}")
    block = re.search(r"^images:\n((?:[ \t]+.*\n|#.*\n)*)", text, flags=re.M)
    if block is None:
        raise SystemExit(f"{OVERLAY}: no images: block")
    entry = f"  - name: {name}\n    newName: {new_name}\n    digest: {digest}\n"
    entries = re.split(r"(?m)^(?=  - name: )", block.group(1))
    kept = [e for e in entries if e and not e.startswith(f"  - name: {name}\n")]
    replaced = [entry if e.startswith(f"  - name: {name}\n") else e for e in entries if e]
    body = "".join(replaced) if len(kept) != len([e for e in entries if e]) else "".join(kept) + entry
    return text[: block.start(1)] + body + text[block.end(1) :]


def main() -> None:
    name, new_name, digest = sys.argv[1:4]
    OVERLAY.write_text(pin(OVERLAY.read_text(encoding="utf-8"), name, new_name, digest), encoding="utf-8")


if __name__ == "__main__":
    main()
