"""Domain errors of events: one stable code per rule."""

from __future__ import annotations

from admitone.core.errors import BadRequest, Conflict, InvalidInput, NotFound


class EventNotFound(NotFound):
    code = "event_not_found"
    default_message = "Event not found."


class TierNotFound(NotFound):
    code = "tier_not_found"
    default_message = "Ticket tier not found."


class InvalidTimezone(InvalidInput):
    code = "invalid_timezone"
    default_message = "The timezone must be an IANA name such as Europe/Paris."


class InvalidCurrency(InvalidInput):
    code = "invalid_currency"
    default_message = "The currency must be a three-letter ISO 4217 code."


class StartsInPast(InvalidInput):
    code = "starts_in_past"
    default_message = "The event must start in the future."


class EndsBeforeStart(InvalidInput):
    code = "ends_before_start"
    default_message = "The event must end after it starts."


class InvalidRefundDeadline(InvalidInput):
    code = "invalid_refund_deadline"
    default_message = (
        "A refund deadline goes with refund_policy until_deadline, and falls before the start."
    )


class InvalidSalesWindow(InvalidInput):
    code = "invalid_sales_window"
    default_message = "Ticket sales must end after they start."


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"
    default_message = "Each quantity must be a whole number of at least 1."


class NoTiers(InvalidInput):
    code = "no_tiers"
    default_message = (
        "An event needs at least one ticket tier: give tiers or ticket_price and total_tickets."
    )


class ConflictingTierInput(InvalidInput):
    code = "conflicting_tier_input"
    default_message = "Give either tiers or ticket_price and total_tickets, not both."


class CapacityBelowTaken(Conflict):
    code = "capacity_below_taken"
    default_message = "The capacity cannot be lower than the tickets already taken."


class CurrencyLocked(Conflict):
    code = "currency_locked"
    default_message = "The currency can only change while the event is a draft without sales."


class EventNotEditable(Conflict):
    code = "event_not_editable"
    default_message = "A completed or cancelled event can no longer be changed."


class EventNotDraft(Conflict):
    code = "event_not_draft"
    default_message = "Only a draft event can be published."


class EventHasNoTiers(Conflict):
    code = "event_has_no_tiers"
    default_message = "An event needs at least one ticket tier."


class TierHasTickets(Conflict):
    code = "tier_has_tickets"
    default_message = "A ticket tier with tickets taken cannot be deleted."


class EventHasOrders(BadRequest):
    code = "event_has_orders"
    # The exact wording of the API contract; clients match on it.
    default_message = "This event can't be deleted because it already has customer orders."


class EventNotOnSale(Conflict):
    code = "event_not_on_sale"
    default_message = "This event is not on sale."


class EventOver(Conflict):
    code = "event_over"
    default_message = "This event has already started or ended."


class TierNotInEvent(InvalidInput):
    code = "tier_not_in_event"
    default_message = "A ticket tier does not belong to this event."


class TierNotOnSale(Conflict):
    code = "tier_not_on_sale"
    default_message = "This ticket tier is not on sale now."


class TierMaxPerOrder(InvalidInput):
    code = "tier_max_per_order"
    default_message = "Too many tickets of one tier in a single order."


class SoldOut(Conflict):
    code = "sold_out"
    default_message = "Not enough tickets left."


class LastTier(Conflict):
    code = "last_tier"
    default_message = "A published event must keep at least one ticket tier."


class TierInUse(Conflict):
    code = "tier_in_use"
    default_message = "This ticket tier is referenced by orders; set its capacity instead."


class PlanNotFound(InvalidInput):
    """A plan a tier would require that is missing, archived, or another organizer's: all look
    the same, so a tier never reveals someone else's plans."""

    code = "plan_not_found"
    default_message = "Membership plan not found."


class PlanCurrencyMismatch(InvalidInput):
    code = "plan_currency_mismatch"
    default_message = "A membership plan a tier requires must be in the event's currency."
