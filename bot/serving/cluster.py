"""The cluster profile: two Rasa servers and two action servers behind nginx, on one host.

``make cluster`` (``python -m bot.serving.cluster``) starts, on this machine:

* the action servers (``--actions N``, 2 by default) on free loopback ports; every one
  opens the same read-only archive index (``NEUROBOT_DB``) and reopens it when
  ``make index`` has replaced the file (see ``actions.actions.Services``);
* nginx (Debian's package; ``make nginx-deps`` installs it) as this process's child,
  with its own prefix, pid file and logs under ``<state dir>/cluster/``: the public port
  (``NEUROBOT_CLUSTER_PORT``, 8080) spreads REST over the Rasa servers, keeps each web
  chat (socket.io) on one Rasa server by a route cookie, sends the messaging webhooks to
  the first Rasa server, and a loopback port balances the action servers;
* the Rasa servers (``--rasa N``, 2 by default) with PostgreSQL as the tracker store
  (``NEUROBOT_DATABASE_URL``) and Redis as the lock store (``NEUROBOT_REDIS_URL``), so
  that any of them can carry on any conversation.

It warms every Rasa server up, prints the public URL, and restarts any process that
exits (with the launcher's back-off) while the others keep answering; Ctrl-C or SIGTERM
stops everything. ``<state dir>/cluster/cluster.json`` names the processes and ports (the
load and fault runs of :mod:`bot.evaluation.load` read it), ``<state dir>/cluster/logs/`` holds
each server's log. The secrets (REST token, action token, session secret) are the state
dir's, shared by every replica. Nothing here imports Rasa.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, ServiceError
from bot.secrets import rest_token, session_secret
from bot.serving.launcher import (
    MODEL,
    Supervised,
    action_server_command,
    log_to_stderr,
    rasa_server_command,
    server_env,
    stop,
    wait_until_up,
    warm_up,
    warm_up_in_background,
    write_credentials,
)
from bot.serving.store import prune, write_endpoints
from bot.settings import PROJECT_ROOT, Settings, load_settings

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
#: The tracker store when NEUROBOT_DATABASE_URL is empty (PostgreSQL on this machine).
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/neurobot_cluster"
#: The lock store when NEUROBOT_REDIS_URL is empty.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
#: Seconds a conversation's lock lives when the Rasa server holding it dies (Rasa's
#: default is 60: a killed server would hold its patients' next messages that long).
LOCK_LIFETIME_SECONDS = 10

#: Environment that makes each server smaller without making it slower (measured with
#: ``bot load --memory``, see README "Scale-out"): glibc keeps one malloc arena per
#: thread that ever allocated (up to 8 per core), which the thread pools of TensorFlow,
#: onnxruntime and Sanic multiply; two arenas are enough for a server that serves one
#: event loop. TensorFlow's inter- and intra-op pools each start a thread per core; the
#: dialogue and NLU models are small, one message is one small graph run, and two
#: replicas on two cores compete for the same cores anyway.
LEAN_ENV: dict[str, str] = {
    "MALLOC_ARENA_MAX": "2",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}


def lean_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with :data:`LEAN_ENV` added; values already set win."""
    return {**LEAN_ENV, **env}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Layout:
    """Where every process of the cluster listens, and where its files go.

    Attributes:
        listen: The public ``host:port`` of nginx.
        rasa: ``host:port`` of each Rasa server.
        actions: ``host:port`` of each action server.
        actions_listen: nginx's loopback ``host:port`` in front of the action servers.
        prefix: nginx's prefix and the cluster's own files (``<state dir>/cluster``).
    """

    listen: str
    rasa: tuple[str, ...]
    actions: tuple[str, ...]
    actions_listen: str
    prefix: Path

    @property
    def public_url(self) -> str:
        """The URL patients and clients use."""
        host, _, port = self.listen.rpartition(":")
        local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1"}.get(host, host)
        return f"http://{local}:{port}"

    @property
    def actions_url(self) -> str:
        """The action endpoint the Rasa servers call (nginx's balancer)."""
        return f"http://{self.actions_listen}/webhook"


