#!/usr/bin/env bash
# `make run`: the whole platform on this machine — Kafka, PostgreSQL, the SMTP sink, every service
# (web and worker) and the gateway. Ctrl-C stops everything it started.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=$ROOT/.venv/bin
VAR=$ROOT/var
mkdir -p "$VAR/mail" "$VAR/run"
cd "$ROOT"
# The services, their databases and ports: MAI_SERVICE_TABLE, written from deploy/services.yaml.
# shellcheck source=services.sh
source "$HERE/services.sh"

say() { printf '\033[1m[run]\033[0m %s\n' "$*"; }

started_infra=0
stop_infra() {
  if ((started_infra)); then
    say "stopping the infrastructure this run started"
    "$HERE/infra.sh" down || true
  fi
}
trap stop_infra EXIT

# 1. Kafka and PostgreSQL: the ones the environment names, else local ones.
if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} || -z ${DATABASE_URL:-} ]]; then
  "$HERE/kafka.sh" status >/dev/null 2>&1 && "$HERE/postgres.sh" status >/dev/null 2>&1 || started_infra=1
  "$HERE/infra.sh" up >/dev/null
  # shellcheck disable=SC1091
  set -a; source "$VAR/infra.env"; set +a
fi
PG_BASE=${DATABASE_URL%/*}
PG_BASE=${PG_BASE/#postgresql:/postgresql+psycopg:}
export PG_BASE

# 2. Topics, and each service's broker user with its ACLs, from the one declaration in contracts/.
say "creating topics, users and ACLs on $KAFKA_BOOTSTRAP_SERVERS"
"$BIN/mai-kafka" provision --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" --replication-factor 1 >/dev/null
# Every process that talks to Kafka runs as its own user (Procfile); none gets the administrator's password.
if [[ ${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT} == SASL_* ]]; then
  # The users contracts/ derive, but the analysts': no process here runs as them.
  for user in $("$BIN/mai-kafka" acls | cut -f1 | sort -u | sed 's/^User://' | grep -vx analyst); do
    variable=KAFKA_PASSWORD_${user//-/_}
    printf -v "${variable^^}" '%s' "$("$BIN/mai-kafka" user-env "$user" | sed -n 's/^KAFKA_SASL_PASSWORD=//p')"
    export "${variable^^}"
  done
fi
unset KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD

# 3. Development-only secrets, generated once under var/ (never used in production).
DEV_ENV=$VAR/dev.env
if [[ ! -s $DEV_ENV ]]; then
  say "generating development secrets in $DEV_ENV"
  {
    echo "EVENT_SEALING_KEYS=$("$BIN/python" -c 'from mai_chassis.sealing import generate_key; print(generate_key())')"
    echo "REGISTRY_HASH_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "APPOINTMENT_LINK_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "REQUEST_FINGERPRINT_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "IDENTITY_ENCRYPTION_KEYS=$("$BIN/python" -c 'from mai_chassis.sealing import generate_key; print(generate_key())')"
    echo "SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')"
  } >"$DEV_ENV"
fi
# A var/dev.env written before the portal existed lacks its key.
grep -q '^SECRET_KEY=' "$DEV_ENV" ||
  echo "SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')" >>"$DEV_ENV"
if ! grep -q '^EID_BANK_CARD_CLIENT_SECRET=' "$DEV_ENV"; then
  echo "EID_BANK_CARD_CLIENT_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')" >>"$DEV_ENV"
fi
if ! grep -q '^ANALYTICS_PSEUDONYM_KEY=' "$DEV_ENV"; then
  echo "ANALYTICS_PSEUDONYM_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')" >>"$DEV_ENV"
fi
# The audit chain's checkpoint key (audit-svc anchor, verify-audit).
if ! grep -q '^AUDIT_CHECKPOINT_KEYS=' "$DEV_ENV"; then
  echo "AUDIT_CHECKPOINT_KEYS=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')" >>"$DEV_ENV"
fi
chmod 600 "$DEV_ENV"
set -a
# shellcheck disable=SC1090
source "$DEV_ENV"
set +a
export ENVIRONMENT=development LOG_JSON=${LOG_JSON:-false} PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$MAI_GATEWAY_PORT}
identity_port=$(awk '$1 == "identity-svc" { print $3 }' <<<"$MAI_SERVICE_TABLE")
export JWT_JWKS_URL=http://127.0.0.1:$identity_port/.well-known/jwks.json IDENTITY_URL=http://127.0.0.1:$identity_port
# The download of a citizen's data: identity-svc gathers each service's part (name=URL).
ACCOUNT_EXPORT_SOURCES=$(awk '$1 ~ /^(petition|record|booking|notify)-svc$/ { printf "%s%s=http://127.0.0.1:%s", sep, $1, $3; sep="," }' <<<"$MAI_SERVICE_TABLE")
export ACCOUNT_EXPORT_SOURCES
# The front ends call the public API through the gateway's internal listener (page requests cannot
# take its connections); their migrate reads the same settings.
export API_BASE_URL=http://127.0.0.1:$MAI_GATEWAY_INTERNAL_PORT
export SMTP_HOST=127.0.0.1 SMTP_PORT=2525 SMTP_SECURITY=none MAIL_FROM=no-reply@e-services.mai.gov.ro
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-1} WEB_THREADS=${WEB_THREADS:-8}
# The "bank-card" identification provider: a local OpenID Connect provider (mai-eid-provider, port
# 9400) that identifies whoever the tester names on its page; identity-svc refuses it in production.
# The provider sends the browser back to the citizen portal's callback page.
export EID_PROVIDERS=${EID_PROVIDERS:-bank-card} EID_BANK_CARD_ISSUER=${EID_BANK_CARD_ISSUER:-http://127.0.0.1:9400}
export EID_BANK_CARD_CLIENT_ID=${EID_BANK_CARD_CLIENT_ID:-mai-eservices-dev} EID_BANK_CARD_TEST_PROVIDER=true
export EID_BANK_CARD_REDIRECT_URIS=${EID_BANK_CARD_REDIRECT_URIS:-$PUBLIC_BASE_URL/account/verification/callback}
# Staff security keys (WebAuthn) work on a host name, not an IP address: open the console at
# http://localhost:<gateway port>/staff/ to register or use one.
export WEBAUTHN_RP_ID=${WEBAUTHN_RP_ID:-localhost} WEBAUTHN_ORIGINS=${WEBAUTHN_ORIGINS:-http://localhost:$MAI_GATEWAY_PORT}

# 4. Migrations, one database per service (deploy/services.yaml, through services.sh), each as the
# service's own Kafka user (a service without one has no broker to talk to).
while read -r service database _ _; do
  if [[ -x $BIN/$service ]]; then
    password_variable=KAFKA_PASSWORD_${service//-/_}
    password_variable=${password_variable^^}
    KAFKA_SASL_USERNAME=$service KAFKA_SASL_PASSWORD=${!password_variable:-} \
      DATABASE_URL=$PG_BASE/$database "$BIN/$service" migrate >/dev/null 2>"$VAR/run/migrate-$service.log" ||
      { cat "$VAR/run/migrate-$service.log" >&2; exit 1; }
    say "migrated $service"
  fi
done <<<"$MAI_SERVICE_TABLE"

# 5. Appointment slots: every office's calendar generated SLOT_WEEKS ahead now, then hourly (Procfile).
export SLOT_WEEKS=${SLOT_WEEKS:-8}
if [[ -x $BIN/booking-svc ]]; then
  slots=$(KAFKA_SASL_USERNAME=booking-svc KAFKA_SASL_PASSWORD=${KAFKA_PASSWORD_BOOKING_SVC:-} \
    DATABASE_URL=$PG_BASE/booking "$BIN/booking-svc" generate-slots --weeks "$SLOT_WEEKS" 2>"$VAR/run/slots.log") ||
    { cat "$VAR/run/slots.log" >&2; exit 1; }
  say "$slots"
fi

gateway=http://127.0.0.1:$MAI_GATEWAY_PORT
cat <<MSG

  portal         $gateway/    (the citizens' pages, through the gateway)
  staff console  $gateway/staff/  (a first admin: .venv/bin/identity-svc create-admin)
  gateway        $gateway     (API docs: $gateway/docs; :$MAI_GATEWAY_INTERNAL_PORT for the portal's API calls)
MSG
while read -r service _ web_port metrics_port; do
  if [[ $metrics_port == - ]]; then
    printf '  %-14s http://127.0.0.1:%s\n' "$service" "$web_port"
  else
    printf '  %-14s http://127.0.0.1:%-9s worker metrics :%s\n' "$service" "$web_port" "$metrics_port"
  fi
done <<<"$MAI_SERVICE_TABLE"
cat <<MSG
  eID provider   http://127.0.0.1:9400     (test OpenID Connect provider: "bank-card")
  Kafka          $KAFKA_BOOTSTRAP_SERVERS
  PostgreSQL     $DATABASE_URL
  SMTP sink      127.0.0.1:2525, every mail kept in $VAR/mail (Maildir)

  Ctrl-C stops everything.

MSG

# 6. Every process under one process manager.
"$BIN/honcho" start -f "$HERE/Procfile" -d "$ROOT"
