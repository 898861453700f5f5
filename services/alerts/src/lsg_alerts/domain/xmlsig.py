"""Enveloped XML signatures on CAP 1.2 documents (``ds:Signature`` as the alert's last child), verified with
signxml against the certificates a partner registered.

Only the partner's own certificates are trusted (no chain to a CA: the registration is the trust); the signature
must cover the whole alert (an enveloped reference to the document, ``URI=""``), so no element can be wrapped
around or added outside what was signed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

CAP_ALERT_TAG = "{urn:oasis:names:tc:emergency:cap:1.2}alert"


class SignatureRefused(Exception):
    """The document's XML signature does not verify (or is missing where a certificate is registered)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Certificate:
    pem: str
    fingerprint: str  # SHA-256 of the DER, hex
    subject: str
    not_after: datetime


def load_certificate(pem: str) -> Certificate:
    """A PEM X.509 certificate, or ValueError saying why not."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"is not a PEM X.509 certificate: {str(exc)[:120]}") from None
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        fingerprint=hashlib.sha256(der).hexdigest(),
        subject=cert.subject.rfc4514_string()[:300],
        not_after=cert.not_valid_after_utc,
    )


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def verify(body: bytes, certificates: list[str]) -> str:
    """The fingerprint of the registered certificate whose key signed `body`, or SignatureRefused."""
    if not certificates:
        raise SignatureRefused("no-certificate", "no certificate is registered to verify the signature with")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SignatureRefused("bad-xml-signature", f"the document cannot be read: {exc}") from None
    config = SignatureConfiguration(
        require_x509=False, location="./", expect_references=1, ignore_ambiguous_key_info=True
    )
    last = "the signature was made by none of the partner's registered certificates"
    for pem in certificates:
        try:
            result = XMLVerifier().verify(root, x509_cert=pem, expect_config=config)
        except InvalidSignature as exc:
            last = f"the signature does not verify: {str(exc)[:200]}"
            continue
        except (InvalidInput, ValueError, TypeError) as exc:
            raise SignatureRefused("bad-xml-signature", f"the signature is unusable: {str(exc)[:200]}") from None
        signed = result[0] if isinstance(result, list) else result
        if signed.signed_xml is None or signed.signed_xml.tag != CAP_ALERT_TAG:
            raise SignatureRefused("bad-xml-signature", "the signature does not cover the whole alert")
        return load_certificate(pem).fingerprint
    raise SignatureRefused("bad-xml-signature", last)