def plan(settings: Settings, rasa: int = 2, actions: int = 2, port: int | None = None) -> Layout:
    """Choose the ports: the public one from the settings, loopback ones that are free."""
    if rasa < 1 or actions < 1:
        raise ConfigError("the cluster needs at least one Rasa server and one action server")
    return Layout(
        listen=f"{settings.host}:{settings.cluster_port if port is None else port}",
        rasa=tuple(f"127.0.0.1:{free_port()}" for _ in range(rasa)),
        actions=tuple(f"127.0.0.1:{free_port()}" for _ in range(actions)),
        actions_listen=f"127.0.0.1:{free_port()}",
        prefix=settings.state_dir / "cluster",
    )


def _servers(addresses: Sequence[str]) -> str:
    return "\n".join(f"    server {a} max_fails=1 fail_timeout=5s;" for a in addresses)


def render_site(
    layout: Layout,
    public_server: Sequence[str] = (),
    actions_access: Sequence[str] = (),
    secure_cookie: bool = False,
    template: Path = TEMPLATE,
) -> str:
    """nginx's rules for ``layout`` (http context), from ``deploy/nginx.conf.template``.

    Args:
        layout: Where nginx listens and where the servers are.
        public_server: Lines added to the public server (a TLS proxy's name, certificate).
        actions_access: Lines added to the action endpoint's server (``allow`` / ``deny``).
        secure_cookie: Mark the socket.io route cookie ``Secure`` (behind HTTPS).
        template: The template.
    """
    pinned = [f"    server {layout.rasa[0]} max_fails=1 fail_timeout=5s;"]
    pinned += [f"    server {a} backup;" for a in layout.rasa[1:]]
    # the template's opening comment is about the template: the files get their own
    rules = template.read_text(encoding="utf-8").split("\n\n", 1)[1]
    return string.Template(rules).substitute(
        listen=layout.listen,
        public_server="".join(f"    {line}\n" for line in public_server),
        actions_listen=layout.actions_listen,
        actions_access="".join(f"    {line}\n" for line in actions_access),
        cookie_secure=" Secure;" if secure_cookie else "",
        rasa_servers=_servers(layout.rasa),
        rasa_pinned="\n".join(pinned),
        action_servers=_servers(layout.actions),
    )


#: nginx's own process on one machine (``make cluster``): the site's rules in its http block.
_CLUSTER_MAIN = """\
# Written by `make cluster` (bot/serving/cluster.py) from deploy/nginx.conf.template; run as
# `nginx -p PREFIX -c PREFIX/nginx.conf`, a child of the cluster.
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/nginx-error.log notice;

events {{
    worker_connections 2048;
}}

http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

{site}}}
"""


def render_nginx(layout: Layout, template: Path = TEMPLATE) -> str:
    """The whole nginx configuration of the cluster's own nginx process for ``layout``."""
    return _CLUSTER_MAIN.format(prefix=layout.prefix, site=render_site(layout, template=template))


#: The sample site of a proxy host (``deploy/nginx/neurobot.conf``): the example hosts of
#: deploy/README.md; an operator replaces the names, addresses and certificate paths.
SAMPLE_SITE = Layout(
    listen="443 ssl http2",
    rasa=("rasa1.internal:5005", "rasa2.internal:5005"),
    actions=("actions1.internal:5055", "actions2.internal:5055"),
    actions_listen="10.0.0.10:5055",  # the proxy's internal address
    prefix=Path("/etc/nginx"),
)
SAMPLE_PUBLIC = (
    "server_name bot.hospital.example;",
    "ssl_certificate     /etc/ssl/certs/bot.hospital.example.pem;",
    "ssl_certificate_key /etc/ssl/private/bot.hospital.example.key;",
)
SAMPLE_ACTIONS_ACCESS = ("allow 10.0.0.0/24;  # the Rasa hosts", "deny all;")
_SAMPLE_HEADER = """\
# Sample nginx site for neurobot on separate hosts, written from deploy/nginx.conf.template
# (the rules `make cluster` runs and tests) by `python -m bot.serving.cluster --write-site
# deploy/nginx/neurobot.conf`: change the template, not this file. Put it in
# /etc/nginx/conf.d/ on the proxy host; replace the host names, the server name and the
# certificate paths. Every Rasa host runs deploy/systemd/neurobot-rasa.service, every
# action host deploy/systemd/neurobot-actions.service, all with the same
# /etc/neurobot/neurobot.env (NEUROBOT_DATABASE_URL, NEUROBOT_REDIS_URL, the tokens; the
# Rasa hosts' NEUROBOT_ACTIONS_URL=http://10.0.0.10:5055/webhook).

"""


