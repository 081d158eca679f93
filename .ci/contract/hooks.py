"""Schemathesis hooks for invreqd's contract run.

`absolute_expiry` and `expires_at` must lie in the future: a rule relative to the clock, which a
JSON Schema cannot state. Generated bodies naming a past instant are left out (positive and
negative alike), so every schema-valid body sent is one the server must accept.
"""

import time

import schemathesis


@schemathesis.hook
def filter_body(ctx, body):
    if isinstance(body, dict):
        for name in ("absolute_expiry", "expires_at"):
            v = body.get(name)
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= time.time() + 3600:
                return False
    return True
