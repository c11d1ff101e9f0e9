"""Alert delivery: signed webhooks (Standard Webhooks) sent from a durable outbox."""