def render_sample_site(template: Path = TEMPLATE) -> str:
    """The sample proxy-host site (``deploy/nginx/neurobot.conf``), TLS and access rules in."""
    return _SAMPLE_HEADER + render_site(
        SAMPLE_SITE, SAMPLE_PUBLIC, SAMPLE_ACTIONS_ACCESS, secure_cookie=True, template=template
    )


def nginx_bin() -> str:
    """Debian's nginx, found on PATH or in /usr/sbin.

    Raises:
        ServiceError: It is not installed (``make nginx-deps`` installs it).
    """
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise ServiceError("nginx is not installed: run `make nginx-deps` (apt-get install nginx)")
    return found


def nginx_command(layout: Layout) -> list[str]:
    """nginx in the foreground with the cluster's prefix and configuration."""
    conf = layout.prefix / "nginx.conf"
    return [
        nginx_bin(),
        "-p",
        str(layout.prefix),
        "-c",
        str(conf),
        "-e",
        str(layout.prefix / "logs" / "nginx-error.log"),
    ]


def check_nginx(layout: Layout) -> None:
    """``nginx -t`` on the written configuration.

    Raises:
        ServiceError: nginx refuses it (its own message included).
    """
    result = subprocess.run(
        [*nginx_command(layout), "-t", "-q"], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise ServiceError(f"nginx refused {layout.prefix / 'nginx.conf'}: {result.stderr.strip()}")


def store_urls(settings: Settings) -> tuple[str, str]:
    """The tracker store and lock store URLs: the settings', or the cluster's defaults."""
    return settings.database_url or DEFAULT_DATABASE_URL, settings.redis_url or DEFAULT_REDIS_URL


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist yet.

    Connects to the server's ``postgres`` database (with the same user) to check and
    create it; any other dialect is left alone.

    Raises:
        ServiceError: The server cannot be reached or refuses (the password is not
            part of the message).
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            exists = db.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            ).first()
            if exists is None:
                db.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.SQLAlchemyError as exc:
        where = target.render_as_string(hide_password=True)
        raise ServiceError(f"PostgreSQL at {where}: {type(exc).__name__}: {exc.orig}") from exc
    finally:
        admin.dispose()


def cluster_settings(settings: Settings, layout: Layout) -> Settings:
    """The settings every replica runs with: the stores' URLs (the cluster's defaults when
    unset) and nginx's action balancer as the action endpoint."""
    database, redis = store_urls(settings)
    return dataclasses.replace(
        settings, database_url=database, redis_url=redis, actions_url=layout.actions_url
    )


