"""The deadline reminders of petition-svc run every morning, alone, and may reach their database."""

from __future__ import annotations

from manifests import OVERLAYS, of_kind, pod_template


def test_the_deadline_reminders_run_every_morning_in_bucharest_and_alone(rendered):
    for overlay in OVERLAYS:
        (cron,) = [
            c for c in of_kind(rendered[overlay], "CronJob") if c["metadata"]["name"].endswith("remind-deadlines")
        ]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        assert cron["spec"]["timeZone"] == "Europe/Bucharest"
        _minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
        assert (day, month, weekday) == ("*", "*", "*") and int(hour) < 9
        assert pod_template(cron)["spec"]["containers"][0]["args"] == ["remind-deadlines"]


def test_the_reminder_pods_may_reach_petition_svc_database_only(rendered):
    for overlay in OVERLAYS:
        policies = of_kind(rendered[overlay], "NetworkPolicy")
        (own,) = [p for p in policies if p["metadata"]["name"].endswith("petition-svc-reminders")]
        assert own["spec"]["policyTypes"] == ["Egress"]
        [rule] = own["spec"]["egress"]
        assert rule["to"] == [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "petition-svc-db"}}}]
        (database,) = [p for p in policies if p["metadata"]["name"].endswith("petition-svc-db-clients")]
        components = database["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][1]["values"]
        assert "reminders" in components
