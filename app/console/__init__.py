"""The web console: server-rendered pages (Jinja2, htmx) over the same services and access rules as the API."""
