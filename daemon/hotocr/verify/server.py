"""``hotocr verify``: the verification station, served by uvicorn.

At start it finishes any rewrite a crash cut short (``rewrite.recover``), so the outputs it
serves are one set. It reads the token once (``env:NAME`` or ``file:/path``).
"""

from __future__ import annotations

import structlog
import uvicorn

from hotocr.config import Config, resolve_secret
from hotocr.errors import ConfigError
from hotocr.journal import Journal
from hotocr.verify import rewrite
from hotocr.verify.app import make_app
from hotocr.verify.auth import Keys
from hotocr.verify.documents import Catalogue


def serve(config: Config, listen: str) -> int:
    log = structlog.get_logger("hotocr.verify")
    try:
        token = resolve_secret(config.verify.token)
    except ValueError as exc:
        raise ConfigError(f"[verify] token: {exc}") from None
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"[verify] listen = {listen!r}: must be HOST:PORT")
    journal = Journal(config.daemon.state_dir / "journal.sqlite3")
    finished = rewrite.recover(journal, [w.outbox for w in config.watches])
    for sidecar in finished:
        log.info("verify.rewrite_finished", json=str(sidecar))
    keys = Keys(token)
    if keys.open:
        log.warning("verify.no_token", why='token = "": the reverse proxy must authenticate')
    app = make_app(config, Catalogue(config), keys)
    log.info("verify.serving", url=f"http://{listen}/")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host.strip("[]"),
            port=int(port),
            log_level="warning",
            access_log=False,
            server_header=False,
        )
    )
    server.run()
    journal.close()
    return 0
