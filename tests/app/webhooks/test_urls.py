"""Webhook URLs that reach into the installation's own networks are refused: on creation and change (422 with a
reason, nothing stored), and again at send time, when a name may have been pointed elsewhere since."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlmodel import Session

from app.main import create_app
from app.runtime import Runtime
from app.webhooks import service
from app.webhooks.jobs import WebhookDispatcher
from app.webhooks.urls import PrivateWebhookUrl, UnresolvableWebhookUrl, WebhookUrlPolicy
from tests.app.webhooks.builders import FAST_RETRIES, add_endpoint, add_person, raise_alert
from tests.app.webhooks.receiver import Receiver
from tests.factories import api_key, bearer
from tests.support import running_server

STRICT = WebhookUrlPolicy()
REFUSED_ADDRESSES = [
    "127.0.0.1",
    "10.0.0.7",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
]


NOT_GLOBAL_ADDRESSES = [
    "::127.0.0.1",  # IPv4-compatible, carrying loopback
    "64:ff9b:1::7f00:1",  # local-use NAT64, carrying loopback
    "::ffff:0:7f00:1",  # IPv4-translated (outside global unicast)
    "fec0::1",  # site-local, deprecated
    "192.0.0.8",  # IETF protocol assignments: the IPv4 dummy address
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, its client 10.0.0.1
    "64:ff9b:1:a00:0:100:5db8:d822",  # local-use NAT64: 93.184.216.34 read as a /96, 10.0.0.1 as a /48
    "ff0e::1",  # global-scope multicast
]
PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "2606:4700::1111",
    "::ffff:93.184.216.34",  # IPv4-mapped
    "64:ff9b::5db8:d822",  # well-known NAT64
    "2002:5db8:d822::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:a247:27dd",  # Teredo, server 65.54.227.120, client 93.184.216.34
]


def url_of(address: str) -> str:
    return f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"


def names(table: dict[str, list[str]]) -> Callable[[str], list[str]]:
    """A resolver for made-up host names: this machine has no DNS (IP literals need none: see `STRICT`)."""

    def resolve(host: str) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(PrivateWebhookUrl) as refused:
        STRICT.check(f"https://{host}:8443/hook")
    assert refused.value.code == "private_webhook_url" and address in refused.value.message


@pytest.mark.parametrize("address", NOT_GLOBAL_ADDRESSES)
def test_only_globally_routable_addresses_are_allowed(address: str) -> None:
    """Not by a list of what is refused: embedded IPv4 addresses are unwrapped, then only global unicast passes."""
    with pytest.raises(PrivateWebhookUrl) as refused:
        STRICT.check(url_of(address))
    assert refused.value.code == "private_webhook_url"
    with pytest.raises(PrivateWebhookUrl):
        STRICT.target(url_of(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed_also_inside_ipv6(address: str) -> None:
    STRICT.check(url_of(address))


def test_names_are_judged_by_every_address_they_resolve_to() -> None:
    policy = WebhookUrlPolicy(
        resolve=names({"hooks.example.org": ["203.0.114.9", "8.8.4.4"], "sneaky.example.org": ["8.8.8.8", "10.1.1.1"]})
    )
    policy.check("https://hooks.example.org/hook")
    STRICT.check("https://8.8.8.8/hook")
    STRICT.check("https://[2001:4860:4860::8888]/hook")
    with pytest.raises(PrivateWebhookUrl):
        policy.check("https://sneaky.example.org/hook")
    with pytest.raises(UnresolvableWebhookUrl) as unresolvable:
        policy.check("https://nowhere.invalid/hook")
    assert unresolvable.value.code == "unresolvable_webhook_url"
    with pytest.raises(PrivateWebhookUrl):
        STRICT.check("http://localhost:8080/hook")


def test_a_send_goes_to_the_checked_address_under_its_own_name() -> None:
    policy = WebhookUrlPolicy(
        resolve=names({"hooks.example.org": ["93.184.215.14"], "v6.example.org": ["2606:4700::1"]})
    )
    pinned = policy.target("https://hooks.example.org:8443/in?x=1")
    assert pinned.url == "https://93.184.215.14:8443/in?x=1"
    assert pinned.headers["host"] == "hooks.example.org:8443"
    assert pinned.extensions == {"sni_hostname": "hooks.example.org"}
    assert policy.target("http://v6.example.org/in").url == "http://[2606:4700::1]/in"
    assert policy.target("http://v6.example.org/in").extensions == {}


def test_the_operator_can_allow_private_receivers() -> None:
    WebhookUrlPolicy(allow_private=True, resolve=names({})).check("http://10.0.0.7/hook")


@pytest.fixture
def strict_api(make_runtime: Callable[..., Runtime]) -> Iterator[httpx.Client]:
    """An administrator's client of a service left with the default: private receivers refused."""
    runtime = make_runtime(webhook_allow_private_urls=False)
    key = api_key(runtime, "org_admin")
    with (
        running_server(create_app(runtime)) as base_url,
        httpx.Client(base_url=base_url, headers=bearer(key)) as client,
    ):
        yield client


