"""Signing in as an attacker would try it: guessing tokens fast, a page behind TLS, a crafted ?flash= link."""

from __future__ import annotations

import re

import httpx

from oversight.web.auth import LOGIN_CSRF_COOKIE, SignInThrottle
from tests.web.conftest import Site, sign_in


class Clock:
    """A clock the test moves by hand (the throttle's waits pass without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def moved_clock(site: Site) -> Clock:
    clock = Clock()
    site.app.state.sign_in_throttle.clock = clock
    return clock


def test_a_wrong_token_makes_the_next_try_from_that_client_wait(site: Site) -> None:
    clock = moved_clock(site)
    guesser = site.client()
    assert sign_in(guesser, "ovt_guess-1").status_code == 401
    burst = [sign_in(guesser, f"ovt_guess-{n}") for n in range(2, 22)]  # as fast as the client can send
    assert {r.status_code for r in burst} == {429}
    assert burst[0].headers["retry-after"] == "1"
    assert "Too many failed sign-ins" in burst[0].text
    assert sign_in(guesser, site.tokens["ana"]).status_code == 429  # even the right token waits its turn
    clock.now += 1
    assert sign_in(guesser, "ovt_guess-again").status_code == 401
    clock.now += 1.5  # the second failure doubled the wait: 2 s
    held = sign_in(guesser, "ovt_guess-again")
    assert (held.status_code, held.headers["retry-after"]) == (429, "1")
    clock.now += 0.5
    assert sign_in(guesser, site.tokens["ana"]).status_code == 303
    assert sign_in(site.client(), "ovt_wrong").status_code == 401  # success forgot the failures: no wait


def test_the_wait_is_per_client_address(site: Site) -> None:
    moved_clock(site)
    assert sign_in(site.client(), "ovt_guess").status_code == 401
    assert sign_in(site.client(), "ovt_guess").status_code == 429
    elsewhere = site.client()
    elsewhere.headers["X-Forwarded-For"] = "203.0.113.9"  # the test server trusts 127.0.0.1's proxy headers
    assert sign_in(elsewhere, site.tokens["ben"]).status_code == 303


def test_the_throttle_doubles_its_wait_up_to_a_cap_and_forgets_old_failures() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock, first_wait=1, max_wait=8, forget_after=100, max_clients=3)
    waits = []
    for _ in range(6):
        assert throttle.admit("a") == 0.0
        throttle.done("a", signed_in=False)
        waits.append(throttle.wait("a"))
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 8, 8]
    assert throttle.admit("a") == 0.0
    assert throttle.admit("a") > 0  # a second try in parallel waits for the first one's answer
    throttle.done("a", signed_in=False)
    clock.now += 8 + 101
    assert throttle.admit("a") == 0.0 and throttle.wait("a") == 0  # long quiet: a fresh start
    throttle.done("a", signed_in=False)
    assert throttle.wait("a") == 1
    for client in ("b", "c", "d", "e"):
        assert throttle.admit(client) == 0.0 and throttle.admit(client) == 0.0  # never failed: never held
        throttle.done(client, signed_in=False)
    assert len(throttle) <= 3  # bounded memory however many addresses try


def test_the_sign_in_cookie_is_secure_behind_tls_after_a_failed_try_too(site: Site) -> None:
    moved_clock(site)
    client = site.client()
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    tls = {"X-Forwarded-Proto": "https"}  # what the reverse proxy says (trusted from 127.0.0.1)
    failed = client.post("/login", data={"token": "ovt_wrong", "nonce": nonce, "next": "/"}, headers=tls)
    assert failed.status_code == 401
    reissued = [c for c in failed.headers.get_list("set-cookie") if c.startswith(LOGIN_CSRF_COOKIE + "=")]
    assert reissued and all("secure" in c.lower() for c in reissued), reissued
    form = client.get("/login", headers=tls)
    assert "secure" in form.headers["set-cookie"].lower()
    plain = site.client().get("/login")
    assert "secure" not in plain.headers["set-cookie"].lower()  # plain http (a local run) keeps working


def test_flash_shows_only_the_pages_own_messages(site: Site) -> None:
    ana, lea = site.client("ana"), site.client("lea")
    phishing = httpx.QueryParams(flash="Your session expired: sign in again at evil.example")
    for client, path in ((ana, "/queue"), (lea, "/lead/interventions"), (lea, "/lead/calibration")):
        page = client.get(path, params=phishing).text
        assert "evil.example" not in page, path
        assert 'role="status"' not in page, path
    assert "Nothing left to claim" in ana.get("/queue?flash=empty").text
    assert "The item went back to the queue." in ana.get("/queue?flash=released").text
    assert re.search(r'role="status">[^<]*accepted\.', lea.get("/lead/interventions?flash=accepted").text)
    assert "Calibration item added." in lea.get("/lead/calibration?flash=added").text