class Server(Supervised):
    """A supervised server whose output goes to its own log file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        health_url: str = "",
    ) -> None:
        super().__init__(name, command, env, health_url=health_url)
        self.log_path = log

    def start(self) -> subprocess.Popen[bytes]:
        """Start the process, appending its output to its log file."""
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self._started = self.clock()
        return self.process


class Cluster:
    """The processes of the cluster profile: build with :func:`plan`, then :meth:`start`.

    Args:
        settings: The deployment's settings (secrets, index, host, stores).
        layout: The ports and the prefix.
        model: The trained model every Rasa server loads.
    """

    def __init__(self, settings: Settings, layout: Layout, model: Path = MODEL) -> None:
        self.settings = settings
        self.layout = layout
        self.model = model
        self.actions: list[Server] = []
        self.rasa: list[Server] = []
        self.nginx: Server | None = None
        self.warm_up_seconds: list[float] = []

    @property
    def servers(self) -> list[Server]:
        """Every supervised process, nginx included."""
        return [*self.actions, *([self.nginx] if self.nginx else []), *self.rasa]

    def _base_env(self) -> dict[str, str]:
        database, redis = store_urls(self.settings)
        env = lean_env(server_env(self.settings))
        env["NEUROBOT_DATABASE_URL"] = database
        env["NEUROBOT_REDIS_URL"] = redis
        env["NEUROBOT_ACTIONS_URL"] = self.layout.actions_url
        env.setdefault("TICKET_LOCK_LIFETIME", str(LOCK_LIFETIME_SECONDS))
        env["NEUROBOT_ALLOWED_ORIGINS"] = ",".join(self.origins)
        return env

    @property
    def origins(self) -> tuple[str, ...]:
        """Web origins allowed to open the web chat: the settings', or nginx's own (browsers
        reach the web chat through nginx's port, not a Rasa server's)."""
        if self.settings.allowed_origins:
            return self.settings.allowed_origins
        host, _, port = self.layout.listen.rpartition(":")
        local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1"}.get(host, host)
        return (f"http://{local}:{port}", f"http://localhost:{port}")

    def write_files(self) -> dict[str, str]:
        """Write nginx.conf, endpoints.yml and credentials.yml into the prefix; return the
        servers' environment."""
        prefix = self.layout.prefix
        for sub in ("logs", "tmp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        (prefix / "nginx.conf").write_text(render_nginx(self.layout), encoding="utf-8")
        env = self._base_env()
        # the stores and the action balancer, as bot.serving.store writes them for
        # `make run` (private: the action token and the database password are inside)
        write_endpoints(cluster_settings(self.settings, self.layout), prefix / "endpoints.yml")
        write_credentials(prefix / "credentials.yml", env)
        # generated once here, before the replicas race to create them
        rest_token(self.settings)
        session_secret(self.settings)
        return env

    def state(self) -> dict[str, Any]:
        """What ``cluster.json`` holds: the URL, the ports and the current pids."""

        def pid(server: Server) -> int | None:
            return server.process.pid if server.process is not None else None

        return {
            "url": self.layout.public_url,
            "rasa": [
                {"address": a, "pid": pid(s)}
                for a, s in zip(self.layout.rasa, self.rasa, strict=True)
            ],
            "actions": [
                {"address": a, "pid": pid(s)}
                for a, s in zip(self.layout.actions, self.actions, strict=True)
            ],
            "nginx": pid(self.nginx) if self.nginx else None,
            "logs": str(self.layout.prefix / "logs"),
        }

    def save_state(self) -> None:
        """Write ``cluster.json`` (after every start and restart)."""
        (self.layout.prefix / "cluster.json").write_text(
            json.dumps(self.state(), indent=2), encoding="utf-8"
        )

    def start(self, log: Any = log_to_stderr) -> None:
        """Start every process, wait until each answers, warm up every Rasa server.

        Raises:
            ServiceError: A process exited or did not answer in time, or nginx refused
                its configuration, or PostgreSQL cannot be reached.
        """
        if not self.model.exists():
            raise ServiceError(f"no trained model at {self.model}: run `make model` first")
        database, _ = store_urls(self.settings)
        ensure_database(database)
        removed = prune(cluster_settings(self.settings, self.layout))
        if removed.events:
            log(
                f"removed {removed.events} events older than {self.settings.retention_days} "
                f"days ({removed.conversations} conversations whole)"
            )
        env = self.write_files()
        check_nginx(self.layout)
        logs = self.layout.prefix / "logs"
        for i, address in enumerate(self.layout.actions, 1):
            port = int(address.rpartition(":")[2])
            own = dataclasses.replace(self.settings, host="127.0.0.1", actions_port=port)
            self.actions.append(
                Server(
                    f"action server {i}",
                    action_server_command(own),
                    env,
                    logs / f"actions-{i}.log",
                    f"http://{address}/health",
                )
            )
        self.nginx = Server("nginx", nginx_command(self.layout), env, logs / "nginx.out")
        for i, address in enumerate(self.layout.rasa, 1):
            port = int(address.rpartition(":")[2])
            own = dataclasses.replace(self.settings, host="127.0.0.1", rasa_port=port)
            command = rasa_server_command(
                own, model=self.model, credentials=self.layout.prefix / "credentials.yml"
            )
            command[command.index("--endpoints") + 1] = str(self.layout.prefix / "endpoints.yml")
            command[command.index("--cors") + 1 :] = self.origins
            self.rasa.append(
                Server(
                    f"Rasa server {i}",
                    command,
                    env,
                    logs / f"rasa-{i}.log",
                    f"http://{address}/webhooks/rest/",
                )
            )
        for server in self.servers:
            server.start()
        self.save_state()
        for server in self.servers:
            if server.health_url and server.process is not None:
                wait_until_up(server.health_url, server.process, 300)
        processes = [s.process for s in self.servers if s.process is not None]
        for address in self.layout.rasa:
            self.warm_up_seconds.append(warm_up(f"http://{address}", processes=processes))
        # a few more through nginx, so that every action server has loaded the sentence
        # model before the first patient (least_conn takes turns when all are idle)
        for _ in range(2 * len(self.layout.actions)):
            warm_up(self.layout.public_url, processes=processes)
        for server in self.servers:
            server.on_restart = self._restarted

    def _restarted(self, server: Supervised) -> None:
        self.save_state()
        if server in self.rasa:
            address = self.layout.rasa[[*self.rasa].index(server)]
            warm_up_in_background(f"http://{address}")(server)

    def check(self) -> None:
        """Notice exits and restart processes (call it regularly)."""
        for server in self.servers:
            server.check()

    def stop(self) -> None:
        """Stop every process (Rasa servers first, nginx last)."""
        stop([s.process for s in [*self.rasa, *self.actions] if s.process is not None])
        if self.nginx is not None and self.nginx.process is not None:
            stop([self.nginx.process])
        state = self.layout.prefix / "cluster.json"
        state.unlink(missing_ok=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Start the cluster and supervise it until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.serving.cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers (default 2)")
    parser.add_argument("--actions", type=int, default=2, help="action servers (default 2)")
    parser.add_argument("--port", type=int, help="public port (default NEUROBOT_CLUSTER_PORT)")
    parser.add_argument(
        "--write-site",
        type=Path,
        metavar="FILE",
        help="write the sample proxy-host site (deploy/nginx/neurobot.conf) and exit",
    )
    args = parser.parse_args(argv)
    if args.write_site is not None:
        args.write_site.write_text(render_sample_site(), encoding="utf-8")
        print(f"wrote {args.write_site}")
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    cluster: Cluster | None = None
    try:
        settings = load_settings()
        layout = plan(settings, args.rasa, args.actions, args.port)
        cluster = Cluster(settings, layout)
        database, redis = store_urls(settings)
        from sqlalchemy.engine import make_url

        print(
            f"starting the cluster: {args.rasa} Rasa servers, {args.actions} action servers, "
            f"nginx on {layout.listen}; tracker store "
            f"{make_url(database).render_as_string(hide_password=True)}, lock store "
            f"{redis.split('@')[-1]}; logs in {layout.prefix / 'logs'} ...",
            flush=True,
        )
        started = time.monotonic()
        cluster.start()
        print(
            f"\nThe cluster is ready ({time.monotonic() - started:.0f} s). Talk to it at "
            f"{layout.public_url}:\n"
            f"  REST:      POST {layout.public_url}/webhooks/rest/webhook "
            f"with 'Authorization: Bearer $(cat {settings.state_dir / 'rest_token'})'\n"
            f"  web chat:  {layout.public_url}/webhooks/widget/\n"
            f"Rasa servers {', '.join(layout.rasa)}; action servers "
            f"{', '.join(layout.actions)} (behind {layout.actions_listen}).\n"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while True:
            cluster.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping the cluster ...", flush=True)
        return 0
    except (ServiceError, ConfigError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
