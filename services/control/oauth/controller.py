"""/api/oauth/{provider}/{action}: authorization code with PKCE, device code, refresh, revoke.

Admin only, like the rest of /api. Flows live in Redis (flows.py), tokens in Postgres encrypted
(grants.py), refreshes are serialised across replicas (refresh.py). No answer, log line or audit
row carries a token or a PKCE verifier.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from services.control import audit
from services.control.context import actor_of, control_state
from services.control.errors import EXCEPTION_HANDLERS, ApiError, InvalidField, NotFoundError
from services.control.oauth import store
from services.control.oauth.client import (
    OAuthEndpointError,
    OAuthGrantError,
    TokenSet,
    endpoint,
    post_form,
    token_set,
)
from services.control.oauth.flows import AUTHORIZE_TTL_SECONDS, AuthorizeFlow, DeviceFlow, FlowStore
from services.control.oauth.grants import check_base_url, check_name, check_target, decrypt_token, save_grant, view
from services.control.oauth.refresh import oauth_row, refresh_connection
from services.control.oauth.schemas import (
    AuthorizeRequest,
    AuthorizeStarted,
    CallbackRequest,
    ConnectionRef,
    DeviceCodeStarted,
    DevicePoll,
    OAuthConnectionView,
    PollAnswer,
    RefreshAnswer,
    RevokeAnswer,
)
from services.control.params import parse_uuid
from services.control.state import ControlState
from shared.crypto import DecryptionError
from shared.oauth.pkce import challenge_of, new_state, new_verifier
from shared.oauth.registry import AUTHORIZATION_CODE, DEVICE_CODE, OAuthProvider, find_oauth_provider, resolve

__all__ = ["OAuthController"]

log = logging.getLogger(__name__)

_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_DEFAULT_INTERVAL = 5
_SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: add 5 seconds to the interval on slow_down
_MAX_INTERVAL = 120


def _spec(provider: str, flow: str | None = None) -> OAuthProvider:
    found = find_oauth_provider(provider)
    if found is None:
        raise NotFoundError("OAuth provider")
    if flow is not None and not found.supports(flow):
        raise ApiError(404, f"{found.id} does not offer the {flow.replace('_', '-')} flow", "not_found")
    return resolve(found, os.environ)


def _url(spec: OAuthProvider, field_name: str, state: ControlState) -> str:
    try:
        return endpoint(spec, field_name, state.settings.allow_private_upstreams)
    except OAuthEndpointError as exc:
        raise ApiError(502, str(exc), "oauth_provider_error") from None


def _provider_error(exc: OAuthEndpointError) -> ApiError:
    return ApiError(502, str(exc), "oauth_provider_error")


def _unprocessable(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Same body as everywhere else in /api, but 422: the brief of this resource asks for it."""
    response: Response[Any] = EXCEPTION_HANDLERS[ValidationException](request, exc)
    response.status_code = 422
    return response


async def _exchange(spec: OAuthProvider, state: ControlState, form: dict[str, str]) -> TokenSet:
    form["client_id"] = spec.client_id
    if spec.client_secret:
        form["client_secret"] = spec.client_secret
    return token_set(
        await post_form(_url(spec, "token_url", state), form, allow_private=state.settings.allow_private_upstreams)
    )


