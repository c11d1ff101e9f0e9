"""Where webhooks may be sent. A receiver URL whose host resolves to an address inside the installation's own
networks (private, loopback, link-local such as a cloud metadata service, carrier-grade NAT, multicast, reserved)
is refused, so an API key cannot make the service probe or post to internal systems.

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
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class PrivateWebhookUrl(InputRejected):
    pass


class UnresolvableWebhookUrl(InputRejected):
    pass


def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (an IP literal gives itself)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def is_public_address(address: IPAddress) -> bool:
    """True for an address on the public internet: globally routable unicast, also when it is an IPv4 address
    carried inside an IPv6 one (mapped, 6to4, NAT64)."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if embedded is not None:
        return is_public_address(embedded)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


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
                    f"{host} resolves to {address}, a private, loopback, link-local or reserved address; webhooks go "
                    "to public addresses only (the operator can allow others with IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS)",
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
