from __future__ import annotations

from admitone.core.errors import Conflict, DomainError, InvalidInput, InvalidToken, PermissionDenied


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class WeakPassword(InvalidInput):
    code = "weak_password"
    default_message = "The password is too weak."


class InvalidCredentials(DomainError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "The email or password is incorrect."


class RefreshTokenReused(InvalidToken):
    code = "refresh_token_reused"
    default_message = (
        "This refresh token was already used; every session of this login is now signed out."
    )
    keeps_changes = True


class InsufficientRole(PermissionDenied):
    code = "insufficient_role"
    default_message = "Your role does not allow this."


class LastOwner(Conflict):
    code = "last_owner"
    default_message = "The last owner cannot lose the owner role."


class CannotDeleteSelf(Conflict):
    code = "cannot_delete_self"
    default_message = "Staff cannot delete their own account here; use DELETE /api/me."


class CannotDeleteLastOwner(Conflict):
    code = "cannot_delete_last_owner"
    default_message = "The last owner cannot be deleted."


class InsufficientPermissions(PermissionDenied):
    code = "insufficient_permissions"
    default_message = "Only an owner can delete an owner or an admin."


class WrongPassword(DomainError):
    status_code = 403
    code = "wrong_password"
    default_message = "The password is incorrect."


class AccountBusy(Conflict):
    code = "account_busy"
    default_message = (
        "This account is in the middle of a purchase; try the deletion again in a moment."
    )
