"""Launch-day replay: the criminal-record platform's first day (seed 002), compressed, through the gateway.

The seed's day: 7,600 accounts created, 6,912 verified online with a bank card (Ghiseul.ro) and 153
at police counters, 5,532 certificates issued in 24 hours. The target is that whole day in at most
10 minutes on one 2-core machine, with zero errors.

The replay starts its own platform (identity-svc, record-svc, notify-svc — web + worker each — and
the gateway, as real processes on loopback ports, with fresh databases, a fresh topic prefix and an
SMTP sink) and plays ``--scale`` of the day, one step after another, each step with a bounded
number of concurrent clients:

1. register (argon2id at production cost: t=2, 19 MiB — the password and the mailed code);
2. open the link in the confirmation mail (notify-svc sends it) and confirm the address by POST;
3. log in;
4. verify identity: the bank-card share through the OpenID Connect provider's redirect flow (a real
   provider on loopback: start, its authorization page, its form, the callback with the code), the
   counter share by a counter clerk (created with identity-svc's ``create-admin`` CLI and the staff API);
5. refresh the session to get a token with ``acr=substantial``;
6. apply for a certificate (rendered, signed with PAdES, stored, ``certificate.issued`` out) and
   wait until every "certificate issued" mail has reached the SMTP sink.

Each step's rate is compared with the rate that the full day in 10 minutes needs (ratio >= 1: on
target); the projected time of the full day is the sum of the steps' full-day counts divided by
their measured rates (the steps share the same two cores, so their times add up). Each step also
reports the CPU time each component spent on it (``bench/cpu.py``, read from /proc), per citizen.

    python -m bench.launch_day [--scale 0.2] [--concurrency 6] [--web-workers 2]

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (an admin URL); `make bench` provides both.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import os
import re
import subprocess
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

warnings.simplefilter("ignore", DeprecationWarning)

import requests  # noqa: E402
from mai_chassis.testing import create_database, drop_database, ensure_topics  # noqa: E402
from mai_devtools import SmtpSink  # noqa: E402
from mai_devtools.local_platform import BIN, EID_PROVIDER, Platform  # noqa: E402
from record_testing import make_cnp  # noqa: E402

from bench import cpu  # noqa: E402
from bench.client import Client, Response  # noqa: E402
from bench.harness import LoadResult, Row, report, run_load  # noqa: E402

logger = logging.getLogger("launch_day")

#: The seed's first day (002_8149e3c36c4c4bc5.txt).
DAY = {"accounts": 7600, "bank_card": 6912, "counter": 153, "certificates": 5532}
TARGET_SECONDS = 600.0
SERVICES = ["identity", "record", "notify"]
PASSWORD = "Ziua-lansarii-2023!"
UNIT = "IPJ-CJ"
TIMEOUT = 30


@dataclass
class Citizen:
    n: int
    email: str
    cnp: str
    last_name: str = "Popescu"
    first_name: str = "Andrei"
    citizen_id: str = ""
    code: str = ""
    access_token: str = ""
    refresh_token: str = ""
    token_at: float = 0.0
    certificate_issued: bool = False

    def keep(self, tokens: dict[str, Any]) -> None:
        self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        self.token_at = time.monotonic()


@dataclass
class Step:
    name: str
    full_day: int
    result: LoadResult
    requests_each: int = 1
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # component -> CPU seconds in the step

    @property
    def rate(self) -> float:
        return self.result.throughput

    @property
    def needed_rate(self) -> float:
        return self.full_day / TARGET_SECONDS


class StepFailed(requests.RequestException):
    """A step's intermediate answer was wrong: counted as an error by the load generator."""


# --- the mailbox, read incrementally -------------------------------------------------------------


