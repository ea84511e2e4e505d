"""A separate client process for the cross-process refresh tests (run as a script).

    python auth_refresh_worker.py STORE TOKEN_URL CLIENT_SECRET GO_FILE MODE

The Fernet key comes from LEADBRIDGE_TOKEN_KEY. MODE ``race`` prints READY, waits for
GO_FILE, asks for a token and prints it; ``die-before-persist`` SIGKILLs itself at the
moment the refreshed token would be committed (the token response is already in hand).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from leadbridge.core.auth import OAuthToken
from leadbridge.core.tokens import EncryptedTokenStore, EnvKeySource, LockedTokenSource


class DiesBeforePersist(EncryptedTokenStore):
    def save(self, token: OAuthToken) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    store_path, token_url, secret, go_file, mode = sys.argv[1:6]
    kind = DiesBeforePersist if mode == "die-before-persist" else EncryptedTokenStore
    store = kind(store_path, EnvKeySource(), connection="crm-main")
    source = LockedTokenSource(
        connector="rot",
        token_url=token_url,
        client_id="rot-client",
        client_secret=secret,
        persister=store,
    )
    print("READY", flush=True)
    while not Path(go_file).exists():
        time.sleep(0.002)
    token = source.current()
    print(json.dumps({"access": token.access_token, "refreshes": source.refreshes}), flush=True)


if __name__ == "__main__":
    main()
