"""Who can reach the servers: loopback only by default, no foreign web origin."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import requests

from bot.serving.launcher import action_server_command, rasa_server_command, server_env
from bot.settings import load_settings
from tests.servers import Servers

EVIL = "https://evil.example"


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # the kernel writes each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(ipaddress.ip_address(packed))
    return found


def test_commands_take_the_host_the_origins_and_the_log_level(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "NEUROBOT_HOST": "10.0.0.5",
            "NEUROBOT_ALLOWED_ORIGINS": "https://chat.example.org",
            "NEUROBOT_LOG_LEVEL": "warning",
            "NEUROBOT_ACTIONS_TOKEN": "configured-actions-token-0123456789",
            "NEUROBOT_STATE_DIR": str(tmp_path),
        }
    )
    rasa = rasa_server_command(settings)
    assert rasa[rasa.index("--interface") + 1] == "10.0.0.5"
    assert rasa[rasa.index("--cors") + 1 :] == ["https://chat.example.org"]
    actions = action_server_command(settings)
    assert actions[1:] == [
        "-m",
        "actions.server",
        *("--host", "10.0.0.5"),
        *("--port", "5055"),
        *("--log-level", "WARNING"),
    ]
    env = server_env(settings, base={})
    assert env["NEUROBOT_ACTIONS_TOKEN"] == "configured-actions-token-0123456789"
    assert env["LOG_LEVEL"] == "WARNING"
    assert env["NEUROBOT_ACTIONS_URL"] == "http://10.0.0.5:5055/webhook"


@pytest.mark.server
def test_both_servers_listen_on_loopback_only(servers: Servers) -> None:
    for port in (servers.settings.rasa_port, servers.settings.actions_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert all(a.is_loopback for a in addresses), (port, addresses)


@pytest.mark.server
def test_a_foreign_origin_gets_no_cors_grant(servers: Servers, actions_url: str) -> None:
    preflight = {"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    for url in (f"{servers.url}/webhooks/rest/webhook", f"{actions_url}/webhook"):
        answer = requests.options(url, headers=preflight, timeout=30)
        assert "Access-Control-Allow-Origin" not in answer.headers, (url, answer.headers)
    hello = requests.get(f"{servers.url}/", headers={"Origin": EVIL}, timeout=30)
    assert "Access-Control-Allow-Origin" not in hello.headers
    # the server's own origin is still granted
    own = servers.settings.origins[0]
    granted = requests.options(
        f"{servers.url}/webhooks/rest/webhook",
        headers={**preflight, "Origin": own},
        timeout=30,
    )
    assert granted.headers.get("Access-Control-Allow-Origin") == own
