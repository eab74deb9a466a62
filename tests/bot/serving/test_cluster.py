"""The cluster's files: nginx configuration, replica settings, store URLs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.errors import ConfigError, ServiceError
from bot.serving.cluster import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    LEAN_ENV,
    SAMPLE_SITE,
    Cluster,
    Layout,
    check_nginx,
    cluster_settings,
    lean_env,
    plan,
    render_nginx,
    render_sample_site,
    render_site,
)
from bot.settings import load_settings
from tests.conftest import ROOT


def layout(tmp_path: Path) -> Layout:
    return Layout(
        listen="127.0.0.1:18080",
        rasa=("127.0.0.1:15001", "127.0.0.1:15002"),
        actions=("127.0.0.1:15101", "127.0.0.1:15102"),
        actions_listen="127.0.0.1:15100",
        prefix=tmp_path / "cluster",
    )


def test_nginx_spreads_rest_pins_socketio_by_cookie_and_balances_actions(tmp_path: Path) -> None:
    conf = render_nginx(layout(tmp_path))
    blocks = {
        name: conf.split(f"upstream {name} {{", 1)[1].split("}", 1)[0]
        for name in ("rasa", "socketio", "webhooks", "actions")
        for name in [f"neurobot_{name}"]
    }
    rasa = blocks["neurobot_rasa"]
    assert [line.split()[1] for line in rasa.splitlines() if "server " in line] == [
        "127.0.0.1:15001",
        "127.0.0.1:15002",
    ]
    assert "hash $neurobot_route consistent;" in blocks["neurobot_socketio"]
    assert "server 127.0.0.1:15002 backup;" in blocks["neurobot_webhooks"]
    actions = blocks["neurobot_actions"]
    assert "least_conn;" in actions
    assert "127.0.0.1:15101" in actions and "127.0.0.1:15102" in actions
    assert "listen 127.0.0.1:18080;" in conf and "listen 127.0.0.1:15100;" in conf
    # the route cookie is set on the socket.io path, and the upgrade headers pass
    assert 'Set-Cookie "neurobot_route=$neurobot_route; Path=/socket.io/' in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert f"pid {tmp_path / 'cluster'}/nginx.pid;" in conf
    assert "access_log off;" in conf
    assert "HttpOnly; SameSite=Strict" in conf  # plain HTTP on one machine: no Secure
    assert "${" not in conf


def test_the_proxy_host_site_is_written_from_the_same_template() -> None:
    site = render_sample_site()
    assert (ROOT / "deploy" / "nginx" / "neurobot.conf").read_text(encoding="utf-8") == site, (
        "deploy/nginx/neurobot.conf is out of date: "
        "python -m bot.serving.cluster --write-site deploy/nginx/neurobot.conf"
    )
    cluster_rules = render_site(SAMPLE_SITE)
    # the same rules as the cluster's, plus TLS, the Secure cookie and the access rules
    added = [line.strip() for line in site.splitlines() if line not in cluster_rules.splitlines()]
    assert [line for line in added if line and not line.startswith("#")] == [
        "server_name bot.hospital.example;",
        "ssl_certificate     /etc/ssl/certs/bot.hospital.example.pem;",
        "ssl_certificate_key /etc/ssl/private/bot.hospital.example.key;",
        'add_header Set-Cookie "neurobot_route=$neurobot_route; Path=/socket.io/; HttpOnly; '
        'Secure; SameSite=Strict" always;',
        "allow 10.0.0.0/24;  # the Rasa hosts",
        "deny all;",
    ]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx: run `make nginx-deps`")
def test_nginx_accepts_the_written_configuration(tmp_path: Path) -> None:
    cluster = layout(tmp_path)
    (cluster.prefix / "logs").mkdir(parents=True)
    (cluster.prefix / "tmp").mkdir()
    (cluster.prefix / "nginx.conf").write_text(render_nginx(cluster))
    check_nginx(cluster)
    (cluster.prefix / "nginx.conf").write_text("events {}\nhttp { upstream x { hash; } }\n")
    with pytest.raises(ServiceError, match="nginx refused"):
        check_nginx(cluster)


def test_replicas_share_the_stores_and_call_the_action_balancer(tmp_path: Path) -> None:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path)})
    cluster = layout(tmp_path)
    replica = cluster_settings(settings, cluster)
    assert (replica.database_url, replica.redis_url) == (DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    assert replica.actions_url == "http://127.0.0.1:15100/webhook"
    own = load_settings(
        {
            "NEUROBOT_STATE_DIR": str(tmp_path),
            "NEUROBOT_DATABASE_URL": "postgresql://bot:pw@db.internal:5432/neuro",
            "NEUROBOT_REDIS_URL": "redis://cache.internal:6379/4",
        }
    )
    assert cluster_settings(own, cluster).database_url.endswith("@db.internal:5432/neuro")
    assert cluster_settings(own, cluster).redis_url == "redis://cache.internal:6379/4"


def test_browsers_may_connect_through_nginx_only(tmp_path: Path) -> None:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path)})
    assert Cluster(settings, layout(tmp_path)).origins == (
        "http://127.0.0.1:18080",
        "http://localhost:18080",
    )
    chosen = load_settings(
        {"NEUROBOT_STATE_DIR": str(tmp_path), "NEUROBOT_ALLOWED_ORIGINS": "https://bot.example"}
    )
    assert Cluster(chosen, layout(tmp_path)).origins == ("https://bot.example",)


def test_the_cluster_writes_endpoints_with_both_stores(tmp_path: Path) -> None:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path)})
    cluster = Cluster(settings, layout(tmp_path))
    env = cluster.write_files()
    endpoints = yaml.safe_load((tmp_path / "cluster" / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:15100/webhook"
    assert endpoints["tracker_store"]["dialect"].startswith("postgresql")
    assert endpoints["tracker_store"]["db"] == "neurobot_cluster"
    assert endpoints["lock_store"]["type"] == "redis"
    assert (tmp_path / "cluster" / "endpoints.yml").stat().st_mode & 0o077 == 0
    assert env["NEUROBOT_ALLOWED_ORIGINS"] == "http://127.0.0.1:18080,http://localhost:18080"
    assert env["MALLOC_ARENA_MAX"] == LEAN_ENV["MALLOC_ARENA_MAX"]
    assert (tmp_path / "cluster" / "nginx.conf").is_file()


def test_lean_env_leaves_chosen_values() -> None:
    assert lean_env({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"
    assert lean_env({})["TF_NUM_INTRAOP_THREADS"] == "1"


def test_plan_needs_a_server_of_each_kind(tmp_path: Path) -> None:
    settings = load_settings({"NEUROBOT_STATE_DIR": str(tmp_path), "NEUROBOT_CLUSTER_PORT": "9090"})
    chosen = plan(settings, 3, 2)
    assert chosen.listen == "127.0.0.1:9090" and len(chosen.rasa) == 3 and len(chosen.actions) == 2
    assert len({*chosen.rasa, *chosen.actions, chosen.actions_listen}) == 6
    with pytest.raises(ConfigError):
        plan(settings, 0, 1)
