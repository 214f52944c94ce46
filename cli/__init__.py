"""The ``stance`` command: one module per command group, above ``training`` and ``service``.

Example:
    stance predict "Sanctions on Iran are illegal and cruel." --target "US sanctions on Iran"
"""
