"""Domain errors of the ledger."""

from __future__ import annotations

from admitone.core.errors import Conflict, InvalidInput, NotFound


class UnbalancedEntry(InvalidInput):
    code = "ledger_unbalanced_entry"
    default_message = "A journal entry needs at least two lines whose debits equal its credits."


class InvalidAmount(InvalidInput):
    code = "ledger_invalid_amount"
    default_message = "A ledger amount must be a positive whole number of minor units."


class EntryKeyConflict(Conflict):
    """A replay carries the key of an entry that recorded a different movement: a bug in the
    caller, never something to paper over by posting twice."""

    code = "ledger_entry_conflict"
    default_message = "This key already posted a different journal entry."


class EntryNotFound(NotFound):
    code = "ledger_entry_not_found"
    default_message = "Journal entry not found."


class AppendOnlyViolation(RuntimeError):
    """Code tried to update or delete a ledger row: a bug, not a request to answer. The ORM
    raises it before the database's own triggers would refuse the statement."""
