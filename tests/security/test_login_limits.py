"""Item 7: login limited per address and per (address, account), so nobody elsewhere can
lock a user out; registration limited per address."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD, register
from tests.helpers import assert_error
from tests.test_config import SETTING_VARS
from web.config import Settings

VICTIM_IP, ATTACKER_IP, OTHER_IP = "203.0.113.7", "198.51.100.66", "192.0.2.44"


@pytest.fixture
def limits(app, monkeypatch):
    settings = app.config["SETTINGS"]
    monkeypatch.setattr(settings, "rate_limit_auth", "3/minute")
    monkeypatch.setattr(settings, "rate_limit_auth_ip", "5/minute")
    monkeypatch.setattr(settings, "rate_limit_register", "3/minute")
    monkeypatch.setattr(settings, "forwarded_proxies", 0)
    return settings


def attempt(client, email: str, password: str, ip: str, headers: dict | None = None):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers or {})


def test_an_attacker_cannot_lock_the_user_out(client, limits):
    victim = register(client)
    for _ in range(3):
        assert_error(attempt(client, victim.email, "wrong-password", ATTACKER_IP), 401)
    error = assert_error(attempt(client, victim.email, "wrong-password", ATTACKER_IP), 429,
                         "rate_limited")
    assert error["message"]
    # The user, from their own address, still gets in with the right password.
    assert attempt(client, victim.email, PASSWORD, VICTIM_IP).status_code == 200


def test_one_address_guessing_one_account_is_limited_even_with_the_right_password(client,
                                                                                    limits):
    victim = register(client)
    for _ in range(3):
        attempt(client, victim.email, "wrong-password", ATTACKER_IP)
    response = attempt(client, victim.email, PASSWORD, ATTACKER_IP)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


def test_one_address_spraying_many_accounts_is_limited(client, limits):
    emails = [f"sprayed{i}@example.com" for i in range(6)]
    statuses = [attempt(client, email, "guess-123", ATTACKER_IP).status_code for email in emails]
    assert statuses == [401] * 5 + [429]
    assert attempt(client, "sprayed0@example.com", "guess-123", OTHER_IP).status_code == 401


def test_registration_is_limited_per_address(client, limits):
    def sign_up(n: int, ip: str):
        return client.post("/api/auth/register", environ_base={"REMOTE_ADDR": ip}, json={
            "email": f"new{n}-{ip}@example.com", "password": PASSWORD, "name": "New"})

    assert [sign_up(n, ATTACKER_IP).status_code for n in range(4)] == [201, 201, 201, 429]
    assert sign_up(9, OTHER_IP).status_code == 201


def test_forwarded_for_counts_only_behind_a_configured_proxy(client, limits):
    victim = register(client)
    spoofed = {"X-Forwarded-For": VICTIM_IP}
    for _ in range(3):
        attempt(client, victim.email, "wrong-password", ATTACKER_IP, spoofed)
    # Not behind a proxy: the header is ignored, so the attacker's own address is limited.
    assert attempt(client, victim.email, PASSWORD, ATTACKER_IP).status_code == 429
    assert attempt(client, victim.email, PASSWORD, VICTIM_IP).status_code == 200

    limits.forwarded_proxies = 1  # e.g. Heroku's router, which appends the client's address
    proxy = "10.0.0.1"
    for _ in range(3):
        attempt(client, victim.email, "wrong-password", proxy,
                {"X-Forwarded-For": f"{VICTIM_IP}, {ATTACKER_IP}"})
    assert attempt(client, victim.email, PASSWORD, proxy,
                   {"X-Forwarded-For": ATTACKER_IP}).status_code == 429
    assert attempt(client, victim.email, PASSWORD, proxy,
                   {"X-Forwarded-For": OTHER_IP}).status_code == 200


def test_default_limits_scale_from_rate_limit_auth(monkeypatch, tmp_path):
    for name in SETTING_VARS + ["RATE_LIMIT_AUTH_IP", "RATE_LIMIT_REGISTER", "FORWARDED_PROXIES"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("RATE_LIMIT_AUTH", "20/minute")
    settings = Settings.from_env()
    assert (settings.rate_limit_auth, settings.rate_limit_auth_ip,
            settings.rate_limit_register, settings.forwarded_proxies) == (
        "20/minute", "100/minute", "20/minute", 0)
    monkeypatch.setenv("RATE_LIMIT_AUTH_IP", "7/hour")
    monkeypatch.setenv("RATE_LIMIT_REGISTER", "3/hour")
    monkeypatch.setenv("FORWARDED_PROXIES", "1")
    settings = Settings.from_env()
    assert (settings.rate_limit_auth_ip, settings.rate_limit_register,
            settings.forwarded_proxies) == ("7/hour", "3/hour", 1)
