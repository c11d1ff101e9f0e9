"""Where webhooks may be sent: only to addresses on the public internet. An address is allowed when it is globally
routable (an allow rule, so whatever is private, loopback, link-local such as a cloud metadata service, carrier-grade
NAT, multicast, reserved, deprecated or not yet assigned stays out without being named), so an API key cannot make the
service probe or post to internal systems.

The check runs when an endpoint is created or its URL changed (a 422 with a reason) and again before every send,
because a name can be pointed elsewhere after it was accepted. A send then connects to the very address that was
checked (the host name kept in the `Host` header and as the TLS server name), so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot slip a private address in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from core.errors import InputRejected

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]
"""A host name to the addresses it resolves to, as text; raises OSError when it resolves to nothing."""
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
"""The only IPv6 space assigned for global unicast (RFC 4291, IANA); outside it everything is reserved (::/8 with the
IPv4-compatible and IPv4-translated forms), local (fc00::/7, fe80::/10, the deprecated site-local fec0::/10),
multicast or unassigned, which `ipaddress.is_global` does not all know."""
IETF_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")
"""Not globally reachable (IANA), but `is_global` before the fix of CVE-2024-4032 (the Python 3.11.7 this was written
on) says otherwise for most of it; the two anycast addresses IANA allows in it are no webhook receivers either."""
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
NAT64_LOCAL_LAYOUTS = (48, 56, 64, 96)
"""RFC 6052's prefix lengths that fit inside the local-use prefix (RFC 8215). Which one a translator uses is its
operator's choice, unknown here, so an address there must carry a public IPv4 address under each of them: in practice
none does (the operator can allow such receivers with IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS)."""
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


class PrivateWebhookUrl(InputRejected):
    pass


class UnresolvableWebhookUrl(InputRejected):
    pass


def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (an IP literal gives itself)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def is_public_address(address: IPAddress) -> bool:
    """True for a globally routable unicast address. An IPv6 address that carries an IPv4 one (IPv4-mapped,
    IPv4-compatible, 6to4, NAT64, Teredo) is judged by the IPv4 addresses it carries, all of which must be public."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not address.is_multicast and address not in IETF_PROTOCOL_ASSIGNMENTS
    carried = carried_ipv4(address)
    if carried:
        return all(is_public_address(inner) for inner in carried)
    return address in GLOBAL_UNICAST and address.is_global


def carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet to `address` may end up at, through the translation or tunnel it names; none
    for a plain IPv6 address."""
    if address in IPV4_MAPPED or address in IPV4_COMPATIBLE or address in NAT64_WELL_KNOWN:
        return [_ipv4_at(address, 96)]
    if address in NAT64_LOCAL_USE:
        return [_ipv4_at(address, length) for length in NAT64_LOCAL_LAYOUTS]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def _ipv4_at(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address after an RFC 6052 prefix of `prefix_length` bits: bits 64 to 71 are skipped."""
    bits = f"{int(address):0128b}"
    if prefix_length < 96:
        bits = bits[:64] + bits[72:]
    return ipaddress.IPv4Address(int(bits[prefix_length : prefix_length + 32], 2))


@dataclass(frozen=True)
class SendTarget:
    """How to reach a receiver: the URL to connect to, and the headers and request extensions that go with it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookUrlPolicy:
    """`allow_private` lets every URL through unchanged (tests, or receivers on an intranet by the operator's choice);
    otherwise every address of the host must pass `is_allowed`."""

    allow_private: bool = False
    resolve: Resolver = field(default=resolve_host)
    is_allowed: Callable[[IPAddress], bool] = field(default=is_public_address)

    def check(self, url: str) -> None:
        """Raise `PrivateWebhookUrl` or `UnresolvableWebhookUrl` unless every address of the URL's host is allowed."""
        if not self.allow_private:
            self._checked_address(_host_of(httpx.URL(url)))

    def target(self, url: str) -> SendTarget:
        """Where to send now: the URL with its host replaced by a checked address, raising as `check` does."""
        if self.allow_private:
            return SendTarget(url)
        parsed = httpx.URL(url)
        address = self._checked_address(_host_of(parsed))
        pinned = SendTarget(
            str(parsed.copy_with(host=str(address))),
            # A kept-alive connection is per address, not per name: each send gets its own, verified for its name.
            headers={"host": parsed.netloc.decode("ascii"), "connection": "close"},
        )
        if parsed.scheme == "https":
            pinned.extensions["sni_hostname"] = _host_of(parsed)
        return pinned

    def _checked_address(self, host: str) -> IPAddress:
        addresses = self._addresses(host)
        for address in addresses:
            if not self.is_allowed(address):
                raise PrivateWebhookUrl(
                    "private_webhook_url",
                    f"{host} resolves to {address}, which is not a public address (it is private, loopback, "
                    "link-local, reserved or otherwise not globally routable); webhooks go to public addresses only "
                    "(the operator can allow others with IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS)",
                )
        return addresses[0]

    def _addresses(self, host: str) -> list[IPAddress]:
        try:
            resolved = self.resolve(host) if host else []
        except (OSError, UnicodeError):
            resolved = []
        if not resolved:
            raise UnresolvableWebhookUrl("unresolvable_webhook_url", f"the webhook host {host!r} does not resolve")
        return [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolved]


def _host_of(url: httpx.URL) -> str:
    """The host as it goes on the wire: IDNA-encoded, IPv6 without brackets."""
    return url.raw_host.decode("ascii")
