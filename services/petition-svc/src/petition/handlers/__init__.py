"""petition-svc's use cases: ``handler(uow, deps, command)``, one transaction each, events through the outbox.

Commands change a petition and commit once; queries only read. Modules by area: ``submission``
(the public form), ``intake`` (petitions received on paper, their receipts), ``clerk_actions``,
``reminders``, ``queries``; ``access`` finds a petition and says who among the staff may see it.
"""

from __future__ import annotations

from .access import CLERK, PHONE_OPERATOR, find_by_number
from .clerk_actions import (
    AnswerPetition,
    AssignPetition,
    ClosePetition,
    ExtendDeadline,
    ForwardPetition,
    JoinPetitions,
    answer_petition,
    assign_petition,
    close_petition,
    extend_deadline,
    forward_petition,
    join_petitions,
)
from .intake import (
    PetitionReceipt,
    PrintedReceipt,
    RegisterReceivedPetition,
    print_receipt,
    register_received_petition,
)
from .queries import (
    AttachmentFile,
    CitizensPetitions,
    ClerksAttachment,
    ClerksPetition,
    ClerksQueue,
    PetitionStatus,
    QueuePage,
    StaffStatusLookup,
    StatusLookup,
    count_overdue,
    list_citizens_petitions,
    look_up_status,
    read_attachment,
    read_petition,
    read_queue,
    read_status_for_staff,
)
from .reminders import RemindDeadlines, remind_deadlines
from .submission import Sender, SubmitPetition, UploadedAttachment, submit_petition

__all__ = [
    "CLERK",
    "PHONE_OPERATOR",
    "AnswerPetition",
    "AssignPetition",
    "AttachmentFile",
    "CitizensPetitions",
    "ClerksAttachment",
    "ClerksPetition",
    "ClerksQueue",
    "ClosePetition",
    "ExtendDeadline",
    "ForwardPetition",
    "JoinPetitions",
    "PetitionReceipt",
    "PetitionStatus",
    "PrintedReceipt",
    "QueuePage",
    "RegisterReceivedPetition",
    "RemindDeadlines",
    "Sender",
    "StaffStatusLookup",
    "StatusLookup",
    "SubmitPetition",
    "UploadedAttachment",
    "answer_petition",
    "assign_petition",
    "close_petition",
    "count_overdue",
    "extend_deadline",
    "find_by_number",
    "forward_petition",
    "join_petitions",
    "list_citizens_petitions",
    "look_up_status",
    "print_receipt",
    "read_attachment",
    "read_petition",
    "read_queue",
    "read_status_for_staff",
    "register_received_petition",
    "remind_deadlines",
    "submit_petition",
]