@dataclass
class Mailbox:
    """Reads each new mail of the sink's Maildir once and keeps what the replay needs from it."""

    maildir: Path
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # address -> (account id, code)
    reset_codes: dict[str, str] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)  # addresses told their certificate was issued
    _seen: set[str] = field(default_factory=set)

    _CODE = re.compile(r"password with the code below\.\s*\n\s*\n?\s*([A-Z0-9-]{6,12})\s*\n")
    _LINK = re.compile(r"Confirm your e-mail address: (\S+)")

    def scan(self) -> None:
        for folder in ("new", "cur"):
            directory = self.maildir / folder
            if not directory.exists():
                continue
            for entry in os.scandir(directory):
                if entry.name in self._seen:
                    continue
                self._seen.add(entry.name)
                with open(entry.path, "rb") as handle:
                    message = email.message_from_bytes(handle.read(), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                self._read(message)

    def _read(self, message: EmailMessage) -> None:
        address = str(message["X-Envelope-To"] or "").strip()
        subject = str(message["Subject"] or "")
        if "confirmation code" in subject or "choose your password" in subject:
            text = "".join(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
            link, code = self._LINK.search(text), self._CODE.search(text)
            if link and "confirmation code" in subject:
                sent = parse_qs(urlsplit(link.group(1)).query)
                self.codes[address] = (sent["citizen_id"][0], sent["code"][0])
            elif code:
                self.reset_codes[address] = code.group(1)
        elif subject.startswith("Criminal-record certificate no."):
            self.issued.add(address)

    def wait(self, done: Callable[[], bool], timeout: float) -> float:
        """Seconds until ``done()`` holds (scanning new mail meanwhile); raises on timeout."""
        started = time.monotonic()
        while True:
            self.scan()
            if done():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError("mail did not arrive in time")
            time.sleep(0.2)


# --- the platform -----------------------------------------------------------------------------


def start_platform(servers: str, admin_url: str, sink: SmtpSink, web_workers: int) -> tuple[Platform, dict[str, str]]:
    prefix = f"launch{uuid.uuid4().hex[:6]}."
    ensure_topics(servers, prefix=prefix)
    databases = {service: create_database(admin_url, f"launch_{service}") for service in SERVICES}
    platform = Platform(
        kafka_bootstrap_servers=servers,
        database_urls=databases,
        smtp_port=sink.port,
        services=SERVICES,
        topic_prefix=prefix,
        # Gunicorn workers per service (the chassis default is 2): one per core of this machine.
        extra_env={"WEB_CONCURRENCY": str(web_workers), "LOG_LEVEL": "WARNING"},
    )
    try:
        platform.start()
    except BaseException:
        print(platform.logs())
        platform.stop()
        raise
    return platform, databases


def identity_cli(platform: Platform, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "identity-svc"), *args],
        env=platform["identity-web"].env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"identity-svc {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def counter_clerk(platform: Platform, mailbox: Mailbox) -> tuple[str, str]:
    """An admin (CLI) creates a counter clerk (staff API), who sets a password from the mailed code."""
    base = platform.gateway_url
    admin_email, clerk_email = f"admin.{uuid.uuid4().hex[:6]}@mai.gov.ro", f"clerk.{uuid.uuid4().hex[:6]}@mai.gov.ro"
    identity_cli(
        platform, "create-admin", "--email", admin_email, "--name", "Admin", "--password-stdin", stdin=PASSWORD
    )
    admin = _ok(requests.post(f"{base}/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD}))
    _ok(
        requests.post(
            f"{base}/api/v1/staff/accounts",
            json={
                "email": clerk_email,
                "name": "Ghișeu Cluj",
                "language": "en",
                "roles": [{"role": "counter_clerk", "unit": UNIT}],
            },
            headers={"Authorization": f"Bearer {admin['access_token']}"},
            timeout=TIMEOUT,
        )
    )
    mailbox.wait(lambda: clerk_email in mailbox.reset_codes, timeout=60)
    requests.post(
        f"{base}/api/v1/auth/password-reset/confirm",
        json={"email": clerk_email, "code": mailbox.reset_codes[clerk_email], "new_password": PASSWORD},
        timeout=TIMEOUT,
    ).raise_for_status()
    return clerk_email, PASSWORD


def _ok(response: requests.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.url} -> {response.status_code}: {response.text}")
    return response.json()  # type: ignore[no-any-return]


def enrol_card_holders(platform: Platform, people: list[Citizen]) -> None:
    """Before opening: the provider learns who each card holder is (their CNP and names), as the
    banks know their customers; identifying them is then the citizens' own step."""
    provider = platform.eid_provider
    assert provider is not None
    for c in people:
        provider.enrol(card_holder(c), cnp=c.cnp, family_name=c.last_name, given_name=c.first_name)


def card_holder(c: Citizen) -> str:
    return f"card-holder-{c.n}"


# --- the steps ---------------------------------------------------------------------------------


def cpu_now(platform: Platform) -> dict[str, float]:
    roots = {name: process.proc.pid for name, process in platform.processes.items() if process.proc is not None}
    if platform.eid_provider is not None and platform.eid_provider.proc is not None:
        roots["eid-provider"] = platform.eid_provider.proc.pid  # the bank's side of the bank-card step
    return cpu.snapshot(roots, {"postgres": "postgres", "java": "kafka"})


def play(
    platform: Platform,
    name: str,
    people: list[Citizen],
    act: Callable[[Client, Citizen], Response],
    *,
    full_day: int,
    concurrency: int,
    ok: Callable[[Response], bool] = lambda r: r.status_code < 400,
    requests_each: int = 1,
) -> Step:
    """One step for every citizen in ``people``, ``concurrency`` at a time, measured from the first."""
    if not people:
        return Step(name, full_day, LoadResult(0, 0, 0.0), requests_each)
    failures: list[str] = []

    def attempt(session: Client, n: int) -> Response:
        answer = act(session, people[n])
        if not ok(answer) and len(failures) < 3:
            failures.append(
                f"{answer.request.method} {urlsplit(answer.url).path} -> {answer.status_code} {answer.text[:300]}"
            )
        return answer

    cpu_before = cpu_now(platform)
    result = run_load(
        attempt,
        concurrency=min(concurrency, len(people)),
        duration=3600,
        max_requests=len(people),
        warmup=0,
        ok=ok,
    )
    step = Step(name, full_day, result, requests_each, cpu.difference(cpu_now(platform), cpu_before))
    summary = result.summary()
    print(
        f"  {name:<28} {summary['requests']:>6} done, {summary['errors']} errors, {summary['throughput_per_s']:>7}/s, "
        f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms",
        flush=True,
    )
    busiest = sorted(step.cpu_seconds.items(), key=lambda kv: -kv[1])
    done = max(1, summary["requests"])
    print(
        f"    CPU ms per citizen: total {1000 * sum(step.cpu_seconds.values()) / done:.1f} = "
        + ", ".join(f"{label} {1000 * seconds / done:.1f}" for label, seconds in busiest if seconds > 0.0005 * done),
        flush=True,
    )
    if result.errors:
        print(f"    statuses: {result.statuses}", flush=True)
        for failure in failures:
            print(f"    {failure}", flush=True)
    return step


def fresh_token(session: Client, base: str, citizen: Citizen) -> None:
    """Access tokens live 5 minutes: a long replay refreshes before using an old one."""
    if time.monotonic() - citizen.token_at > 200:
        answer = session.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": citizen.refresh_token})
        if answer.status_code != 200:
            raise StepFailed(f"refresh -> {answer.status_code}")
        citizen.keep(answer.json())


def replay(platform: Platform, mailbox: Mailbox, scale: float, concurrency: int) -> tuple[list[Step], dict[str, Any]]:
    base = platform.gateway_url
    counts = {key: max(1, round(value * scale)) for key, value in DAY.items()}
    citizens = [
        Citizen(n, f"cetatean.{n}.{uuid.uuid4().hex[:6]}@example.ro", make_cnp()) for n in range(counts["accounts"])
    ]
    bank_card = citizens[: counts["bank_card"]]
    at_counter = citizens[counts["bank_card"] : counts["bank_card"] + counts["counter"]]
    verified = bank_card + at_counter
    applicants = verified[:: max(1, len(verified) // counts["certificates"])][: counts["certificates"]]
    if len(applicants) < counts["certificates"]:
        applicants += [c for c in verified if c not in applicants][: counts["certificates"] - len(applicants)]
    clerk = counter_clerk(platform, mailbox)
    enrol_card_holders(platform, bank_card)
    steps: list[Step] = []
    extra: dict[str, Any] = {"counts": counts}
    print(f"replaying {scale:g} of the launch day: {counts}", flush=True)

    def register(session: Client, c: Citizen) -> Response:
        return session.post(
            f"{base}/api/v1/accounts",
            json={
                "email": c.email,
                "password": PASSWORD,
                "last_name": c.last_name,
                "first_name": c.first_name,
                "cnp": c.cnp,
                "language": "en",
            },
            timeout=TIMEOUT,
        )

    steps.append(
        play(
            platform, "register", citizens, register, full_day=DAY["accounts"], concurrency=concurrency, ok=_status(202)
        )
    )
    lag = mailbox.wait(lambda: all(c.email in mailbox.codes for c in citizens), timeout=600)
    extra["confirmation_mails_after_last_registration_s"] = round(lag, 2)
    for c in citizens:
        c.citizen_id, c.code = mailbox.codes[c.email]

    def confirm(session: Client, c: Citizen) -> Response:
        return session.post(
            f"{base}/api/v1/accounts/email-confirmation",
            json={"citizen_id": c.citizen_id, "code": c.code},
            timeout=TIMEOUT,
        )

    steps.append(
        play(
            platform,
            "confirm e-mail",
            citizens,
            confirm,
            full_day=DAY["accounts"],
            concurrency=concurrency,
            ok=_status(204),
        )
    )

    def log_in(session: Client, c: Citizen) -> Response:
        answer = session.post(
            f"{base}/api/v1/auth/login", json={"email": c.email, "password": PASSWORD}, timeout=TIMEOUT
        )
        if answer.status_code == 200:
            c.keep(answer.json())
        return answer

    steps.append(play(platform, "log in", citizens, log_in, full_day=DAY["accounts"], concurrency=concurrency))

    def bank_card_flow(session: Client, c: Citizen) -> Response:
        fresh_token(session, base, c)
        auth = {"Authorization": f"Bearer {c.access_token}"}
        started = session.post(
            f"{base}/api/v1/identity/verifications", json={"provider": EID_PROVIDER}, headers=auth, timeout=TIMEOUT
        )
        if started.status_code != 201:
            return started
        kept_in_session, provider_page = started.json()["state"], started.json()["authorization_url"]
        page = session.get(provider_page, timeout=TIMEOUT)  # the provider's page: sub field, "Authorize"
        if page.status_code != 200:
            return page
        authorized = session.post(
            provider_page,
            data=urlencode({"sub": card_holder(c)}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TIMEOUT,
        )
        back = {k: v[0] for k, v in parse_qs(urlsplit(authorized.headers.get("Location", "")).query).items()}
        if authorized.status_code != 302 or back.get("state") != kept_in_session or "code" not in back:
            raise StepFailed(f"provider form -> {authorized.status_code}")
        return session.post(
            f"{base}/api/v1/identity/verifications/callback",
            json={"state": back["state"], "code": back["code"]},
            headers=auth,
            timeout=TIMEOUT,
        )

    steps.append(
        play(
            platform,
            "verify: bank card (4 req.)",
            bank_card,
            bank_card_flow,
            full_day=DAY["bank_card"],
            concurrency=concurrency,
            ok=lambda r: r.status_code == 200 and r.json().get("assurance_level") == "substantial",
            requests_each=4,
        )
    )

    clerk_tokens = _ok(requests.post(f"{base}/api/v1/auth/login", json={"email": clerk[0], "password": clerk[1]}))
    clerk_auth = {"Authorization": f"Bearer {clerk_tokens['access_token']}"}

    def at_the_counter(session: Client, c: Citizen) -> Response:
        found = session.post(
            f"{base}/api/v1/staff/counter/lookups", json={"unit": UNIT, "email": c.email}, headers=clerk_auth
        )
        if found.status_code != 200:
            return found
        return session.post(
            f"{base}/api/v1/staff/counter/verifications",
            json={
                "citizen_id": found.json()["citizen_id"],
                "unit": UNIT,
                "document": {"type": "identity_card", "series": "CJ", "number": f"{c.n:06d}"},
                "cnp": c.cnp,
                "last_name": c.last_name,
                "first_name": c.first_name,
            },
            headers=clerk_auth,
            timeout=TIMEOUT,
        )

    steps.append(
        play(
            platform,
            "verify: counter (2 req.)",
            at_counter,
            at_the_counter,
            full_day=DAY["counter"],
            concurrency=min(concurrency, 2),
            requests_each=2,
        )
    )

    def refresh(session: Client, c: Citizen) -> Response:
        answer = session.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": c.refresh_token}, timeout=TIMEOUT)
        if answer.status_code == 200:
            c.keep(answer.json())
        return answer

    def substantial(answer: Response) -> bool:
        import jwt

        if answer.status_code != 200:
            return False
        claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
        return bool(claims.get("acr") == "substantial")

    steps.append(
        play(
            platform,
            "refresh (acr=substantial)",
            verified,
            refresh,
            full_day=DAY["bank_card"] + DAY["counter"],
            concurrency=concurrency,
            ok=substantial,
        )
    )

    def apply(session: Client, c: Citizen) -> Response:
        fresh_token(session, base, c)
        answer = session.post(
            f"{base}/api/v1/certificates",
            json={"purpose": "employment", "language": "en"},
            headers={"Authorization": f"Bearer {c.access_token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT,
        )
        c.certificate_issued = answer.status_code == 201
        return answer

    steps.append(
        play(
            platform,
            "apply: certificate issued",
            applicants,
            apply,
            full_day=DAY["certificates"],
            concurrency=concurrency,
            ok=lambda r: r.status_code == 201 and r.json().get("status") == "valid",
        )
    )
    wanted = {c.email for c in applicants if c.certificate_issued}
    lag = mailbox.wait(lambda: wanted <= mailbox.issued, timeout=600)
    extra["certificate_mails_after_last_issue_s"] = round(lag, 2)
    extra["steps"] = {
        s.name: s.result.summary() | {"cpu_seconds": {k: round(v, 2) for k, v in s.cpu_seconds.items()}} for s in steps
    }
    return steps, extra


def _status(code: int) -> Callable[[Response], bool]:
    return lambda response: response.status_code == code


# --- the report -------------------------------------------------------------------------------


def rows(steps: list[Step], extra: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    for step in steps:
        table.append(Row(f"{step.name}: rate", "/s", step.rate, step.needed_rate))
    for step in steps:
        for p in (50, 95, 99):
            table.append(Row(f"{step.name}: p{p}", "ms", step.result.percentile(p)))
    errors = sum(step.result.errors for step in steps)
    table.append(Row("errors (all steps)", "count", errors))
    projected = sum(step.full_day / step.rate for step in steps if step.rate > 0)
    table.append(Row("full day projected (ratio <= 1: on target)", "s", projected, TARGET_SECONDS))
    cpus = os.cpu_count() or 2
    table.append(Row("cores for the full day in 10 min", "cores", cpus * projected / TARGET_SECONDS, cpus))
    table.append(
        Row("confirmation mails after last registration", "s", extra["confirmation_mails_after_last_registration_s"])
    )
    table.append(Row("'issued' mails after last certificate", "s", extra["certificate_mails_after_last_issue_s"]))
    extra["projected_full_day_s"] = round(projected, 1)
    extra["errors"] = errors
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("LAUNCH_DAY_SCALE", "0.2")))
    # Six clients keep both cores busy through every step (four left about 5 % of them idle).
    parser.add_argument("--concurrency", type=int, default=6, help="concurrent clients per step")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per service")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    servers, admin_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]

    sink = SmtpSink()
    sink.start()
    platform, databases = start_platform(servers, admin_url, sink, args.web_workers)
    started = time.monotonic()
    try:
        steps, extra = replay(platform, Mailbox(Path(sink.maildir)), args.scale, args.concurrency)
    except BaseException:
        print(platform.logs())
        raise
    finally:
        platform.stop()
        sink.close()
        for url in databases.values():
            try:
                drop_database(admin_url, url)
            except Exception:  # a lingering connection must not hide the result
                logger.warning("could not drop %s", url)
    extra |= {"scale": args.scale, "concurrency": args.concurrency, "web_workers": args.web_workers}
    extra["replay_seconds"] = round(time.monotonic() - started, 1)
    report(
        "launch_day",
        f"Launch-day replay at scale {args.scale:g} ({extra['counts']['accounts']} accounts) — "
        f"baseline: the rate the full day in {TARGET_SECONDS:.0f} s needs",
        rows(steps, extra),
        extra=extra,
    )
    if extra["errors"]:
        raise SystemExit(f"{extra['errors']} errors during the replay")


if __name__ == "__main__":
    main()
