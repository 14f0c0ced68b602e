"""Domain errors of the support desk: one stable code per rule."""

from __future__ import annotations

from admitone.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class SupportRequestNotFound(NotFound):
    code = "support_request_not_found"
    default_message = "Support request not found."


class TransitionNotAllowed(Conflict):
    code = "support_transition_not_allowed"
    default_message = "The request cannot move to this status from its current one."


class RequestClosed(Conflict):
    code = "support_request_closed"
    default_message = "This request is closed; open a new one."


class RequestChanged(Conflict):
    """Someone else changed the request between this actor's read and write."""

    code = "support_request_changed"
    default_message = "The request was changed by someone else; details hold its current state."


class AssigneeNotStaff(InvalidInput):
    code = "support_assignee_not_staff"
    default_message = "The assignee must be staff, or the organizer of the request's event."


class NotHandler(PermissionDenied):
    code = "support_staff_only"
    default_message = "Only the people handling this request may do this."


class NothingToChange(InvalidInput):
    code = "support_nothing_to_change"
    default_message = "Name at least one of status, priority or assignee_id."


class OrderRequired(InvalidInput):
    code = "support_order_required"
    default_message = "A guest's request must name its order with order_reference and token."
