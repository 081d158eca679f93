"""create → get → list → disable → decode with a client generated from openapi/openapi.json.

Every call goes through the generated, typed functions and models; a body the document
misdescribes fails here (the generated parser, or the server, refuses it).
"""

import os
import sys

from client import AuthenticatedClient
from client.api.decode import decode
from client.api.invoicerequests import create, disable, get, list_
from client.models import CreateInvoiceRequest, DecodeRequest

api = AuthenticatedClient(base_url=os.environ["INVREQD_URL"], token=os.environ["INVREQD_KEY"])


def check(cond, what):
    if not cond:
        print(f"contract client: {what}", file=sys.stderr)
        sys.exit(1)


created = create.sync_detailed(
    client=api,
    body=CreateInvoiceRequest(amount="10000sat", description="generated client", label="gen-1"),
)
check(created.status_code == 201, f"create answered {created.status_code}: {created.content!r}")
ir = created.parsed
check(ir.amount_msat == 10_000_000 and ir.bolt12.startswith("lnr1"), f"created {ir}")

got = get.sync(client=api, invreq_id=ir.invreq_id)
check(got is not None and got.invreq_id == ir.invreq_id and got.active, f"get {got}")

page = list_.sync(client=api, label="gen-1", limit=10)
check(page is not None and [r.invreq_id for r in page.invoicerequests] == [ir.invreq_id], f"list {page}")

off = disable.sync(client=api, invreq_id=ir.invreq_id)
check(off is not None and off.active is False and off.status.value == "disabled", f"disable {off}")

decoded = decode.sync(client=api, body=DecodeRequest(bolt12=ir.bolt12))
check(decoded is not None and decoded.invreq_id == ir.invreq_id, f"decode {decoded}")
check(decoded.invreq_amount_msat == 10_000_000, f"decoded amount {decoded}")
print("generated client: create, get, list, disable, decode ok")
