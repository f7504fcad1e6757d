"""Flower's configuration file when ``sluice flower`` starts it: deliberately empty.

Flower reads ``flowerconfig.py`` from the working directory unless ``--conf`` names
another file, and such a file can set ``basic_auth = []`` or ``address``. sluice passes
this file instead, so only sluice's own settings and command line configure Flower.
"""
