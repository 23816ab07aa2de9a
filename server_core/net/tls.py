"""TLS for a server that leaves loopback: the user's certificate, or a self-signed one made once.

Browsers grant the microphone only to secure pages, so a phone on the LAN needs ``https://``.
Without ``--certfile``, a server bound off loopback keeps a self-signed certificate in the app's
data folder (``$WHISPER_DESKTOP_DATA_DIR`` or platformdirs' user data dir, ``tls/``). Its key is
made once (mode 0600); the certificate is made again, with the same key, only when it no longer
names every address and host name of this machine or is about to expire. People check it by its
SHA-256 fingerprint, which the server prints and the desktop's connect dialog shows.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

DATA_DIR_ENV = "WHISPER_DESKTOP_DATA_DIR"  # the desktop's data folder (whisper_desktop.paths)
APP_NAME = "whisper-desktop"
CERT_NAME = "server-cert.pem"
KEY_NAME = "server-key.pem"
VALID_DAYS = 825  # the longest validity Apple's clients accept for a server certificate
RENEW_BEFORE = dt.timedelta(days=30)


class TlsError(RuntimeError):
    """A certificate or key could not be read or made; str() is one line for people."""


@dataclass(frozen=True)
class TlsOptions:
    """How the server decides on TLS (see ``resolve_tls``)."""

    certfile: Optional[Path] = None  # the user's certificate (PEM, may hold the key too)
    keyfile: Optional[Path] = None  # its key; None: in certfile
    enabled: bool = True  # False (--no-tls): plain http/ws even off loopback
    directory: Optional[Path] = None  # where the self-signed pair lives; None: the data dir


@dataclass(frozen=True)
class TlsFiles:
    """The certificate the server serves, and how people recognise it."""

    certfile: Path
    keyfile: Path
    fingerprint: str  # SHA-256 of the certificate (DER), "AB:CD:..."
    spki_sha256: str  # base64 SHA-256 of the public key (Chromium's --ignore-...-spki-list)
    self_signed: bool


def default_directory() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser() / "tls"
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_NAME)) / "tls"


def format_fingerprint(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def _load_cert(certfile: Path):
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(certfile.read_bytes())
    except OSError as e:
        raise TlsError(f"cannot read certificate {certfile}: {e.strerror or e}") from None
    except ValueError as e:
        raise TlsError(f"{certfile} is not a PEM certificate: {e}") from None


def describe(certfile: Path, keyfile: Path, self_signed: bool) -> TlsFiles:
    from cryptography.hazmat.primitives import serialization

    cert = _load_cert(certfile)
    der = cert.public_bytes(serialization.Encoding.DER)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TlsFiles(
        certfile=certfile,
        keyfile=keyfile,
        fingerprint=format_fingerprint(hashlib.sha256(der).digest()),
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"),
        self_signed=self_signed,
    )


def _interface_addresses() -> set[str]:
    """IPv4 addresses of this machine's interfaces (Linux), without sending anything."""
    found: set[str] = set()
    try:
        import fcntl
        import struct
    except ImportError:  # not on Linux/Unix
        return found
    SIOCGIFADDR = 0x8915
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            with contextlib.suppress(OSError):
                req = struct.pack("256s", name.encode()[:15])
                found.add(socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)[20:24]))
    return found


def machine_names(bind_host: str, extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) a certificate for a server bound to ``bind_host`` must name;
    ``extra`` adds names or addresses clients use (``--allowed-host``, e.g. a Docker host's)."""
    names = {"localhost"} | {e.lower() for e in extra if e != "*" and not _is_ip(e)}
    addresses = {"127.0.0.1", "::1", *(e for e in extra if _is_ip(e))}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.add(name.lower())
    if bind_host in ("", "0.0.0.0", "::"):
        addresses |= _interface_addresses()
        with contextlib.suppress(OSError):
            addresses |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    else:
        try:
            ipaddress.ip_address(bind_host)
            addresses.add(bind_host)
        except ValueError:
            names.add(bind_host.lower())
    ips = sorted(
        {str(ipaddress.ip_address(a.split("%")[0])) for a in addresses if _is_ip(a)},
    )
    return sorted(n for n in names if not _is_ip(n)), ips


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%")[0])
        return True
    except ValueError:
        return False


def _load_or_make_key(keyfile: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if keyfile.is_file():
        try:
            return serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
        except (ValueError, TypeError) as e:
            log.warning("the key %s is unreadable (%s); making a new one", keyfile, e)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = keyfile.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(tmp, 0o600)
    os.replace(tmp, keyfile)
    return key


def _covers(certfile: Path, key, names: list[str], ips: list[str]) -> bool:
    """Whether the certificate there is ours, names all of these, and is not about to expire."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not certfile.is_file():
        return False
    try:
        cert = _load_cert(certfile)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (TlsError, x509.ExtensionNotFound):
        return False
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if cert.public_key().public_bytes(enc, fmt) != key.public_key().public_bytes(enc, fmt):
        return False
    if cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) < RENEW_BEFORE:
        return False
    have_names = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return set(names) <= have_names and set(ips) <= have_ips


def _make_cert(certfile: Path, key, names: list[str], ips: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Whisper Desktop on {socket.gethostname()}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Whisper Desktop (self-signed)"),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    tmp = certfile.with_suffix(".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, certfile)


def ensure_self_signed(directory: Path, names: list[str], ips: list[str]) -> TlsFiles:
    """The self-signed pair in ``directory``, made (or re-made with the same key) as needed."""
    certfile, keyfile = directory / CERT_NAME, directory / KEY_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = _load_or_make_key(keyfile)
        if not _covers(certfile, key, names, ips):
            _make_cert(certfile, key, names, ips)
            log.info("made a self-signed certificate for %s in %s", names + ips, certfile)
    except OSError as e:
        raise TlsError(f"cannot keep a certificate in {directory}: {e.strerror or e}") from None
    return describe(certfile, keyfile, self_signed=True)


def resolve_tls(
    options: TlsOptions, bind_host: str, loopback_only: bool, extra_names: Iterable[str] = ()
) -> Optional[TlsFiles]:
    """The certificate to serve, or None for plain http/ws.

    The user's certificate when given (even on loopback); else, off loopback, the self-signed
    one; never with ``enabled=False``.
    """
    if not options.enabled:
        return None
    if options.certfile is not None:
        keyfile = options.keyfile or options.certfile
        files = describe(Path(options.certfile), Path(keyfile), self_signed=False)
        server_context(files)  # a key that does not fit fails here, in one line
        return files
    if loopback_only:
        return None
    names, ips = machine_names(bind_host, extra_names)
    return ensure_self_signed(options.directory or default_directory(), names, ips)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The server side: TLS 1.2 or newer with this certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(files.certfile), str(files.keyfile))
    except (OSError, ssl.SSLError) as e:
        raise TlsError(
            f"cannot use certificate {files.certfile} with key {files.keyfile}: {e}"
        ) from None
    return ctx
