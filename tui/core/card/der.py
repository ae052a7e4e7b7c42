"""Just enough DER to write a CMS and to cut a certificate into its parts.

asn1crypto's object model is the wrong tool for building the signature on
the hot path: its `dump()` takes a definite length whose last header byte is
0x80 (a content of 128, 384, 640 … bytes) for an indefinite one and
re-encodes that whole subtree on every dump, recursively
(wbond/asn1crypto#249), which made one P-256 signature in four take 60 times
longer. A SignedData is a handful of nested TLVs; writing them directly is
exact and cheap. Reading stays strict: DER only (definite, minimal lengths,
low tag numbers), every length checked against the bytes that are there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


def context(number: int, *, constructed: bool = True) -> int:
    """The identifier octet of a context-specific tag [number] (low tag numbers only)."""
    if not 0 <= number <= 30:
        raise ValueError(f"tag number {number} needs the high-tag-number form")
    return 0x80 | (0x20 if constructed else 0) | number


def length(n: int) -> bytes:
    """The DER length octets of a content of `n` bytes (short form below 128)."""
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: int, *parts: bytes) -> bytes:
    """One element: identifier octet, length, and the concatenated `parts` as content."""
    content = b"".join(parts)
    return bytes((tag,)) + length(len(content)) + content


def set_of(elements: Iterable[bytes]) -> bytes:
    """A DER SET OF: the encodings sorted as octet strings (X.690 §11.6)."""
    return tlv(SET, *sorted(elements))


def integer(value: int) -> bytes:
    """A DER INTEGER (two's complement, minimal)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def oid(dotted: str) -> bytes:
    """A DER OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"not an object identifier: {dotted}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(OID, bytes(body))


@dataclass(frozen=True)
class Element:
    """One TLV inside a buffer: where it starts, where its content starts and ends."""

    data: bytes
    tag: int
    start: int
    content_start: int
    end: int

    @property
    def encoded(self) -> bytes:
        """The whole TLV, byte for byte as it stands in the buffer."""
        return self.data[self.start : self.end]

    @property
    def content(self) -> bytes:
        return self.data[self.content_start : self.end]

    def children(self) -> Iterator[Element]:
        """The elements of a constructed content, which must fill it exactly."""
        if not self.tag & 0x20:
            raise ValueError(f"tag 0x{self.tag:02x} is primitive")
        at = self.content_start
        while at < self.end:
            child = read(self.data, at, self.end)
            yield child
            at = child.end

    def expect(self, tag: int) -> Element:
        if self.tag != tag:
            raise ValueError(f"expected tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self


def read(data: bytes, start: int = 0, stop: int | None = None) -> Element:
    """The DER element at `start`, which must end by `stop` (default: the buffer's end)."""
    stop = len(data) if stop is None else stop
    if start + 2 > stop:
        raise ValueError("truncated element")
    tag = data[start]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers are not used here")
    first = data[start + 1]
    at = start + 2
    if first < 0x80:
        size = first
    elif first == 0x80:
        raise ValueError("indefinite length is not DER")
    else:
        count = first & 0x7F
        if count > 4 or at + count > stop:
            raise ValueError("bad length")
        size = int.from_bytes(data[at : at + count], "big")
        if size < 0x80 or data[at] == 0:
            raise ValueError("length not in its shortest form")
        at += count
    end = at + size
    if end > stop:
        raise ValueError("element longer than what holds it")
    return Element(data, tag, start, at, end)


def read_whole(data: bytes, tag: int) -> Element:
    """`data` as exactly one element with `tag` and nothing after it."""
    element = read(data).expect(tag)
    if element.end != len(data):
        raise ValueError("bytes after the element")
    return element


@dataclass(frozen=True)
class CertificateParts:
    """What CMS copies out of a certificate, and what finds its issuer: as encoded."""

    issuer: bytes  # the issuer Name's whole TLV
    serial: bytes  # the serial number INTEGER's whole TLV
    subject: bytes  # the subject Name's whole TLV


def certificate_parts(cert_der: bytes) -> CertificateParts:
    """Issuer, serial and subject of an X.509 certificate, byte for byte (RFC 5280 §4.1)."""
    tbs = next(read_whole(cert_der, SEQUENCE).children()).expect(SEQUENCE)
    fields = tbs.children()
    serial = next(fields)
    if serial.tag == context(0):  # [0] EXPLICIT version
        serial = next(fields)
    serial.expect(INTEGER)
    next(fields).expect(SEQUENCE)  # signature AlgorithmIdentifier
    issuer = next(fields).expect(SEQUENCE)
    next(fields).expect(SEQUENCE)  # validity
    subject = next(fields).expect(SEQUENCE)
    return CertificateParts(issuer=issuer.encoded, serial=serial.encoded, subject=subject.encoded)
