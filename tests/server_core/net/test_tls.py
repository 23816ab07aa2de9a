"""HTTPS/WSS off loopback (issue 10 item 1): the self-signed certificate, the user's own, and
peers in a network namespace (really off loopback) that trust it by CA file or by fingerprint.

The server here is the real LocalServer (uvicorn, TLS, auth) over the fake engine; the real
engine behind TLS is in test_phone_e2e.py.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from server_core.client.tls import ClientTls, connect_kwargs, parse_fingerprint
from server_core.net.server import LocalServer, ServerError, ServerOptions
from server_core.net.tls import (
    CERT_NAME,
    KEY_NAME,
    TlsError,
    TlsOptions,
    ensure_self_signed,
    resolve_tls,
)
from tests.support import ROOT
from tests.support.fake_engine import FakeEngine
from tests.support.wav import write_wav


def san_of(certfile: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    }


# --------------------------------------------------------------------------- certificates


def test_self_signed_pair_is_made_once_with_a_private_key(tmp_path: Path) -> None:
    first = ensure_self_signed(tmp_path, ["localhost", "box"], ["127.0.0.1", "10.1.2.3"])
    assert first.certfile == tmp_path / CERT_NAME and first.keyfile == tmp_path / KEY_NAME
    assert stat.S_IMODE(os.stat(first.keyfile).st_mode) == 0o600
    assert san_of(first.certfile) == ({"localhost", "box"}, {"127.0.0.1", "10.1.2.3"})
    assert len(first.fingerprint.split(":")) == 32 and first.self_signed
    cert_bytes = first.certfile.read_bytes()
    again = ensure_self_signed(tmp_path, ["localhost"], ["10.1.2.3"])  # already covered
    assert again == first and first.certfile.read_bytes() == cert_bytes
    # the fingerprint is the SHA-256 of the DER certificate, as openssl computes it
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", first.certfile],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip().split("=", 1)[1] == first.fingerprint


def test_a_new_address_remakes_the_certificate_with_the_same_key(tmp_path: Path) -> None:
    first = ensure_self_signed(tmp_path, ["localhost"], ["10.1.2.3"])
    key = first.keyfile.read_bytes()
    moved = ensure_self_signed(tmp_path, ["localhost"], ["10.9.9.9"])
    assert moved.fingerprint != first.fingerprint
    assert "10.9.9.9" in san_of(moved.certfile)[1]
    assert moved.keyfile.read_bytes() == key and moved.spki_sha256 == first.spki_sha256


def test_allowed_host_names_go_into_the_certificate(tmp_path: Path) -> None:
    """In Docker the container knows neither the host's name nor its address: --allowed-host
    names them, and the certificate must too."""
    files = resolve_tls(
        TlsOptions(directory=tmp_path),
        "0.0.0.0",
        loopback_only=False,
        extra_names=("Whisper.example.org", "203.0.113.9", "*"),
    )
    names, ips = san_of(files.certfile)
    assert "whisper.example.org" in names and "203.0.113.9" in ips and "*" not in names
    assert "localhost" in names and "127.0.0.1" in ips


def test_who_gets_tls(tmp_path: Path) -> None:
    auto = TlsOptions(directory=tmp_path / "auto")
    assert resolve_tls(auto, "127.0.0.1", loopback_only=True) is None  # loopback: plain
    off = TlsOptions(enabled=False, directory=tmp_path / "off")
    assert resolve_tls(off, "0.0.0.0", loopback_only=False) is None  # --no-tls
    assert not (tmp_path / "off").exists()
    made = resolve_tls(auto, "0.0.0.0", loopback_only=False)
    assert made is not None and made.self_signed
    # the user's certificate, even on loopback, key inside or beside it
    own = ensure_self_signed(tmp_path / "own", ["localhost"], ["127.0.0.1"])
    users = resolve_tls(
        TlsOptions(certfile=own.certfile, keyfile=own.keyfile), "127.0.0.1", loopback_only=True
    )
    assert users is not None and not users.self_signed and users.fingerprint == own.fingerprint
    combined = tmp_path / "both.pem"
    combined.write_bytes(own.certfile.read_bytes() + own.keyfile.read_bytes())
    assert resolve_tls(TlsOptions(certfile=combined), "::1", True).fingerprint == own.fingerprint
    with pytest.raises(TlsError, match="cannot use certificate"):  # a key that does not fit
        resolve_tls(TlsOptions(certfile=own.certfile, keyfile=made.keyfile), "::1", True)
    with pytest.raises(TlsError, match="cannot read certificate"):
        resolve_tls(TlsOptions(certfile=tmp_path / "missing.pem"), "::1", True)


def test_a_bad_certificate_stops_the_server_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    server = LocalServer(FakeEngine(), ServerOptions(port=0, tls=TlsOptions(certfile=bad)))
    with pytest.raises(ServerError, match="not a PEM certificate"):
        server.bind()


def test_fingerprint_forms() -> None:
    pin = "AB:" * 31 + "CD"
    assert parse_fingerprint(pin.lower()) == pin
    assert parse_fingerprint("SHA256:" + pin.replace(":", "")) == pin
    assert parse_fingerprint(f"sha256={pin}") == pin
    for bad in ("AB:CD", "zz" * 32, ""):
        with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
            parse_fingerprint(bad)
    with pytest.raises(ValueError, match="need a wss://"):
        connect_kwargs("ws://10.0.0.1:9000/ws/transcription", ClientTls(fingerprint=pin))
    assert connect_kwargs("ws://127.0.0.1:9000/x", ClientTls()) == {}
    pinned = connect_kwargs("wss://10.0.0.1:9000/x", ClientTls(fingerprint=pin))
    assert pinned["ssl"].verify_mode == ssl.CERT_NONE and "create_connection" in pinned
    verified = connect_kwargs("wss://10.0.0.1:9000/x", ClientTls())
    assert verified["ssl"].verify_mode == ssl.CERT_REQUIRED and verified["ssl"].check_hostname


# --------------------------------------------------------------------------- off loopback, for real

_PEER = r"""
import asyncio, json, ssl, sys, urllib.request, urllib.error
from websockets.asyncio.client import connect
ws_url, http_url, cafile = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cafile)
out = {}
async def main():
    try:
        async with connect(ws_url, ssl=ctx) as ws:
            out["first"] = json.loads(await ws.recv())
            out["tls"] = ws.transport.get_extra_info("ssl_object").version()
    except Exception as e:
        out["ws_error"] = repr(e)
