"""The Flask adapter: app factory, JSON API and the pages people work in."""
