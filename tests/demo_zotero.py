"""Serve a fake Zotero (``tests/zotero_fake.py``) with a small library, for demos offline.

    python -m tests.demo_zotero --port 8788 &
    LITKG_ZOTERO_API_URL=http://127.0.0.1:8788 ZOTERO_API_KEY=demo-key \\
        litkg ingest zotero:users/123/collections/Interpretability --offline

The library is users/123 (key ``demo-key``); the same items are served as the local
API's users/0 at ``http://127.0.0.1:PORT/api`` (``LITKG_ZOTERO_LOCAL_URL``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tests.zotero_fake import FakeZotero

ITEMS: list[dict[str, Any]] = [
    {
        "itemType": "preprint",
        "title": "Toy Models of Superposition",
        "creators": [{"creatorType": "author", "firstName": "Nelson", "lastName": "Elhage"}],
        "date": "2022-09-21",
        "url": "http://arxiv.org/abs/2209.10652",
        "archiveID": "arXiv:2209.10652",
        "repository": "arXiv",
        "tags": [{"tag": "superposition"}],
    },
    {
        "itemType": "preprint",
        "title": "In-context Learning and Induction Heads",
        "creators": [{"creatorType": "author", "firstName": "Catherine", "lastName": "Olsson"}],
        "date": "2022-09-24",
        "archiveID": "arXiv:2209.11895",
        "repository": "arXiv",
    },
    {
        "itemType": "conferencePaper",
        "title": "Locating and Editing Factual Associations in GPT",
        "creators": [{"creatorType": "author", "firstName": "Kevin", "lastName": "Meng"}],
        "date": "2022",
        "proceedingsTitle": "Advances in Neural Information Processing Systems",
        "extra": "arXiv: 2202.05262",
    },
    {"itemType": "note", "note": "<p>Ask Sam about the superposition reading group</p>"},
]


def library(api_key: str = "demo-key") -> FakeZotero:
    fake = FakeZotero(api_key=api_key)
    for name in ("users/123", "users/0"):
        coll = fake.add_collection(name, "Interpretability")
        for item in ITEMS:
            fields = {**item, "collections": [coll]} if item["itemType"] != "note" else item
            fake.add_item(name, fields)
    return fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8788)
    args = parser.parse_args()
    fake = library()
    with fake.serve(port=args.port):
        print(f"fake Zotero at {fake.url} (key demo-key; local API at {fake.local_url})")
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
