"""Every production database is backed up: WAL archived to the object store, a nightly base backup,
a retention window; the alerts watch both. The restore is RUNBOOK.md's, rehearsed locally by
tests/ops/test_backup_restore.py."""

from __future__ import annotations

from manifests import K8S_DIR, of_kind


def test_every_prod_database_archives_its_wal_and_is_backed_up_nightly(rendered) -> None:
    objects = rendered["prod"]
    clusters = {c["metadata"]["name"]: c for c in of_kind(objects, "Cluster")}
    assert len(clusters) >= 6
    scheduled = {s["spec"]["cluster"]["name"]: s for s in of_kind(objects, "ScheduledBackup")}
    for name, cluster in clusters.items():
        backup = cluster["spec"]["backup"]
        store = backup["barmanObjectStore"]
        assert store["destinationPath"].startswith("s3://") and "serverName" not in store, name  # one path per cluster
        assert store["wal"]["compression"] and store["data"]["compression"]
        assert backup["retentionPolicy"] == "30d"
        assert cluster["spec"]["postgresql"]["parameters"]["archive_timeout"] == "5min"
        nightly = scheduled[name]
        assert nightly["spec"]["method"] == "barmanObjectStore"
        _seconds, _minutes, hours, *rest = nightly["spec"]["schedule"].split()
        assert rest == ["*", "*", "*"] and hours.isdigit(), "once a day"


def test_dev_keeps_no_backups(rendered) -> None:
    assert not of_kind(rendered["dev"], "ScheduledBackup")
    assert all("backup" not in c["spec"] for c in of_kind(rendered["dev"], "Cluster"))


def test_the_backups_are_watched_and_the_restore_is_written_down(rendered) -> None:
    alerts = {
        rule["alert"]
        for prometheus_rule in of_kind(rendered["prod"], "PrometheusRule")
        for group in prometheus_rule["spec"]["groups"]
        for rule in group["rules"]
    }
    assert {"PostgresWalArchivingFailing", "PostgresBackupTooOld"} <= alerts
    monitors = [
        m
        for m in of_kind(rendered["prod"], "PodMonitor")
        if m["spec"]["selector"]["matchLabels"] == {"cnpg.io/podRole": "instance"}
    ]
    assert monitors, "nothing scrapes the PostgreSQL instances"
    runbook = (K8S_DIR / "RUNBOOK.md").read_text()
    assert "## Restore a database" in runbook and "recoveryTarget" in runbook
    assert "## Restore the file stores" in runbook
