"""The storefront: server-rendered pages (jinja2) with a little JavaScript, served by the service at `/`."""
