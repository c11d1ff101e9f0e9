"""Where webhooks may be sent. A receiver URL whose host resolves to an address inside the installation's own
networks (private, loopback, link-local such as a cloud metadata service, carrier-grade NAT, multicast, reserved)
is refused, so an API key cannot make the service probe or post to internal systems.

The check runs when an endpoint is created or its URL changed (a 422 with a reason) and again before every send,
because a name can be pointed elsewhere after it was accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from watchlist.errors import InputRejected

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
class WebhookUrlPolicy:
    """`allow_private` lets every address through (tests, or receivers on an intranet by the operator's choice)."""

    allow_private: bool = False
    resolve: Resolver = field(default=resolve_host)

    def check(self, url: str) -> None:
        """Raise `PrivateWebhookUrl` or `UnresolvableWebhookUrl` unless every address of the URL's host is public."""
        if self.allow_private:
            return
        host = urlsplit(url).hostname or ""
        for address in self._addresses(host):
            if not is_public_address(address):
                raise PrivateWebhookUrl(
                    "private_webhook_url",
                    f"{host} resolves to {address}, a private, loopback, link-local or reserved address; webhooks go "
                    "to public addresses only (the operator can allow others with IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS)",
                )

    def _addresses(self, host: str) -> list[IPAddress]:
        try:
            resolved = self.resolve(host) if host else []
        except (OSError, UnicodeError):
            resolved = []
        if not resolved:
            raise UnresolvableWebhookUrl("unresolvable_webhook_url", f"the webhook host {host!r} does not resolve")
        return [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolved]
