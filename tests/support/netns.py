"""A network namespace with a veth pair: a peer that really is off loopback (root + iproute2)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


@pytest.fixture
def netns():
    """A network namespace with a veth pair: a peer that really is off loopback."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create a network namespace for a non-local peer")
    tag = os.getpid() % 100000
    ns, host_if, ns_if = f"wdtest{tag}", f"wdh{tag}", f"wdn{tag}"
    octet = tag % 250 + 1
    host_ip, ns_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"

    def ip(*args: str, check: bool = True):
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)

    try:
        ip("netns", "add", ns)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot create a network namespace here: {e.stderr.strip()}")
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, host_ip
    finally:
        ip("netns", "del", ns, check=False)
        ip("link", "del", host_if, check=False)
