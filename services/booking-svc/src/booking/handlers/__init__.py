"""Use cases of booking-svc: ``handler(uow, deps, command)``, one module per area.

- :mod:`.applications` — the applicant's draft, documents and submission (and the contact from identity.verified)
- :mod:`.review` — officers review the documents
- :mod:`.slots` — free counter slots
- :mod:`.appointments` — booking, cancelling and rescheduling, the e-mailed link, an office's day
- :mod:`.visits` — the visit at the counter and the document's pickup
- :mod:`.schedules` — office managers: opening hours, counters per slot type, closures
- :mod:`.allowances` — per-citizen limits of searches and booking attempts

A handler commits exactly once; a query takes ``(uow, deps, query)`` and commits nothing.
"""

from .accounts import ACCOUNT_DELETED, CitizensData, export_citizen_data, forget_account
from .allowances import TakeAllowance, take_allowance
from .applications import (
    IDENTITY_VERIFIED,
    CreateDraft,
    DocumentContent,
    FetchDocument,
    ListApplications,
    ShowApplication,
    ShowTimeline,
    SubmitApplication,
    Timeline,
    UploadDocument,
    create_draft,
    fetch_document,
    list_applications,
    record_verified_identity,
    show_application,
    show_timeline,
    submit_application,
    upload_document,
)
from .appointments import (
    BookAppointment,
    CancelAppointment,
    DaySchedule,
    LinkedAppointment,
    OpenLink,
    RescheduleAppointment,
    ShowAppointment,
    book_appointment,
    cancel_appointment,
    day_schedule,
    open_link,
    reschedule_appointment,
    show_appointment,
)
from .queries import ApplicationDetails, DocumentEntry
from .review import ReviewApplication, ReviewQueue, review_application, review_queue
from .schedules import (
    CloseOffice,
    ClosureOutcome,
    ListClosures,
    MovedAppointment,
    OfficeView,
    SetCapacity,
    SetOpeningHours,
    ShowOffices,
    ShowSchedule,
    close_office,
    list_closures,
    set_capacity,
    set_opening_hours,
    show_offices,
    show_schedule,
)
from .slots import ProposeSlots, SearchSlots, propose_slots, search_slots
from .visits import RecordPickup, RecordVisit, record_pickup, record_visit

__all__ = [
    "ACCOUNT_DELETED",
    "IDENTITY_VERIFIED",
    "ApplicationDetails",
    "BookAppointment",
    "CancelAppointment",
    "CitizensData",
    "CloseOffice",
    "ClosureOutcome",
    "CreateDraft",
    "DaySchedule",
    "DocumentContent",
    "DocumentEntry",
    "FetchDocument",
    "LinkedAppointment",
    "ListApplications",
    "ListClosures",
    "MovedAppointment",
    "OfficeView",
    "OpenLink",
    "ProposeSlots",
    "RecordPickup",
    "RecordVisit",
    "RescheduleAppointment",
    "ReviewApplication",
    "ReviewQueue",
    "SearchSlots",
    "SetCapacity",
    "SetOpeningHours",
    "ShowApplication",
    "ShowAppointment",
    "ShowOffices",
    "ShowSchedule",
    "ShowTimeline",
    "SubmitApplication",
    "TakeAllowance",
    "Timeline",
    "UploadDocument",
    "book_appointment",
    "cancel_appointment",
    "close_office",
    "create_draft",
    "day_schedule",
    "export_citizen_data",
    "fetch_document",
    "forget_account",
    "list_applications",
    "list_closures",
    "open_link",
    "propose_slots",
    "record_pickup",
    "record_verified_identity",
    "record_visit",
    "reschedule_appointment",
    "review_application",
    "review_queue",
    "search_slots",
    "set_capacity",
    "set_opening_hours",
    "show_application",
    "show_appointment",
    "show_offices",
    "show_schedule",
    "show_timeline",
    "submit_application",
    "take_allowance",
    "upload_document",
]
