"""The aiohttp application: the webhook endpoint, the dashboard, health and metrics."""