def test_the_api_refuses_a_private_url_and_stores_nothing(strict_api: httpx.Client, receiver: Receiver) -> None:
    for url in (receiver.url, "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/hook"):
        refused = strict_api.post("/v1/webhooks", json={"url": url})
        assert refused.status_code == 422 and refused.json()["code"] == "private_webhook_url", refused.text
    assert strict_api.get("/v1/webhooks").json() == []

    public = strict_api.post("/v1/webhooks", json={"url": "https://8.8.8.8/hook"})
    assert public.status_code == 201, public.text
    moved = strict_api.patch(f"/v1/webhooks/{public.json()['id']}", json={"url": receiver.url})
    assert moved.status_code == 422 and moved.json()["code"] == "private_webhook_url"
    assert strict_api.get(f"/v1/webhooks/{public.json()['id']}").json()["url"] == "https://8.8.8.8/hook"


def test_the_api_refuses_every_address_that_is_not_globally_routable(strict_api: httpx.Client) -> None:
    for address in NOT_GLOBAL_ADDRESSES:
        refused = strict_api.post("/v1/webhooks", json={"url": url_of(address)})
        assert refused.status_code == 422 and refused.json()["code"] == "private_webhook_url", (address, refused.text)
    assert strict_api.get("/v1/webhooks").json() == []
    for address in PUBLIC_ADDRESSES[:2]:
        accepted = strict_api.post("/v1/webhooks", json={"url": url_of(address)})
        assert accepted.status_code == 201, (address, accepted.text)
    assert len(strict_api.get("/v1/webhooks").json()) == 2


def send_due_deliveries(runtime: Runtime, url_policy: WebhookUrlPolicy) -> None:
    """One run of a dispatcher that follows `url_policy`."""
    dispatcher = WebhookDispatcher(runtime.db_engine, httpx.Client(), FAST_RETRIES, url_policy=url_policy)
    try:
        dispatcher.run()
    finally:
        dispatcher.close()


def test_a_url_that_turned_private_is_not_contacted(runtime: Runtime, receiver: Receiver) -> None:
    """Accepted when allowed (as a name that resolved publicly would be), then sent by a strict dispatcher."""
    add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))
    send_due_deliveries(runtime, STRICT)
    assert receiver.count() == 0
    with Session(runtime.db_engine) as session:
        [(delivery, _)] = service.list_deliveries(session, service.list_endpoints(session)[0], None, 10, 0)
        [attempt] = service.attempts_of(session, [delivery.id])[delivery.id]
    assert delivery.status == "pending" and attempt.status_code is None and "private" in (attempt.error or "")


def test_the_dispatcher_connects_to_the_address_it_checked(runtime: Runtime, receiver: Receiver) -> None:
    """`hooks.example.org` exists only in the policy's resolver, so the request can only have reached the receiver
    through the address the policy checked; the name travels in the Host header."""
    lookups: list[str] = []
    table = names({"hooks.example.org": ["127.0.0.1"]})

    def resolve(host: str) -> list[str]:
        lookups.append(host)
        return table(host)

    loopback_only = WebhookUrlPolicy(resolve=resolve, is_allowed=lambda address: address.is_loopback)
    _, secret = add_endpoint(runtime, f"http://hooks.example.org:{receiver.port}/hook")
    raise_alert(runtime, add_person(runtime))
    send_due_deliveries(runtime, loopback_only)
    [received] = receiver.received
    assert received.headers["host"] == f"hooks.example.org:{receiver.port}"
    assert received.verify(secret)["type"] == "alert.created"
    assert lookups == ["hooks.example.org"], "one lookup per send: the checked answer is the one used"
