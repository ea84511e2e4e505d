"""HubSpot connector alone: full pull of every stream, then score write-back, vs the minimum.

/work/venv/bin/python bench/hubspot_connector.py --leads 5000
"""

from __future__ import annotations

import argparse
import time

from leadbridge.connectors.hubspot import SCORE_FIELDS, HubSpotConnector
from leadbridge.core.models import ScoreWrite
from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    portal = generate_portal(args.leads, seed=args.seed)
    with HubSpotEmulator(portal) as hs:
        connector = HubSpotConnector.from_mapping(
            {
                "base_url": hs.base_url,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
            }
        )
        try:
            start = time.perf_counter()
            for stream in connector.streams():
                t0 = time.perf_counter()
                pages = list(connector.read(stream, None))
                records = sum(len(p.leads) + len(p.activities) + len(p.deleted) for p in pages)
                rejects = sum(len(p.rejects) for p in pages)
                took = time.perf_counter() - t0
                print(f"{stream:12s} {records:7d} records {rejects:4d} rejects {took:6.1f} s")
            print(f"pull total {time.perf_counter() - start:.1f} s")
            connector.ensure_fields(SCORE_FIELDS)
            ids = [str(i) for i in portal.contacts.by_id]
            t0 = time.perf_counter()
            written = 0
            for at in range(0, len(ids), connector.max_batch):
                batch = [
                    ScoreWrite(
                        source_id=i, lead_key=f"hubspot:{i}", values={"leadbridge_score": 50}
                    )
                    for i in ids[at : at + connector.max_batch]
                ]
                written += len(connector.write(batch).succeeded)
            print(f"write {written} records {time.perf_counter() - t0:.1f} s")
            print("calls  ", connector.calls())
            print("minimum", connector.min_calls())
        finally:
            connector.close()


if __name__ == "__main__":
    main()