async def _start_authorize(request: Request[Any, Any, Any], provider: str, data: AuthorizeRequest) -> AuthorizeStarted:
    state = control_state(request)
    spec = _spec(provider, AUTHORIZATION_CODE)
    name = check_name(data.name)
    base_url = check_base_url(data.base_url, state.settings.allow_private_upstreams)
    connection_id = await check_target(state, spec, data.connection_id)
    authorize_url = _url(spec, "authorize_url", state)
    if not spec.redirect_uri:
        raise ApiError(502, f"{spec.id} has no redirect_uri configured", "oauth_provider_error")
    verifier, flow_state = new_verifier(), new_state()
    await FlowStore(state.redis, state.cipher).put_authorize(
        flow_state,
        AuthorizeFlow(
            provider=spec.id,
            verifier=verifier,
            redirect_uri=spec.redirect_uri,
            name=name,
            connection_id=connection_id,
            base_url=base_url,
        ),
    )
    query = {
        "response_type": "code",
        "client_id": spec.client_id,
        "redirect_uri": spec.redirect_uri,
        "scope": spec.scopes,
        "state": flow_state,
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
        **dict(spec.authorize_params),
    }
    separator = "&" if "?" in authorize_url else "?"
    return AuthorizeStarted(
        auth_url=f"{authorize_url}{separator}{urlencode(query)}",
        state=flow_state,
        redirect_uri=spec.redirect_uri,
        expires_in=AUTHORIZE_TTL_SECONDS,
    )


async def _finish_authorize(
    request: Request[Any, Any, Any], provider: str, code: str, flow_state: str
) -> OAuthConnectionView:
    state = control_state(request)
    spec = _spec(provider, AUTHORIZATION_CODE)
    if "#" in code:  # Claude's code page shows "<code>#<state>" for pasting
        code, _, pasted_state = code.partition("#")
        if pasted_state and pasted_state != flow_state:
            raise InvalidField("state", "does not match the state in the pasted code", 400)
    flow = await FlowStore(state.redis, state.cipher).take_authorize(flow_state)
    if flow is None or flow.provider != spec.id:
        raise InvalidField("state", "unknown, already used or expired; start the authorization again", 400)
    try:
        tokens = await _exchange(
            spec,
            state,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": flow.redirect_uri,
                "code_verifier": flow.verifier,
            },
        )
    except OAuthGrantError as exc:
        raise ApiError(400, f"the provider refused the authorization code ({exc.code})", exc.code) from None
    except OAuthEndpointError as exc:
        raise _provider_error(exc) from None
    return await save_grant(
        state,
        actor_of(request),
        spec,
        tokens,
        name=flow.name,
        connection_id=flow.connection_id,
        base_url=flow.base_url,
    )


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else default


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise OAuthEndpointError(f"the device authorization answer has no {field}")
    return value


def _connection_of(row: asyncpg.Record, spec: OAuthProvider) -> None:
    extra = row["provider_specific_data"] or {}
    if extra.get("oauthProvider") != spec.id:
        raise InvalidField("connectionId", f"was not authorised through {spec.id}", 422)


