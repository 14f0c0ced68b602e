from __future__ import annotations

import uuid

from fastapi import Request, status

from admitone.accounts import deletion, service
from admitone.accounts.deletion_schemas import AccountDeletion, DeletionOut
from admitone.accounts.models import Role
from admitone.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    RefreshRequest,
    RegisterRequest,
    RoleChange,
    TokenResponse,
    UserOut,
    UserPage,
)
from admitone.core.actor import current_actor
from admitone.http.deps import (
    AppSettings,
    CurrentUser,
    Limiter,
    StaffUser,
    StrictRateLimit,
    Uow,
    limit_sign_in,
    public,
)
from admitone.http.params import Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["accounts"])


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 409, 422),
    # Each registration costs an argon2 hash: the strict budget, not the general one.
    dependencies=[StrictRateLimit],
)
@public
async def register(body: RegisterRequest, uow: Uow, settings: AppSettings) -> UserOut:
    user = await service.register(
        uow, settings, email=body.email, name=body.name, password=body.password
    )
    return UserOut.model_validate(user)


@router.post("/auth/login", responses=errors(401, 422))
@public
async def login(
    body: LoginRequest,
    request: Request,
    uow: Uow,
    settings: AppSettings,
    limiter: Limiter,
) -> LoginResponse:
    await limit_sign_in(request, limiter, body.email)
    user, pair = await service.login(uow, settings, email=body.email, password=body.password)
    return LoginResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=UserOut.model_validate(user),
    )


@router.post("/auth/refresh", responses=errors(401, 422))
@public
async def refresh(body: RefreshRequest, uow: Uow, settings: AppSettings) -> TokenResponse:
    pair = await service.refresh(uow, settings, body.refresh_token)
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 422))
@public
async def logout(body: RefreshRequest, uow: Uow) -> None:
    await service.logout(uow, body.refresh_token)


@router.get("/me", responses=errors(401))
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/users", responses=errors(401, 403, 422))
async def list_users(
    _: StaffUser,
    uow: Uow,
    role: Role | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> UserPage:
    page = await service.list_users(uow, role=role, limit=limit, cursor=cursor)
    return UserPage(
        data=[UserOut.model_validate(u) for u in page.items], next_cursor=page.next_cursor
    )


@router.put("/users/{user_id}/role", responses=errors(401, 403, 404, 409, 422))
async def change_role(user_id: uuid.UUID, body: RoleChange, _: StaffUser, uow: Uow) -> UserOut:
    user = await service.change_role(uow, current_actor(), user_id, body.role)
    return UserOut.model_validate(user)


@router.delete(
    "/admin/users/{user_id}",
    responses=errors(401, 403, 404, 409, 422),
    # Irreversible and heavy (every domain's rows): the strict budget.
    dependencies=[StrictRateLimit],
)
async def delete_user(user_id: uuid.UUID, _: StaffUser, uow: Uow) -> DeletionOut:
    """Delete a user and everything that is only theirs; anonymise what the business keeps."""
    erasure = await deletion.delete_by_staff(uow, current_actor(), user_id)
    return DeletionOut.of(user_id, erasure)


@router.delete("/me", responses=errors(401, 403, 409, 422), dependencies=[StrictRateLimit])
async def delete_me(body: AccountDeletion, user: CurrentUser, uow: Uow) -> DeletionOut:
    """Delete one's own account, confirmed with its password."""
    user_id = user.id
    erasure = await deletion.delete_own(uow, user, body.password)
    return DeletionOut.of(user_id, erasure)
