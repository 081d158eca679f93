"""Schemathesis hooks for invreqd's contract run.

`absolute_expiry` and `expires_at` must lie in the future: a rule relative to the clock, which a
JSON Schema cannot state. Generated bodies naming a past instant are left out (positive and
negative alike), so every schema-valid body sent is one the server must accept.

`GET /claim/{token}/status` holds its answer up to `wait` seconds (default 20) while the status
equals `since`: generated holds are capped at 1 s so the run stays within its time budget.
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


@schemathesis.hook
def map_query(ctx, query):
    op = getattr(ctx, "operation", None)
    if op is None or op.path != "/claim/{token}/status" or not isinstance(query, dict):
        return query
    wait = query.get("wait")
    # Absent (20 s) or a valid hold longer than 1 s: hold 1 s. Invalid values stay as generated.
    if wait is None or (isinstance(wait, int) and not isinstance(wait, bool) and 1 < wait <= 20):
        query["wait"] = 1
    return query
