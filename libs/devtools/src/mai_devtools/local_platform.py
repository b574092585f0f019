"""The platform as real processes for end-to-end and resilience tests: services, workers, gateway.

Each service gets a fresh database on the given PostgreSQL server, every process shares one topic
prefix on the given broker, and the gateway routes to the services' loopback ports — so a test
runs against what `make run` starts, isolated from any other run. Processes can be killed
(``SIGKILL``) and started again to prove what survives.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from mai_devtools.eid_provider import LocalEidProvider
from mai_devtools.ports import free_port
from mai_devtools.service_list import Service, service_list

__all__ = ["ALL_SERVICES", "FRONT_ENDS", "Platform", "ServiceProcess"]  # noqa: F822 (the first two: __getattr__)

logger = logging.getLogger(__name__)

BIN = Path(sys.executable).parent
#: The identification provider identity-svc is given: a real OpenID Connect provider on loopback.
EID_PROVIDER = "bank-card"
#: Where the provider sends the browser back: the citizen portal's page, through the gateway.
EID_CALLBACK_PATH = "/account/verification/callback"


def __getattr__(name: str) -> tuple[str, ...]:
    # Read from deploy/services.yaml on first use (the one list of services).
    if name == "ALL_SERVICES":
        #: The API services (web + worker each), by short name (``petition``): the default platform.
        return tuple(s.short_name for s in service_list().apis)
    if name == "FRONT_ENDS":
        #: Started only when named: web front ends (a web process, no worker), which call the API
        #: through the gateway.
        return tuple(s.short_name for s in service_list().front_ends)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class ServiceProcess:
    """One OS process of the platform (a web or a worker), restartable with the same settings."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, wait: bool = True) -> ServiceProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 (our own commands)
        log.close()
        if wait and self.health_url:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        assert self.health_url is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if requests.get(self.health_url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s; see {self.log_path}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last commit — a crash."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait: the clean stop Kubernetes asks for."""
        if self.running:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Platform:
    """Starts the chosen services (web + worker each) and the gateway as real processes."""

    def __init__(
        self,
        *,
        kafka_bootstrap_servers: str,
        database_urls: Mapping[str, str],
        smtp_port: int,
        services: Iterable[str] | None = None,
        gateway: bool = True,
        topic_prefix: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        listed = service_list()
        names = list(services) if services is not None else [s.short_name for s in listed.apis]
        unknown = sorted(set(names) - {s.short_name for s in listed})
        if unknown:
            raise ValueError(f"not in {listed.path}: {', '.join(unknown)}")
        #: The started services by short name (``petition``), each with its declaration.
        self.declared: dict[str, Service] = {name: listed.named(name) for name in names}
        self.services = list(self.declared)
        self.kafka = kafka_bootstrap_servers
        self.database_urls = dict(database_urls)
        self.smtp_port = smtp_port
        self.topic_prefix = topic_prefix or f"p{uuid.uuid4().hex[:8]}."
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="mai-platform-"))
        self.ports = {s: free_port() for s in self.services}
        self.metrics_ports = {s: free_port() for s in self.services}
        self.gateway_port = free_port() if gateway else None
        #: The gateway's second listener, the one the portal calls the API on (page traffic
        #: cannot fill its connections: gateway/src/gateway/server.py).
        self.gateway_internal_port = free_port() if gateway else None
        self.processes: dict[str, ServiceProcess] = {}
        #: How long each process may take to become healthy (longer for the whole platform on a busy machine).
        self.startup_timeout = startup_timeout
        self._extra_env = dict(extra_env or {})
        #: Each service's broker user, when the broker authenticates (see start()).
        self._kafka_users: dict[str, Any] | None = None
        #: The "bank-card" identification provider (started with identity-svc): ``enrol`` people,
        #: ``identify`` on its authorization page.
        self.eid_provider: LocalEidProvider | None = (
            LocalEidProvider(log_path=self.workdir / "eid-provider.log") if "identity" in self.services else None
        )
        from cryptography.fernet import Fernet

        self.common_env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "LOG_JSON": "true",
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.gateway_port or 8080}",
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "8",
            "EVENT_SEALING_KEYS": Fernet.generate_key().decode(),
            "IDENTITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "REGISTRY_HASH_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "APPOINTMENT_LINK_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "REQUEST_FINGERPRINT_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "AUDIT_CHECKPOINT_KEYS": uuid.uuid4().hex + uuid.uuid4().hex,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "no-reply@e-services.mai.gov.ro",
            "DELIVERY_RETRY_BASE_SECONDS": "0.5",
            "DELIVERY_RETRY_MAX_SECONDS": "2",
            "DELIVERY_IDLE_SECONDS": "0.1",
            # Staff accounts of the platform's tests sign in with a password until they enrol an
            # authenticator; production (and identity-svc's default) requires one of every staff account.
            "STAFF_SECOND_FACTOR": "when-enrolled",
            # Security keys (WebAuthn) belong to a host name, never to an IP address: the console's
            # pages use them at http://localhost:<gateway port> (a secure context, like https).
            "WEBAUTHN_RP_ID": "localhost",
            "WEBAUTHN_ORIGINS": f"http://localhost:{self.gateway_port or 8080}",
        }
        if self.eid_provider is not None:
            self.common_env.update(
                self.eid_provider.identity_env(
                    name=EID_PROVIDER,
                    redirect_uris=[f"http://127.0.0.1:{self.gateway_port or 8080}{EID_CALLBACK_PATH}"],
                    client_secret=uuid.uuid4().hex,
                )
            )
        if "identity" in self.services:
            self.common_env["JWT_JWKS_URL"] = f"http://127.0.0.1:{self.ports['identity']}/.well-known/jwks.json"
            self.common_env["IDENTITY_URL"] = f"http://127.0.0.1:{self.ports['identity']}"
            # The download of a citizen's data gathers the part of every service identity-svc calls.
            identity = self.declared["identity"]
            sources = [
                f"{self.declared[s].name}={self.url(s)}"
                for s in self.services
                if s != "identity" and self.declared[s].name in identity.calls
            ]
            if sources:
                self.common_env["ACCOUNT_EXPORT_SOURCES"] = ",".join(sources)
        if any(self.declared[service].front_end for service in self.services):
            # The portal and the console call the API through the gateway on each person's behalf.
            self.common_env["GATEWAY_TRUSTED_PROXY_NETWORKS"] = "127.0.0.1/32"
        self.common_env.update(self._extra_env)

    # -- layout --------------------------------------------------------------------------------

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def gateway_url(self) -> str:
        assert self.gateway_port is not None, "this platform has no gateway"
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_internal_url(self) -> str:
        assert self.gateway_internal_port is not None, "this platform has no gateway"
        return f"http://127.0.0.1:{self.gateway_internal_port}"

    def _service_env(self, service: str) -> dict[str, str]:
        data_dir = self.workdir / service
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **self.common_env,
            "DATABASE_URL": self.database_urls[service],
            "PORT": str(self.ports[service]),
            "METRICS_PORT": str(self.metrics_ports[service]),
            "TRUSTED_PROXY_HOPS": "1",
            "ATTACHMENTS_DIR": str(data_dir / "attachments"),
            "DOCUMENTS_DIR": str(data_dir / "documents"),
            "CERTIFICATES_DIR": str(data_dir / "certificates"),
            "SIGNING_DIR": str(data_dir / "signing"),
            **(self._front_end_env() if self.declared[service].front_end else {}),
            **self._kafka_env(service),
        }

    def _kafka_env(self, service: str) -> dict[str, str]:
        """The service's own broker user (its ACLs on this platform's topics), never the administrator's."""
        if self._kafka_users is None:
            return {}
        user = self._kafka_users.get(self.declared[service].name if service in self.declared else service)
        if user is None:  # a front end: it publishes and consumes nothing
            return {"KAFKA_SASL_USERNAME": "", "KAFKA_SASL_PASSWORD": "", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
        return {str(name): str(value) for name, value in user.environment().items()}

    def _front_end_env(self) -> dict[str, str]:
        return {
            "API_BASE_URL": self.gateway_internal_url,
            "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "SESSION_COOKIE_SECURE": "false",
            # The bank-card verification's form redirects the browser to the identification provider.
            **({"FORM_ACTION_ORIGINS": self.eid_provider.issuer} if self.eid_provider is not None else {}),
            **{k: v for k, v in self._extra_env.items() if k in ("SECRET_KEY", "SESSION_COOKIE_SECURE")},
        }

    def _routes_file(self) -> Path:
        lines = [
            "defaults:",
            "  connect_timeout_seconds: 1",
            "  timeout_seconds: 10",
            "  max_body_bytes: 27262976",
            "  rate_limit: 100000/minute",
            "  methods: [GET, HEAD, POST, PUT, PATCH, DELETE]",
            "routes:",
        ]
        for service in self.services:
            for route in self.declared[service].routes:
                lines += [
                    f"  - prefix: {route.prefix}",
                    f"    upstream: {self.url(service)}",
                    f"    service: {self.declared[service].name}",
                ]
                if route.pages:
                    lines.append("    pages: true")
        path = self.workdir / "routes.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> Platform:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        from mai_chassis.kafka_admin import provision
        from mai_chassis.kafka_clients import KafkaSecurity

        administrator = KafkaSecurity.from_env(self.common_env)
        if administrator.uses_sasl:
            # Each service runs as its own user, allowed only what contracts/ say (on this prefix).
            self._kafka_users = provision(self.kafka, administrator=administrator, topic_prefix=self.topic_prefix)
        if self.eid_provider is not None:
            self.eid_provider.start()
        for service in self.services:
            env = self._service_env(service)
            declared = self.declared[service]
            cli = str(BIN / declared.command)
            migrated = subprocess.run([cli, "migrate"], env=env, capture_output=True, timeout=120)  # noqa: S603 (our own command)
            if migrated.returncode != 0:
                raise RuntimeError(f"{declared.name} migrate failed: {migrated.stderr.decode()[-3000:]}")
            self.processes[f"{service}-web"] = ServiceProcess(
                f"{service}-web",
                [cli, "web", "--bind", f"127.0.0.1:{self.ports[service]}"],
                env,
                logs / f"{service}-web.log",
                health_url=f"{self.url(service)}/healthz",
            )
            if not declared.worker:
                continue  # a web process only
            self.processes[f"{service}-worker"] = ServiceProcess(
                f"{service}-worker",
                [cli, "worker"],
                env,
                logs / f"{service}-worker.log",
                health_url=f"http://127.0.0.1:{self.metrics_ports[service]}/healthz",
            )
        if self.gateway_port is not None:
            env = {
                **self.common_env,
                **self._kafka_env("gateway"),
                "PORT": str(self.gateway_port),
                "GATEWAY_ROUTES_FILE": str(self._routes_file()),
            }
            self.processes["gateway"] = ServiceProcess(
                "gateway",
                [
                    str(BIN / "gateway"),
                    "web",
                    *("--bind", f"127.0.0.1:{self.gateway_port}"),
                    *("--internal-bind", f"127.0.0.1:{self.gateway_internal_port}"),
                ],
                env,
                logs / "gateway.log",
                health_url=f"{self.gateway_url}/healthz",
            )
        for process in self.processes.values():
            process.start(wait=False)
        for process in self.processes.values():
            process.wait_healthy(self.startup_timeout)
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop(timeout=15)
        if self.eid_provider is not None:
            self.eid_provider.stop()

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def logs(self) -> str:
        """Every process' log, for a failing test's report."""
        logs = "\n".join(f"===== {name}\n{p.log()[-4000:]}" for name, p in self.processes.items())
        provider_log = self.workdir / "eid-provider.log"
        if provider_log.exists():
            logs += f"\n===== eid-provider\n{provider_log.read_text(errors='replace')[-4000:]}"
        return logs
