from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admitone.accounts.models import Role
from admitone.core.bodies import StrictBody
from admitone.core.emails import AccountEmail, DeliverableEmail
from admitone.core.text import SINGLE_LINE

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    SINGLE_LINE,
]
# argon2 hashes anything, but a megabyte "password" is a denial-of-service, not a password.
Password = Annotated[str, Field(min_length=1, max_length=128)]
Token = Annotated[str, Field(min_length=1, max_length=512)]


class RegisterRequest(StrictBody):
    email: DeliverableEmail
    name: Name
    password: Password


class LoginRequest(StrictBody):
    email: AccountEmail
    password: Password


class RefreshRequest(StrictBody):
    refresh_token: Token


class RoleChange(StrictBody):
    role: Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_in: int


class LoginResponse(TokenResponse):
    user: UserOut


class UserPage(BaseModel):
    data: list[UserOut]
    next_cursor: str | None
