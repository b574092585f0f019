"""Kafka clients' security settings: read once from the environment, refused when unusable."""

from __future__ import annotations

from typing import ClassVar

import pytest
from mai_chassis.config import ConfigurationError, ServiceSettings
from mai_chassis.kafka_admin import derived_user_security
from mai_chassis.kafka_clients import KafkaSecurity, client_options

SCRAM = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_USERNAME": "notify-svc",
    "KAFKA_SASL_PASSWORD": "s3cret-but-not-logged",
    "KAFKA_SSL_CAFILE": "/var/run/secrets/kafka/ca.crt",
}


def test_without_settings_a_client_connects_in_plaintext() -> None:
    security = KafkaSecurity.from_env({})

    assert security.protocol == "PLAINTEXT"
    assert security.client_options() == {}


def test_a_sasl_protocol_defaults_to_scram_sha_512_and_gives_kafka_python_its_options() -> None:
    options = KafkaSecurity.from_env(SCRAM).client_options()

    assert options == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/var/run/secrets/kafka/ca.crt",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "notify-svc",
        "sasl_plain_password": "s3cret-but-not-logged",
    }


def test_the_password_is_never_in_the_settings_repr() -> None:
    assert "s3cret" not in repr(KafkaSecurity.from_env(SCRAM))


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_PASSWORD": "x"}, "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "x"}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({**SCRAM, "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
    ],
)
def test_unusable_settings_are_refused_with_the_variable_named(variables: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        KafkaSecurity.from_env(variables)


def test_the_environment_round_trips_to_a_child_process() -> None:
    security = KafkaSecurity.from_env(SCRAM)

    assert KafkaSecurity.from_env(security.environment()) == security


def test_options_already_made_are_taken_as_they_are() -> None:
    assert client_options({"security_protocol": "SSL"}) == {"security_protocol": "SSL"}
    assert client_options(KafkaSecurity()) == {}


def test_a_user_derived_on_a_development_broker_has_a_stable_password_of_its_own() -> None:
    administrator = KafkaSecurity(
        protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", username="admin", password="a"
    )

    notify = derived_user_security("notify-svc", administrator)

    assert notify.username == "notify-svc" and notify.protocol == "SASL_PLAINTEXT"
    assert notify.password == derived_user_security("notify-svc", administrator).password
    assert notify.password not in ("a", derived_user_security("record-svc", administrator).password)


class _Broker(ServiceSettings):
    service_name: ClassVar[str] = "broker-user"
    needs_database: ClassVar[bool] = False


class _NoBroker(_Broker):
    needs_broker: ClassVar[bool] = False


def test_a_service_that_talks_to_kafka_refuses_to_start_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "x")

    with pytest.raises(ConfigurationError, match="broker-user cannot start: KAFKA_SASL_USERNAME"):
        _Broker.from_env()
    # A front end that never talks to Kafka has no broker user, and starts.
    assert _NoBroker.from_env().kafka_client_options == {}
