# GENERATED from deploy/services.yaml by `make generated` (mai_devtools.deploy_files): do not edit.
# The services of `make run` (run.sh) and their databases (infra.sh); sourced, not executed.
# shellcheck shell=bash
# shellcheck disable=SC2034

# name database web-port worker-metrics-port (- for none), one service a line
MAI_SERVICE_TABLE='petition-svc petition 8101 9101
identity-svc identity 8102 9102
record-svc record 8103 9103
booking-svc booking 8104 9104
notify-svc notify 8105 9105
portal-svc portal 8106 -'
# The database of each service (DESIGN.md: every service owns its data).
MAI_DATABASES=${MAI_DATABASES:-petition identity record booking notify portal}
MAI_GATEWAY_PORT=8080
