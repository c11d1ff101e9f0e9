"""The service's own tables (organisations, keys, alerts, webhooks) arrive with the issues that need them."""
