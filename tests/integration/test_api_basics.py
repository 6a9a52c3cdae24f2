"""The HTTP basics every resource relies on: auth answers and problem documents."""

from __future__ import annotations

from .conftest import Api


async def test_current_user_and_auth_answers(api: Api) -> None:
    status, me = await api.call("GET", "/api/users/current")
    assert status == 200 and me["role"] == "ADMIN"
    status, problem = await api.call("GET", "/api/users/current", key=None)
    assert status == 401 and problem["code"] == "UNAUTHORIZED" and problem["status"] == 401
    status, problem = await api.call("GET", "/api/users/current", key="ilk_nope")
    assert status == 403 and "not valid" in problem["message"]
    status, problem = await api.call("GET", "/api/no-such-thing")
    assert status == 404 and problem["status"] == 404
    status, ready = await api.call("GET", "/readyz", key=None)
    assert status == 200 and ready["projections"]["users"]["lag"] == 0
