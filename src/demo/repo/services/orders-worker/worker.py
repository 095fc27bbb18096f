"""orders-worker: turns paid orders into invoice documents, in batches."""

import logging
import os

BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "12000"))

log = logging.getLogger("orders-worker")


def load_batch(db, after_id, size=BATCH_SIZE):
    """Load the next `size` paid orders into memory, oldest first."""
    return db.query("SELECT * FROM orders WHERE paid AND id > %s ORDER BY id LIMIT %s", (after_id, size))


def build_invoices(orders):
    """Render one invoice document per order; every document stays in memory until upload."""
    return [render_invoice(o) for o in orders]


def render_invoice(order):
    lines = [f"{item['sku']} x{item['qty']}" for item in order["items"]]
    return {"order": order["id"], "lines": lines, "total": order["total"]}


def run(db, store):
    """Main loop: load a batch, build its invoices, upload them, repeat."""
    after = 0
    batch_no = 0
    while True:
        batch_no += 1
        orders = load_batch(db, after)
        if not orders:
            return
        log.info("batch %s: loaded %s orders into memory", batch_no, len(orders))
        log.info("batch %s: building invoice documents", batch_no)
        store.upload(build_invoices(orders))
        after = orders[-1]["id"]
