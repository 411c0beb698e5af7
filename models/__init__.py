"""Tables: columns, constraints and serialisation only."""
from models.activity import AuditLog, Notification, NotificationRead, NotificationRule
from models.base import db
from models.business import AutoResponse, Business, Faq, FaqProposal
from models.chat import Attachment, Message, Participant, Room
from models.user import RevokedToken, User

__all__ = [
    "Attachment",
    "AuditLog",
    "AutoResponse",
    "Business",
    "Faq",
    "FaqProposal",
    "Message",
    "Notification",
    "NotificationRead",
    "NotificationRule",
    "Participant",
    "RevokedToken",
    "Room",
    "User",
    "db",
]
