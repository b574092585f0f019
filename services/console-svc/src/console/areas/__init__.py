"""The console's page areas: each module here defines ``blueprint`` and is registered on its own."""
