"""Default content every new business starts with; all of it editable afterwards."""
from __future__ import annotations

from models import AutoResponse, Business, Faq, db

DEFAULT_AUTO_RESPONSES = {
    "welcome": "Hi! Thanks for getting in touch with {business_name}. "
    "Ask us anything: we answer common questions right away, and a member of our team "
    "will pick up the rest.",
    "offline": "Thanks for your message! We're closed at the moment and will be back "
    "{next_open_at}. We'll reply as soon as we're open.",
    "escalation": "Good question: I've passed it on to our team, and someone will reply "
    "here shortly.",
}


def seed_business_content(business: Business) -> None:
    from logic.faq_defaults import DEFAULT_FAQS

    for trigger, text in DEFAULT_AUTO_RESPONSES.items():
        db.session.add(
            AutoResponse(business_id=business.id, trigger=trigger,
                         message=text.replace("{business_name}", business.name))
        )
    for faq in DEFAULT_FAQS:
        db.session.add(
            Faq(
                business_id=business.id,
                question=faq["question"],
                answer=faq["answer"],
                keywords=list(faq.get("keywords", [])),
                alternative_questions=list(faq.get("alternative_questions", [])),
                category=faq.get("category"),
            )
        )