asyncio.run(main())
try:
    with urllib.request.urlopen(http_url, timeout=5) as r:
        out["plain_http"] = r.status
except urllib.error.HTTPError as e:
    out["plain_http"] = e.code
except Exception as e:
    out["plain_http_error"] = type(e).__name__
print(json.dumps(out))
"""


@pytest.fixture
def lan_server(netns, tmp_path: Path):
    """LocalServer on every interface with the fake engine; TLS by default, cert in tmp_path."""
    ns, host_ip = netns
    engine = FakeEngine(word_seconds=0.5)
    server = LocalServer(
        engine, ServerOptions(host="0.0.0.0", port=0, tls=TlsOptions(directory=tmp_path / "tls"))
    )
    server.start()
    yield ns, host_ip, server, engine
    server.stop()
    engine.stop(flush=False)


def in_netns(ns: str, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        ["ip", "netns", "exec", ns, *cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_tls_handshake_off_loopback_with_the_token(lan_server) -> None:
    ns, host_ip, server, _ = lan_server
    assert server.tls is not None and server.token and server.generated_token
    assert host_ip in san_of(server.tls.certfile)[1]  # the certificate names every interface
    assert server.lan_url.startswith("https://") and server.lan_url.endswith(f"={server.token}")
    base = f"wss://{host_ip}:{server.port}/ws/transcription?client_id=peer"
    plain = f"http://{host_ip}:{server.port}/health"
    cafile = str(server.tls.certfile)

    right = json.loads(in_netns(ns, sys.executable, "-c", _PEER, f"{base}&token={server.token}",
                                plain, cafile).stdout)  # fmt: skip
    print("with token:", right)
    assert right["first"]["type"] == "ready" and right["tls"] in ("TLSv1.2", "TLSv1.3")
    assert "plain_http" not in right and right["plain_http_error"]  # plain http is refused
    missing = json.loads(in_netns(ns, sys.executable, "-c", _PEER, base, plain, cafile).stdout)
    assert missing["first"]["code"] == "unauthorized"  # TLS does not replace the token


def test_curl_trusts_the_generated_certificate(lan_server) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    ns, host_ip, server, _ = lan_server
    https = in_netns(
        ns, "curl", "-sS", "--cacert", str(server.tls.certfile),
        f"https://{host_ip}:{server.port}/health",
    )  # fmt: skip
    assert https.returncode == 0, https.stderr
    assert json.loads(https.stdout)["status"] == "ok"
    untrusted = in_netns(ns, "curl", "-sS", f"https://{host_ip}:{server.port}/health")
    assert untrusted.returncode == 60, untrusted  # 60: peer certificate cannot be authenticated
    plain = in_netns(ns, "curl", "-sS", "-m", "10", f"http://{host_ip}:{server.port}/health")
    print("plain http:", plain.returncode, plain.stderr.strip())
    assert plain.returncode != 0 and plain.stdout == ""  # no HTTP answer on the TLS port


def test_example_client_trusts_by_cafile_or_pin_and_refuses_a_wrong_pin(
    lan_server, tmp_path: Path
) -> None:
    ns, host_ip, server, engine = lan_server
    wav = write_wav(tmp_path / "a.wav", 1.2)
    url = f"wss://{host_ip}:{server.port}"

    def client(client_id: str, *trust: str) -> subprocess.CompletedProcess:
        return in_netns(
            ns, sys.executable, "-m", "server_core.client", "--server", url, "--token",
            server.token, "--file", str(wav), "--speed", "4", "--client-id", client_id,
            "--retries", "2", *trust,
        )  # fmt: skip

    by_ca = client("by-ca", "--cafile", str(server.tls.certfile))
    assert by_ca.returncode == 0, by_ca.stderr
    assert "w1" in by_ca.stdout  # the fake engine's words came back over wss
    by_pin = client("by-pin", "--fingerprint", server.tls.fingerprint.replace(":", "").lower())
    assert by_pin.returncode == 0, by_pin.stderr
    assert "w1" in by_pin.stdout

    def sessions_opened() -> int:
        return sum(method == "open_session" for method, _ in engine.calls)

    assert sessions_opened() == 2
    wrong = "00:" * 31 + "00"
    refused = client("wrong-pin", "--fingerprint", wrong)
    print("wrong pin:", refused.stderr.strip())
    assert refused.returncode == 1
    assert server.tls.fingerprint in refused.stderr and "not the pinned" in refused.stderr
    untrusted = client("no-trust")  # neither: verified against the system's CAs, and refused
    assert untrusted.returncode == 1 and "not trusted" in untrusted.stderr
    assert sessions_opened() == 2  # neither refused client got as far as a session
