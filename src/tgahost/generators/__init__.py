"""The generators that ship with the host, written exactly as a third-party plugin would be
and registered through the host's own entry points (see pyproject.toml)."""