class OAuthController(Controller):
    path = "/api/oauth/{provider:str}"
    tags = ["oauth"]
    exception_handlers = {ValidationException: _unprocessable}

    @get("/authorize")
    async def authorize_get(
        self,
        request: Request[Any, Any, Any],
        provider: FromPath[str],
        name: FromQuery[str | None] = None,
        connection_id: Annotated[str | None, QueryParameter(name="connectionId")] = None,
        base_url: Annotated[str | None, QueryParameter(name="baseUrl")] = None,
    ) -> AuthorizeStarted:
        """Start an authorization-code flow (PKCE S256); answers the URL to open."""
        return await _start_authorize(
            request, provider, AuthorizeRequest(name=name, connection_id=connection_id, base_url=base_url)
        )

    @post("/authorize", status_code=200)
    async def authorize_post(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[AuthorizeRequest | None] = None
    ) -> AuthorizeStarted:
        """Start an authorization-code flow (PKCE S256); answers the URL to open."""
        return await _start_authorize(request, provider, data or AuthorizeRequest())

    @get("/callback")
    async def callback_get(
        self,
        request: Request[Any, Any, Any],
        provider: FromPath[str],
        code: FromQuery[str | None] = None,
        flow_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: FromQuery[str | None] = None,
    ) -> OAuthConnectionView:
        """The provider's redirect: exchanges `code` (with the flow's PKCE verifier) for tokens."""
        _spec(provider, AUTHORIZATION_CODE)
        if error:
            if flow_state:  # the flow is over either way
                await FlowStore(control_state(request).redis, control_state(request).cipher).take_authorize(flow_state)
            raise ApiError(400, f"the provider refused the authorization ({error[:64]})", error[:64])
        if not flow_state:
            raise InvalidField("state", "is required", 422)
        if not code:
            raise InvalidField("code", "is required", 422)
        return await _finish_authorize(request, provider, code, flow_state)

    @post("/callback", status_code=200)
    async def callback_post(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[CallbackRequest]
    ) -> OAuthConnectionView:
        """Finish an authorization-code flow with the pasted or redirected `code` and `state`."""
        return await _finish_authorize(request, provider, data.code.strip(), data.state.strip())

    @post("/device-code", status_code=200)
    async def device_code(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[AuthorizeRequest | None] = None
    ) -> DeviceCodeStarted:
        """Start a device authorization (RFC 8628): show `userCode` at `verificationUri`, then poll."""
        state = control_state(request)
        spec = _spec(provider, DEVICE_CODE)
        data = data or AuthorizeRequest()
        name = check_name(data.name)
        base_url = check_base_url(data.base_url, state.settings.allow_private_upstreams)
        connection_id = await check_target(state, spec, data.connection_id)
        form = {"client_id": spec.client_id, "scope": spec.scopes}
        verifier = new_verifier() if spec.device_pkce else None
        if verifier is not None:
            form.update(code_challenge=challenge_of(verifier), code_challenge_method="S256")
        try:
            body = await post_form(
                _url(spec, "device_code_url", state), form, allow_private=state.settings.allow_private_upstreams
            )
            device_code, user_code = _text(body, "device_code"), _text(body, "user_code")
            verification_uri = body.get("verification_uri") or body.get("verification_url")
            if not isinstance(verification_uri, str) or not verification_uri:
                raise OAuthEndpointError("the device authorization answer has no verification_uri")
        except OAuthGrantError as exc:
            raise ApiError(502, f"the provider refused the device authorization ({exc.code})", exc.code) from None
        except OAuthEndpointError as exc:
            raise _provider_error(exc) from None
        interval = min(_int(body.get("interval"), _DEFAULT_INTERVAL), _MAX_INTERVAL)
        expires_in = max(_int(body.get("expires_in"), 900), 1)
        complete = body.get("verification_uri_complete")
        flow_id = new_state()
        now = time.time()
        await FlowStore(state.redis, state.cipher).put_device(
            flow_id,
            DeviceFlow(
                provider=spec.id,
                device_code=device_code,
                verifier=verifier,
                interval=interval,
                next_poll_at=now + interval,
                expires_at=now + expires_in,
                name=name,
                connection_id=connection_id,
                base_url=base_url,
            ),
            expires_in,
        )
        return DeviceCodeStarted(
            flow_id=flow_id,
            user_code=user_code,
            verification_uri=verification_uri,
            verification_uri_complete=complete if isinstance(complete, str) else None,
            interval=interval,
            expires_in=expires_in,
        )

    @post(
        "/poll",
        status_code=200,
        responses={202: ResponseSpec(data_container=PollAnswer, description="Not approved yet: poll again later")},
    )
    async def poll(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[DevicePoll]
    ) -> Response[PollAnswer]:
        """Ask the provider once whether the user approved; 202 while pending, 200 with the connection."""
        state = control_state(request)
        spec = _spec(provider, DEVICE_CODE)
        flows = FlowStore(state.redis, state.cipher)
        flow = await flows.get_device(data.flow_id)
        if flow is None or flow.provider != spec.id:
            raise NotFoundError("device flow")
        now = time.time()
        if now < flow.next_poll_at:  # polling faster than the provider allows earns slow_down, or worse
            wait = max(int(flow.next_poll_at - now + 0.999), 1)
            answer = PollAnswer(status="pending", interval=flow.interval, retry_after=wait)
            return Response(answer, status_code=202, headers={"Retry-After": str(wait)})
        form = {"grant_type": _DEVICE_GRANT, "device_code": flow.device_code}
        if flow.verifier is not None:
            form["code_verifier"] = flow.verifier
        try:
            tokens = await _exchange(spec, state, form)
        except OAuthGrantError as exc:
            return await self._poll_refused(flows, data.flow_id, flow, exc.code)
        except OAuthEndpointError as exc:
            raise _provider_error(exc) from None
        await flows.drop_device(data.flow_id)
        connection = await save_grant(
            state,
            actor_of(request),
            spec,
            tokens,
            name=flow.name,
            connection_id=flow.connection_id,
            base_url=flow.base_url,
        )
        return Response(PollAnswer(status="complete", connection=connection), status_code=200)

    @staticmethod
    async def _poll_refused(flows: FlowStore, flow_id: str, flow: DeviceFlow, code: str) -> Response[PollAnswer]:
        if code in ("authorization_pending", "slow_down"):
            if code == "slow_down":
                flow.interval = min(flow.interval + _SLOW_DOWN_STEP, _MAX_INTERVAL)
            flow.next_poll_at = time.time() + flow.interval
            await flows.put_device(flow_id, flow, int(flow.expires_at - time.time()))
            status = "pending" if code == "authorization_pending" else "slow_down"
            answer = PollAnswer(status=status, interval=flow.interval, retry_after=flow.interval)
            return Response(answer, status_code=202, headers={"Retry-After": str(max(flow.interval, 1))})
        await flows.drop_device(flow_id)
        if code == "expired_token":
            raise ApiError(410, "the device code expired before it was approved; start again", code)
        if code == "access_denied":
            raise ApiError(400, "the user denied the authorization", code)
        raise ApiError(400, f"the provider refused the device flow ({code})", code)

    @post("/refresh", status_code=200)
    async def refresh(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[ConnectionRef]
    ) -> RefreshAnswer:
        """Rotate the connection's tokens now (one refresh cluster-wide; concurrent callers share it)."""
        state = control_state(request)
        spec = _spec(provider)
        ident = parse_uuid(data.connection_id, "provider connection")
        _connection_of(await oauth_row(state, ident), spec)
        outcome = await refresh_connection(state, actor_of(request), ident)
        return RefreshAnswer(refreshed=outcome.refreshed, connection=view(outcome.row, state.cipher))

    @post("/revoke", status_code=200)
    async def revoke(
        self, request: Request[Any, Any, Any], provider: FromPath[str], data: JSONBody[ConnectionRef]
    ) -> RevokeAnswer:
        """Revoke at the provider (RFC 7009) when it offers that, then forget the tokens and deactivate."""
        state = control_state(request)
        spec = _spec(provider)
        ident = parse_uuid(data.connection_id, "provider connection")
        row = await oauth_row(state, ident)
        _connection_of(row, spec)
        upstream_error: str | None = None
        revoked = False
        if spec.revoke_url:
            try:
                token = decrypt_token(state.cipher, row, "refresh") or decrypt_token(state.cipher, row, "access")
                if token:
                    form = {"token": token, "client_id": spec.client_id}
                    await post_form(
                        _url(spec, "revoke_url", state), form, allow_private=state.settings.allow_private_upstreams
                    )
                    revoked = True
            except (OAuthGrantError, OAuthEndpointError, ApiError, DecryptionError) as exc:
                upstream_error = type(exc).__name__ if not isinstance(exc, OAuthGrantError) else exc.code
                log.warning("oauth revocation at the provider failed", extra={"connection_id": ident})
        async with state.writer.transaction() as conn:
            locked = await store.fetch(conn, ident, for_update=True)
            if locked is None:
                raise NotFoundError("provider connection")
            cleared = await store.clear_tokens(conn, ident)
            after = view(cleared, state.cipher)
            await audit.record(
                conn,
                actor_of(request),
                "oauth.revoked",
                "provider",
                ident,
                {"tokenVersion": locked["oauth_token_version"]},
                {"tokenVersion": after.token_version, "revokedUpstream": revoked},
            )
        return RevokeAnswer(revoked_upstream=revoked, upstream_error=upstream_error, connection=after)
