"""Runnable examples of chirp_async; each module's ``main()`` runs against the mock server.

This file makes ``examples`` a package so that tests (and mypy) can import the examples'
parts as ``examples.web_service``, ``examples.worker`` and ``examples.bot``.
"""
