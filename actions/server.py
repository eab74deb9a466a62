"""The action server, closed: ``python -m actions.server --host H --port P``.

It builds rasa_sdk's own app (``rasa_sdk.endpoint.create_app``, the one ``rasa run
actions`` serves, with the actions of this package) and, before it runs:

- listens on ``--host`` (``NEUROBOT_HOST``; rasa_sdk 3.6.2 would take ``SANIC_HOST`` and
  default to every interface);
- needs the shared secret on every path but ``/health`` (:mod:`actions.security`);
  the token is ``NEUROBOT_ACTIONS_TOKEN``, else the one kept in ``var/actions_token``;
- allows no browser origin (no CORS: only the Rasa server calls it);
- keeps patient text out of its log (:mod:`addons.privacy`);
- runs each action's search in a pool of ``NEUROBOT_ACTION_WORKERS`` threads
  (:mod:`actions.workers`), so the event loop keeps answering other patients meanwhile,
  and numpy's BLAS on one thread (:func:`actions.workers.one_blas_thread`).

rasa_sdk's plugin hook (``attach_sanic_app_extensions``) would only find a top-level
package named ``rasa_sdk_plugins`` and cannot change the interface it listens on, so the
app is assembled here instead; the hook is still called, for parity.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rasa_sdk import utils
from rasa_sdk.constants import DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager

from actions.security import secure
from actions.workers import one_blas_thread
from addons import privacy
from bot.errors import ConfigError
from bot.secrets import actions_token
from bot.settings import LOG_LEVELS, load_settings

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the action server until it is stopped."""
    parser = argparse.ArgumentParser(prog="python -m actions.server")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT)
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="INFO")
    args = parser.parse_args(argv)
    level = logging.getLevelName(args.log_level)
    utils.configure_colored_logging(level)
    logging.getLogger("rasa_sdk").setLevel(level)
    utils.update_sanic_log_level()
    privacy.install()
    try:
        settings = load_settings()
        token = actions_token(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app = secure(create_app("actions", cors_origins=None), token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    blas = one_blas_thread()  # the actions are imported, numpy with them
    logger.info(
        "action server listening on http://%s:%d; searches run in %d worker threads, "
        "BLAS threads %s",
        args.host,
        args.port,
        settings.action_workers,
        blas,
    )
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
