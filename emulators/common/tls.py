"""A throwaway certificate authority for emulators that must speak HTTPS.

Some official clients only build ``https://`` URLs (simple-salesforce does), so their
emulator has to serve TLS. `SelfSignedCertificate` makes a fresh key and certificate for
127.0.0.1 and localhost in a private temp dir; clients trust it by pointing ``verify=``
at `ca_path` (the certificate is its own CA), never by disabling verification.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["SelfSignedCertificate"]


class SelfSignedCertificate:
    """A key pair and a self-signed certificate for the loopback host, on disk until `close`."""

    def __init__(self, common_name: str = "leadbridge-emulator", *, days: int = 7) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="leadbridge-tls-"))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert_path = self._dir / "cert.pem"
        self.key_path = self._dir / "key.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.key_path.chmod(0o600)

    @property
    def ca_path(self) -> str:
        """The file a client passes as ``verify=`` to trust this server."""
        return str(self.cert_path)

    def close(self) -> None:
        """Delete the key material."""
        shutil.rmtree(self._dir, ignore_errors=True)
