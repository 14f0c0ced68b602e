"""The HTML pages: server-rendered Jinja2, htmx and Server-Sent Events for the live parts. Calls
the same services as the API and holds no business logic (see ``install``)."""
