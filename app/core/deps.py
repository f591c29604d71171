"""Annotated dependencies shared by the routers."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.core.config import Settings
from app.core.memo import MEMO_INFO
from app.core.pagination import CursorCodec


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Made and closed in the event loop (no I/O to make one; closing returns the connection
    # with a rollback of a read-only transaction), so a request hops to a worker thread only
    # for its queries.
    with Session(request.app.state.engine, info={MEMO_INFO: request.app.state.memo}) as session:
        yield session


async def get_primary_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session on the primary database, for what must read its own writes."""
    with Session(request.app.state.primary_engine) as session:
        yield session


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_cursor_codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


SessionDep = Annotated[Session, Depends(get_session)]
PrimarySessionDep = Annotated[Session, Depends(get_primary_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
CursorDep = Annotated[CursorCodec, Depends(get_cursor_codec)]
