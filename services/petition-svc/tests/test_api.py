"""The petition API on SQLite: submit, refusals, status lookup, the clerks' workflow, the directory."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import mai_contracts
from flask.testing import FlaskClient
from mai_chassis.testing import TokenIssuer

from .conftest import PDF, PNG, petition_body

SUBMIT = "/api/v1/petitions"


def submit(client: FlaskClient, **changes: object) -> dict:
    response = client.post(SUBMIT, json=petition_body(**changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def data_of(payload: str) -> dict:
    return json.loads(payload)["data"]


# --- submit -------------------------------------------------------------------------------------


def test_submitted_petition_is_registered_with_number_and_deadline_and_announced(client, outbox) -> None:
    body = submit(client)
    assert body["registration_number"].startswith("IGPR-")
    assert body["registration_number"].endswith("-000001")
    assert body["status"] == "registered"
    assert body["answer_due_on"]
    [(event_type, payload)] = outbox()
    assert event_type == "ro.mai.petition.submitted.v1"
    data = data_of(payload)
    mai_contracts.validate(event_type, data)
    assert data["registration_number"] == body["registration_number"]
    assert data["recipient"] == {"email": "ana.popescu@example.ro", "name": "Ana Popescu", "language": "ro"}
    assert data["channel"] == "web" and data["attachment_count"] == 0


def test_numbers_follow_each_other_per_institution(client) -> None:
    numbers = [submit(client, subject=f"Problema {i}")["registration_number"] for i in range(3)]
    other = submit(client, institution="IGSU", field="emergencies")["registration_number"]
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
    assert other.startswith("IGSU-") and other.endswith("-000001")


def test_multipart_petition_with_attachments_is_stored_by_content_hash(client, app, outbox) -> None:
    response = client.post(
        SUBMIT,
        data={
            "petition": json.dumps(petition_body()),
            "attachments": [(io.BytesIO(PDF), "../../etc/passwd.pdf"), (io.BytesIO(PNG), "poza.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["attachment_count"] == 2
    store = app.extensions["petition"].store
    stored = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    import hashlib

    assert stored == sorted([hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()])
    assert data_of(outbox()[0][1])["attachment_count"] == 2


def test_missing_and_malformed_fields_are_named(client, counts) -> None:
    response = client.post(SUBMIT, json=petition_body(email="not-an-email", name=None, kind="complaint"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"email", "name", "kind"}
    assert counts() == (0, 0)


def test_unknown_institution_is_refused_naming_the_field(client, counts) -> None:
    response = client.post(SUBMIT, json=petition_body(institution="FBI"))
    assert response.status_code == 422
    assert "institution" in response.get_json()["errors"]
    assert counts() == (0, 0)


def test_too_long_text_and_unknown_fields_are_refused(client, counts) -> None:
    response = client.post(SUBMIT, json={**petition_body(text="x" * 10_001), "cnp": "1800101221144"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"text", "cnp"}
    assert counts() == (0, 0)


def test_anonymous_petitions_are_not_accepted(client) -> None:
    response = client.post(SUBMIT, json=petition_body(name=None, email=None))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"name", "email"}


def test_non_json_body_is_refused_with_415(client, counts) -> None:
    response = client.post(SUBMIT, data="kind=petition", content_type="text/plain")
    assert response.status_code == 415
    assert counts() == (0, 0)


def test_attachment_over_five_megabytes_is_refused_with_413(client, app, counts) -> None:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    big = PDF + b"0" * (5 * 1024 * 1024)
    # Encoded in memory: the test client would otherwise leave its own temporary file open.
    boundary, body = encode_multipart(
        {"petition": json.dumps(petition_body()), "attachments": FileStorage(io.BytesIO(big), "scan.pdf")}
    )
    response = client.post(SUBMIT, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert counts() == (0, 0)
    assert not app.extensions["petition"].store.root.exists()


def test_attachment_that_is_not_pdf_jpeg_or_png_is_refused_with_415(client, counts) -> None:
    response = client.post(
        SUBMIT,
        data={"petition": json.dumps(petition_body()), "attachments": [(io.BytesIO(b"MZ\x90\x00"), "scan.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 415
    assert "attachments" in response.get_json()["errors"]
    assert counts() == (0, 0)


def test_more_than_five_attachments_are_refused(client, counts) -> None:
    files = [(io.BytesIO(PDF), f"{i}.pdf") for i in range(6)]
    response = client.post(
        SUBMIT,
        data={"petition": json.dumps(petition_body()), "attachments": files},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "attachments" in response.get_json()["errors"]
    assert counts() == (0, 0)


def test_idempotent_retry_returns_the_first_registration(client, counts) -> None:
    headers = {"Idempotency-Key": "c5b1e0f2-retry"}
    first = client.post(SUBMIT, json=petition_body(), headers=headers)
    again = client.post(SUBMIT, json=petition_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["registration_number"] == first.get_json()["registration_number"]
    assert counts() == (1, 1)


def test_signed_in_citizen_is_referred_to_by_account_id(client, outbox, token_issuer: TokenIssuer) -> None:
    citizen = "4b0c1a5e-3f1d-4d7e-9a7a-0f6b9c3d2e11"
    response = client.post(
        SUBMIT, json=petition_body(), headers={"Authorization": f"Bearer {token_issuer.citizen(citizen)}"}
    )
    assert response.status_code == 201
    assert data_of(outbox()[0][1])["citizen_id"] == citizen


def test_a_signed_in_citizen_lists_their_own_petitions_and_only_theirs(client, token_issuer: TokenIssuer) -> None:
    mine = {"Authorization": f"Bearer {token_issuer.citizen('4b0c1a5e-3f1d-4d7e-9a7a-0f6b9c3d2e11')}"}
    someone_else = {"Authorization": f"Bearer {token_issuer.citizen('9d2f4c1b-0000-4000-8000-000000000001')}"}
    first = client.post(SUBMIT, json=petition_body(), headers=mine).get_json()["registration_number"]
    second = client.post(SUBMIT, json=petition_body(subject="Alt semafor"), headers=mine).get_json()
    client.post(SUBMIT, json=petition_body(subject="Al altcuiva"), headers=someone_else)
    submit(client)  # sent without signing in: nobody's own

    listed = client.get(f"{SUBMIT}/mine", headers=mine)

    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [item["registration_number"] for item in items] == [second["registration_number"], first]
    assert items[0]["status"] == "registered" and "petitioner" not in items[0]


def test_own_petitions_need_a_citizens_token(client, token_issuer: TokenIssuer) -> None:
    assert client.get(f"{SUBMIT}/mine").status_code == 401
    clerk = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGPR')}"}
    assert client.get(f"{SUBMIT}/mine", headers=clerk).status_code == 403


# --- status -------------------------------------------------------------------------------------


def test_petitioner_sees_status_with_number_and_email(client) -> None:
    number = submit(client)["registration_number"]
    response = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": number.lower(), "email": "Ana.Popescu@example.ro"}
    )
    assert response.status_code == 200
    status = response.get_json()
    assert status["status"] == "registered" and status["institution"]["code"] == "IGPR"
    assert "petitioner" not in status and "text" not in status


def test_wrong_email_reveals_nothing_beyond_an_unknown_number(client) -> None:
    number = submit(client)["registration_number"]
    wrong = client.post(f"{SUBMIT}/status-lookup", json={"registration_number": number, "email": "ion@example.ro"})
    unknown = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": "IGPR-2020-999999", "email": "ana.popescu@example.ro"}
    )
    assert wrong.status_code == unknown.status_code == 404
    strip = lambda body: {k: v for k, v in body.items() if k not in ("request_id",)}  # noqa: E731
    assert strip(wrong.get_json()) == strip(unknown.get_json())


def test_phone_operator_reads_status_by_number_alone(client, token_issuer: TokenIssuer) -> None:
    number = submit(client)["registration_number"]
    operator = {"Authorization": f"Bearer {token_issuer.staff('phone_operator', '*')}"}  # the national line
    response = client.get(f"{SUBMIT}/{number}/status", headers=operator)
    assert response.status_code == 200
    assert response.get_json()["registration_number"] == number
    assert client.get(f"{SUBMIT}/{number}/status").status_code == 401
    citizen = {"Authorization": f"Bearer {token_issuer.citizen()}"}
    assert client.get(f"{SUBMIT}/{number}/status", headers=citizen).status_code == 403


def test_staff_of_another_institution_and_admins_read_and_act_on_no_petition(client, token_issuer: TokenIssuer) -> None:
    number = submit(client)["registration_number"]  # an IGPR petition
    staff = {
        "IGSU phone operator": token_issuer.staff("phone_operator", "IGSU"),
        "IGSU clerk": token_issuer.staff("petition_clerk", "IGSU"),
        "IGSU admin": token_issuer.staff("admin", "IGSU"),
        "IGPR admin": token_issuer.staff("admin", "IGPR"),
        "admin of every unit": token_issuer.staff("admin", "*"),
    }
    for who, token in staff.items():
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(f"{SUBMIT}/{number}/status", headers=headers).status_code == 403, who
        assert client.get(f"{SUBMIT}/{number}", headers=headers).status_code == 403, who
        answered = client.post(f"{SUBMIT}/{number}/answer", json={"text": "Rezolvat."}, headers=headers)
        assert answered.status_code == 403, who
    own_line = {"Authorization": f"Bearer {token_issuer.staff('phone_operator', 'IGPR')}"}
    assert client.get(f"{SUBMIT}/{number}/status", headers=own_line).status_code == 200


def test_a_clerk_cannot_probe_another_institutions_petition_as_the_original_of_a_repeat(client, clerk) -> None:
    elsewhere = submit(client)["registration_number"]  # at IGPR
    client.post(f"{SUBMIT}/{elsewhere}/answer", json={"text": "Rezolvat."}, headers=clerk("IGPR"))
    mine = submit(client, institution="IGSU", field="emergencies")["registration_number"]
    probe = client.post(
        f"{SUBMIT}/{mine}/closure", json={"outcome": "repeat", "repeat_of": elsewhere}, headers=clerk("IGSU")
    )
    assert probe.status_code == 403


# --- clerks -------------------------------------------------------------------------------------


def test_clerk_queue_is_scoped_to_the_clerks_institution(client, clerk: Callable) -> None:
    submit(client)
    submit(client, institution="IGSU", field="emergencies")
    page = client.get(SUBMIT, headers=clerk("IGPR")).get_json()
    assert page["total"] == 1 and page["items"][0]["institution"]["code"] == "IGPR"
    assert client.get(f"{SUBMIT}?institution=IGSU", headers=clerk("IGPR")).status_code == 403


def test_queue_filters_and_pages(client, clerk: Callable) -> None:
    for i in range(5):
        submit(client, subject=f"Subiect {i}", kind="opinion" if i % 2 else "petition")
    page = client.get(f"{SUBMIT}?kind=opinion&page_size=1&page=2", headers=clerk()).get_json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["kind"] == "opinion"
    assert client.get(f"{SUBMIT}?colour=red", headers=clerk()).status_code == 422


def test_assigned_petition_is_in_progress_for_that_clerk(client, clerk: Callable) -> None:
    number = submit(client)["registration_number"]
    detail = client.post(f"{SUBMIT}/{number}/assignment", json={}, headers=clerk()).get_json()
    assert detail["status"] == "in_progress" and detail["assignee"] == "clerk-IGPR"
    mine = client.get(f"{SUBMIT}?assignee=clerk-IGPR", headers=clerk()).get_json()
    assert mine["total"] == 1


def test_forwarded_petition_moves_to_the_competent_institution_and_petitioner_is_told(client, clerk, outbox) -> None:
    number = submit(client, institution="MAI", field="public-order")["registration_number"]
    response = client.post(f"{SUBMIT}/{number}/forwarding", json={"to_institution": "IGPR"}, headers=clerk("MAI"))
    assert response.status_code == 200
    assert response.get_json()["institution"]["code"] == "IGPR"
    assert response.get_json()["forwarded_from"]["code"] == "MAI"
    event_type, payload = outbox()[-1]
    assert event_type == "ro.mai.petition.forwarded.v1"
    data = data_of(payload)
    assert (data["from_institution"], data["to_institution"], data["forwarded_within_deadline"]) == (
        "MAI",
        "IGPR",
        True,
    )
    assert data["recipient"]["email"] == "ana.popescu@example.ro"
    # The old institution's clerk no longer handles it; the new one does.
    assert client.get(f"{SUBMIT}/{number}", headers=clerk("MAI")).status_code == 403
    assert client.get(f"{SUBMIT}/{number}", headers=clerk("IGPR")).status_code == 200


def test_answer_is_sent_and_the_file_closed(client, clerk, outbox) -> None:
    number = submit(client)["registration_number"]
    response = client.post(f"{SUBMIT}/{number}/answer", json={"text": "Semaforul a fost reparat."}, headers=clerk())
    assert response.get_json()["status"] == "answered"
    types = [event_type for event_type, _ in outbox()]
    assert types[-2:] == ["ro.mai.petition.answered.v1", "ro.mai.petition.closed.v1"]
    answered = data_of(outbox()[-2][1])
    assert answered["answer"] == "Semaforul a fost reparat." and answered["within_deadline"] is True
    again = client.post(f"{SUBMIT}/{number}/answer", json={"text": "Din nou."}, headers=clerk())
    assert again.status_code == 409
    status = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": number, "email": "ana.popescu@example.ro"}
    ).get_json()
    assert status["answer"] == "Semaforul a fost reparat."


def test_one_answer_covers_joined_petitions(client, clerk, outbox) -> None:
    main = submit(client, subject="Zgomot")["registration_number"]
    second = submit(client, subject="Zgomot din nou")["registration_number"]
    other_person = submit(client, subject="Zgomot", email="ion@example.ro")["registration_number"]
    refused = client.post(
        f"{SUBMIT}/{main}/joined-petitions", json={"registration_numbers": [other_person]}, headers=clerk()
    )
    assert refused.status_code == 422
    joined = client.post(f"{SUBMIT}/{main}/joined-petitions", json={"registration_numbers": [second]}, headers=clerk())
    assert joined.status_code == 200
    client.post(f"{SUBMIT}/{main}/answer", json={"text": "Am luat măsuri."}, headers=clerk())
    answered = next(data_of(p) for t, p in outbox() if t == "ro.mai.petition.answered.v1")
    assert answered["joined_registration_numbers"] == [second]
    status = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": second, "email": "ana.popescu@example.ro"}
    ).get_json()
    assert (status["outcome"], status["joined_to"], status["answer"]) == ("joined", main, "Am luat măsuri.")


def test_same_content_after_an_answer_is_filed_as_a_repeat_of_the_first(client, clerk, outbox) -> None:
    first = submit(client)["registration_number"]
    client.post(f"{SUBMIT}/{first}/answer", json={"text": "Rezolvat."}, headers=clerk())
    repeat = submit(client, text=petition_body()["text"].upper())
    assert repeat["status"] == "closed" and repeat["repeat_of"] == first
    closed = [data_of(p) for t, p in outbox() if t == "ro.mai.petition.closed.v1"]
    assert closed[-1]["outcome"] == "repeat"
    submitted = [data_of(p) for t, p in outbox() if t == "ro.mai.petition.submitted.v1"]
    assert submitted[-1]["repeat_of_registration_number"] == first


def test_clerk_closes_a_repeat_only_with_reference_to_an_answered_petition(client, clerk) -> None:
    first = submit(client)["registration_number"]
    second = submit(client, subject="Altă formulare")["registration_number"]
    premature = client.post(
        f"{SUBMIT}/{second}/closure", json={"outcome": "repeat", "repeat_of": first}, headers=clerk()
    )
    assert premature.status_code == 422
    client.post(f"{SUBMIT}/{first}/answer", json={"text": "Rezolvat."}, headers=clerk())
    closed = client.post(f"{SUBMIT}/{second}/closure", json={"outcome": "repeat", "repeat_of": first}, headers=clerk())
    assert closed.status_code == 200 and closed.get_json()["repeat_of"] == first


def test_deadline_extended_once_with_reason(client, clerk) -> None:
    registered = submit(client)
    number = registered["registration_number"]
    first = client.post(
        f"{SUBMIT}/{number}/deadline-extension", json={"days": 15, "reason": "Verificări pe teren"}, headers=clerk()
    )
    assert first.status_code == 200
    assert first.get_json()["answer_due_on"] > registered["answer_due_on"]
    assert first.get_json()["deadline_extended"] is True
    second = client.post(
        f"{SUBMIT}/{number}/deadline-extension", json={"days": 1, "reason": "Încă o dată"}, headers=clerk()
    )
    assert second.status_code == 409
    too_long = client.post(
        f"{SUBMIT}/{submit(client, subject='Alt')['registration_number']}/deadline-extension",
        json={"days": 16, "reason": "Prea mult"},
        headers=clerk(),
    )
    assert too_long.status_code == 422 and "days" in too_long.get_json()["errors"]


def test_a_forward_after_the_five_days_is_flagged_and_kept_in_the_overdue_queue(client, app, clerk, outbox) -> None:
    from datetime import date

    from petition.tables import Petition
    from sqlalchemy import update

    late = submit(client, institution="MAI", field="public-order")["registration_number"]
    in_time = submit(client, institution="MAI", field="public-order", subject="La timp")["registration_number"]
    with app.extensions["mai_database"].session() as session:
        session.execute(
            update(Petition).where(Petition.registration_number == late).values(forward_due_on=date(2020, 1, 6))
        )
        session.commit()
    for number in (late, in_time):
        forwarded = client.post(f"{SUBMIT}/{number}/forwarding", json={"to_institution": "IGPR"}, headers=clerk("MAI"))
        assert forwarded.status_code == 200
    flags = {number: client.get(f"{SUBMIT}/{number}", headers=clerk()).get_json() for number in (late, in_time)}
    assert (flags[late]["forwarded_late"], flags[late]["overdue"]) == (True, True)
    assert (flags[in_time]["forwarded_late"], flags[in_time]["overdue"]) == (False, False)
    overdue = client.get(f"{SUBMIT}/overdue", headers=clerk()).get_json()
    assert [item["registration_number"] for item in overdue["items"]] == [late]
    within = [data_of(p)["forwarded_within_deadline"] for t, p in outbox() if t == "ro.mai.petition.forwarded.v1"]
    assert within == [False, True]
    # Answered, it leaves the overdue queue; the flag stays on the file.
    client.post(f"{SUBMIT}/{late}/answer", json={"text": "Rezolvat."}, headers=clerk())
    assert client.get(f"{SUBMIT}/overdue", headers=clerk()).get_json()["total"] == 0
    assert client.get(f"{SUBMIT}/{late}", headers=clerk()).get_json()["forwarded_late"] is True


def test_extending_the_deadline_tells_the_petitioner_the_new_date_and_the_reason(client, clerk, outbox) -> None:
    import mai_contracts

    registered = submit(client)
    number = registered["registration_number"]
    extended = client.post(
        f"{SUBMIT}/{number}/deadline-extension", json={"days": 10, "reason": "Verificări pe teren"}, headers=clerk()
    ).get_json()
    client.post(f"{SUBMIT}/{number}/deadline-extension", json={"days": 1, "reason": "Încă o dată"}, headers=clerk())
    events = [data_of(p) for t, p in outbox() if t == "ro.mai.petition.deadline_extended.v1"]
    assert len(events) == 1  # the refused second extension published nothing
    [data] = events
    mai_contracts.validate("ro.mai.petition.deadline_extended.v1", data)
    assert data["registration_number"] == number
    assert data["previous_answer_due_on"] == registered["answer_due_on"]
    assert data["answer_due_on"] == extended["answer_due_on"] > registered["answer_due_on"]
    assert (data["extension_days"], data["reason"]) == (10, "Verificări pe teren")
    assert data["recipient"] == {"email": "ana.popescu@example.ro", "name": "Ana Popescu", "language": "ro"}


def test_an_extension_without_a_reason_is_refused_and_changes_nothing(client, clerk, outbox) -> None:
    registered = submit(client)
    number = registered["registration_number"]
    before = len(outbox())
    refused = client.post(f"{SUBMIT}/{number}/deadline-extension", json={"days": 10}, headers=clerk())
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    assert len(outbox()) == before
    detail = client.get(f"{SUBMIT}/{number}", headers=clerk()).get_json()
    assert (detail["answer_due_on"], detail["deadline_extended"]) == (registered["answer_due_on"], False)


def test_overdue_list_and_metric_show_petitions_past_their_deadline(client, app, clerk) -> None:
    from datetime import date

    from petition.tables import Petition
    from sqlalchemy import update

    late = submit(client)["registration_number"]
    submit(client, subject="La timp")
    with app.extensions["mai_database"].session() as session:
        session.execute(
            update(Petition).where(Petition.registration_number == late).values(answer_due_on=date(2020, 1, 1))
        )
        session.commit()
    page = client.get(f"{SUBMIT}/overdue", headers=clerk()).get_json()
    assert [item["registration_number"] for item in page["items"]] == [late]
    assert page["items"][0]["overdue"] is True
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'petitions_overdue{institution="IGPR",service="petition-svc"} 1.0' in metrics


def test_staff_actions_need_a_clerk_token(client, token_issuer: TokenIssuer) -> None:
    number = submit(client)["registration_number"]
    assert client.post(f"{SUBMIT}/{number}/answer", json={"text": "x"}).status_code == 401
    citizen = {"Authorization": f"Bearer {token_issuer.citizen()}"}
    assert client.post(f"{SUBMIT}/{number}/answer", json={"text": "x"}, headers=citizen).status_code == 403


def test_clerk_downloads_an_attachment_under_a_safe_name(client, clerk) -> None:
    response = client.post(
        SUBMIT,
        data={"petition": json.dumps(petition_body()), "attachments": [(io.BytesIO(PDF), 'a"; evil.pdf')]},
        content_type="multipart/form-data",
    )
    number = response.get_json()["registration_number"]
    download = client.get(f"{SUBMIT}/{number}/attachments/1", headers=clerk())
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{number}-1.pdf"'


# --- directory and documentation ----------------------------------------------------------------


def test_directory_lists_institutions_with_competencies_fields_and_contacts(client) -> None:
    items = client.get("/api/v1/institutions").get_json()["items"]
    codes = {item["code"] for item in items}
    assert {"MAI", "IGPR", "IGPF", "IGJR", "IGSU", "IGI", "DGP", "DRPCIV", "DEPABD"} <= codes
    igpr = client.get("/api/v1/institutions/IGPR").get_json()
    assert igpr["competencies"]["ro"] and igpr["contact"]["website"].startswith("https://")
    assert "road-traffic" in {field["code"] for field in igpr["fields"]}
    assert client.get("/api/v1/institutions/NOPE").status_code == 404


def test_institutions_filtered_by_field(client) -> None:
    items = client.get("/api/v1/institutions?field=passports").get_json()["items"]
    assert [item["code"] for item in items] == ["DGP"]


def test_faq_and_recommendations_by_field(client) -> None:
    faq = client.get("/api/v1/faq?field=passports").get_json()["items"]
    assert faq and all(entry["field"] == "passports" for entry in faq)
    recommendations = client.get("/api/v1/recommendations").get_json()["items"]
    assert any(item["field"] == "crime-prevention" for item in recommendations)
    assert client.get("/api/v1/faq?field=astrology").status_code == 422


def test_openapi_documents_every_api_route(client, app) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    served = {
        (rule.rule.replace("<", "{").replace(">", "}").replace("int:", ""), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == documented
    assert "application/problem+json" in document["paths"]["/api/v1/petitions"]["post"]["responses"]["413"]["content"]
