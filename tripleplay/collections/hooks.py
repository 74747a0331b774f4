"""The collections app's reaction points (tripleplay.core.hooks): how an upper app hears of a step."""

from __future__ import annotations

from tripleplay.core.hooks import Hook

COLLECTION_STEP_DONE: Hook = Hook(
    "collections.collection_step_done",
    doc="A collections step (reminder, late fee, suspend, block) was done for an invoice, with its "
        "CollectionAction row, in the step's transaction: notifications writes the customer's notice.",
)
