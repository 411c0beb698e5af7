"""Default FAQs every new booking business is seeded with; owners then edit the answers.

Each entry: question, answer, keywords (list), alternative_questions (list), category.
Answers are deliberately generic and point to the business page where details differ.
"""

from __future__ import annotations

DEFAULT_FAQS: list[dict] = [
    {
        "category": "booking",
        "question": "How do I book an appointment?",
        "answer": "You can book online any time from our page: pick a service, choose a free "
                  "slot and confirm. You will get a confirmation message straight away.",
        "keywords": ["book", "booking", "appointment", "online booking"],
        "alternative_questions": ["Can I book online?", "How can I make a booking?"],
    },
    {
        "category": "booking",
        "question": "How do I cancel my appointment?",
        "answer": "You can cancel from the link in your confirmation message, or reply here "
                  "and we will cancel it for you.",
        "keywords": ["cancel", "cancellation"],
        "alternative_questions": ["Can I cancel my booking?", "I need to cancel"],
    },
    {
        "category": "booking",
        "question": "Can I reschedule my appointment?",
        "answer": "Yes. Use the link in your confirmation message to pick a new time, or tell "
                  "us here which day suits you and we will move it.",
        "keywords": ["reschedule", "change appointment", "move appointment"],
        "alternative_questions": ["How do I change the time of my booking?",
                                  "Can I move my appointment to another day?"],
    },
    {
        "category": "policies",
        "question": "What is your cancellation policy?",
        "answer": "Please give us at least 24 hours' notice if you need to cancel or move an "
                  "appointment. Late cancellations and no-shows may be charged.",
        "keywords": ["cancellation policy", "cancellation fee", "no show", "late cancellation"],
        "alternative_questions": ["Is there a fee if I cancel late?",
                                  "Do you charge for missed appointments?"],
    },
    {
        "category": "hours",
        "question": "What are your opening hours?",
        "answer": "Our opening hours are shown on our page, including any changes for "
                  "holidays. You can book any free slot within them online.",
        "keywords": ["opening hours", "open", "opening times"],
        "alternative_questions": ["When are you open?", "Are you open at weekends?"],
    },
    {
        "category": "pricing",
        "question": "How much do your services cost?",
        "answer": "Prices for every service are listed on our page next to each service, "
                  "so you can see the cost before you book.",
        "keywords": ["price", "cost", "price list"],
        "alternative_questions": ["What are your prices?", "Do you have a price list?"],
    },
    {
        "category": "payments",
        "question": "What payment methods do you accept?",
        "answer": "We accept card and contactless payments (including Apple Pay and Google "
                  "Pay). Please ask us if you would like to pay another way.",
        "keywords": ["payment", "card", "cash", "contactless"],
        "alternative_questions": ["Can I pay by card?", "Do you take cash?"],
    },
    {
        "category": "policies",
        "question": "What happens if I'm running late?",
        "answer": "Please let us know as soon as you can by replying here. We will do our best "
                  "to fit you in, but we may need to shorten or move your appointment.",
        "keywords": ["late", "running late"],
        "alternative_questions": ["I'm going to be late, what should I do?"],
    },
    {
        "category": "location",
        "question": "Where are you located?",
        "answer": "Our address and a map are on our page. Reply here if you need directions.",
        "keywords": ["address", "location", "directions"],
        "alternative_questions": ["What is your address?", "How do I find you?"],
    },
    {
        "category": "location",
        "question": "Is there parking nearby?",
        "answer": "Parking details for our location are on our page. If you are unsure, ask "
                  "us here and we will point you to the nearest spaces.",
        "keywords": ["parking", "car park"],
        "alternative_questions": ["Where can I park?"],
    },
    {
        "category": "gifts",
        "question": "Do you sell gift vouchers?",
        "answer": "Yes, gift vouchers are available. Ask us here and we will tell you the "
                  "options and how to buy one.",
        "keywords": ["gift voucher", "gift card", "voucher"],
        "alternative_questions": ["Can I buy a gift card?"],
    },
    {
        "category": "contact",
        "question": "How can I speak to a person?",
        "answer": "Just ask here and a member of our team will reply as soon as they can. Our "
                  "phone number and email are also on our page.",
        "keywords": ["contact", "phone", "call", "email"],
        "alternative_questions": ["What is your phone number?", "Can I talk to someone?"],
    },
]
