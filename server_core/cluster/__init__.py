"""``whisper-desktop cluster``: the server's app as a Ray Serve deployment (the ``cluster`` extra).

Only this package imports Ray; ``main`` imports it late, so a missing Ray is one clear line.
"""
