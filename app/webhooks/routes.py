"""HTTP routes for webhook endpoints and their deliveries. Thin: parse, call the service, commit, shape the answer."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from sqlmodel import Session

from app.webhooks import service
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    DeliveryState,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    RotatedSecret,
    SecretRotation,
)
from app.webhooks.urls import WebhookUrlPolicy
from core.clock import utcnow
from core.http import REFUSALS, OffsetQuery, ScopeDep, SessionDep, api_router
from core.schemas import Refusal

router = api_router(prefix="/v1/webhooks", tags=["webhooks"])
CONFLICT = {**REFUSALS, 409: {"model": Refusal, "description": "The endpoint is disabled"}}


def get_url_policy(request: Request) -> WebhookUrlPolicy:
    return request.app.state.webhook_url_policy


UrlPolicyDep = Annotated[WebhookUrlPolicy, Depends(get_url_policy)]


def endpoint_read(endpoint: WebhookEndpoint) -> EndpointRead:
    return EndpointRead.model_validate(endpoint, from_attributes=True)


def delivery_read(delivery: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt]) -> DeliveryRead:
    return DeliveryRead(
        **delivery.model_dump(exclude={"one_more_attempt", "updated_at"}),
        webhook_id=event.message_id,
        event_type=event.type,
        payload=json.loads(event.payload),
        attempt_log=[AttemptRead.model_validate(attempt, from_attributes=True) for attempt in attempts],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EndpointCreated, responses=REFUSALS)
def create_endpoint(
    data: EndpointCreate, session: SessionDep, scope: ScopeDep, url_policy: UrlPolicyDep
) -> EndpointCreated:
    """Add a receiver. The answer holds its `whsec_` signing secret, which is never shown again. A URL whose host
    resolves to an address that is not globally routable is refused (422 `private_webhook_url`)."""
    endpoint, secret = service.create_endpoint(session, scope.organization_id, data, url_policy)
    session.commit()
    return EndpointCreated(**endpoint_read(endpoint).model_dump(), secret=secret)


@router.get("", response_model=list[EndpointRead])
def list_endpoints(session: SessionDep, scope: ScopeDep) -> list[EndpointRead]:
    return [endpoint_read(endpoint) for endpoint in service.list_endpoints(session, scope)]


@router.get("/{endpoint_id}", response_model=EndpointRead, responses=REFUSALS)
def get_endpoint(endpoint_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> EndpointRead:
    return endpoint_read(service.get_endpoint(session, endpoint_id, scope))


@router.patch("/{endpoint_id}", response_model=EndpointRead, responses=REFUSALS)
def update_endpoint(
    endpoint_id: uuid.UUID, data: EndpointUpdate, session: SessionDep, scope: ScopeDep, url_policy: UrlPolicyDep
) -> EndpointRead:
    """Change the URL, events, people or description; `enabled: true` turns a disabled endpoint back on, and what
    it is still owed is sent."""
    endpoint = service.get_endpoint(session, endpoint_id, scope)
    endpoint = service.update_endpoint(session, endpoint, data, url_policy, scope)
    session.commit()
    return endpoint_read(endpoint)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSALS)
def delete_endpoint(endpoint_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    """Remove the endpoint with its deliveries; nothing more is sent to it."""
    service.delete_endpoint(session, service.get_endpoint(session, endpoint_id, scope))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/rotate-secret", response_model=RotatedSecret, responses=REFUSALS)
def rotate_secret(
    endpoint_id: uuid.UUID, session: SessionDep, scope: ScopeDep, data: SecretRotation | None = None
) -> RotatedSecret:
    """A new secret, shown once. The old one keeps signing beside it (two signatures) for `keep_previous_seconds`,
    so receivers can switch without missing an event."""
    endpoint = service.get_endpoint(session, endpoint_id, scope)
    keep = (data or SecretRotation()).keep_previous_seconds
    secret = service.rotate_secret(session, endpoint, keep, utcnow())
    session.commit()
    return RotatedSecret(secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post(
    "/{endpoint_id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryRead, responses=CONFLICT
)
def send_test_event(endpoint_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> DeliveryRead:
    """Queue a `webhook.test` event for this endpoint; the dispatcher sends it within a second or so."""
    delivery = service.enqueue_test_event(session, service.get_endpoint(session, endpoint_id, scope))
    session.commit()
    return _delivery_detail(session, delivery)


@router.get("/{endpoint_id}/deliveries", response_model=list[DeliveryRead], responses=REFUSALS)
def list_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    scope: ScopeDep,
    delivery_status: Annotated[DeliveryState | None, Query(alias="status")] = None,
    offset: OffsetQuery = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryRead]:
    """What was sent to this endpoint, newest first, each with every attempt (status code, error, duration)."""
    endpoint = service.get_endpoint(session, endpoint_id, scope)
    rows = service.list_deliveries(session, endpoint, delivery_status, limit, offset)
    attempts = service.attempts_of(session, [delivery.id for delivery, _ in rows])
    return [delivery_read(delivery, event, attempts[delivery.id]) for delivery, event in rows]


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryRead, responses=REFUSALS)
def get_delivery(endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> DeliveryRead:
    delivery, _ = service.get_delivery(session, service.get_endpoint(session, endpoint_id, scope), delivery_id)
    return _delivery_detail(session, delivery)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=CONFLICT,
)
def retry_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, scope: ScopeDep
) -> DeliveryRead:
    """Send a delivery again now, with the same `webhook-id` (a dead or delivered one gets one more attempt)."""
    endpoint = service.get_endpoint(session, endpoint_id, scope)
    delivery, _ = service.get_delivery(session, endpoint, delivery_id)
    service.retry_by_hand(session, endpoint, delivery, utcnow())
    session.commit()
    return _delivery_detail(session, delivery)


def _delivery_detail(session: Session, delivery: WebhookDelivery) -> DeliveryRead:
    event = session.get(WebhookEvent, delivery.event_id)
    assert event is not None, "deliveries cascade with their events"
    return delivery_read(delivery, event, service.attempts_of(session, [delivery.id])[delivery.id])
