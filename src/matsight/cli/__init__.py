"""The ``matsight`` command line: thin typer wrappers over the Python API."""
