"""FAQs every new booking business starts with; the business edits them afterwards."""

DEFAULT_FAQS: list[dict] = [
    {
        "question": "How do I book an appointment?",
        "answer": "You can book online any time from our booking page: pick a service, a time "
        "and, if you like, a team member. You'll get a confirmation by email.",
        "keywords": ["book", "booking", "appointment", "schedule", "reserve"],
        "alternative_questions": [
            "Can I make a booking?",
            "How can I schedule a visit?",
            "I want to book a slot",
        ],
        "category": "Bookings",
    },
    {
        "question": "How do I cancel my booking?",
        "answer": "You can cancel from the link in your confirmation email or from your "
        "account. Please cancel at least 24 hours ahead so we can offer the slot to someone else.",
        "keywords": ["cancel", "cancellation"],
        "alternative_questions": [
            "Can I cancel my appointment?",
            "I need to cancel",
            "What is your cancellation policy?",
        ],
        "category": "Bookings",
    },
    {
        "question": "How do I reschedule or change my appointment?",
        "answer": "Use the link in your confirmation email to pick a new time, or reply here "
        "and we'll move it for you.",
        "keywords": ["reschedule", "change", "move", "rebook"],
        "alternative_questions": [
            "Can I move my booking to another day?",
            "I need a different time for my appointment",
        ],
        "category": "Bookings",
    },
    {
        "question": "What are your opening hours?",
        "answer": "Our opening hours are on our booking page; outside them you can still "
        "leave us a message here and we'll reply when we open.",
        "keywords": ["hours", "open", "opening", "close", "closing"],
        "alternative_questions": [
            "When are you open?",
            "What time do you close?",
            "Are you open on weekends?",
        ],
        "category": "General",
    },
    {
        "question": "How much do your services cost?",
        "answer": "Prices for every service are listed on our booking page next to each "
        "service; the price you see when booking is the price you pay.",
        "keywords": ["price", "prices", "cost", "fee", "rates"],
        "alternative_questions": [
            "What are your prices?",
            "How much does it cost?",
            "Do you have a price list?",
        ],
        "category": "Payments",
    },
    {
        "question": "Which payment methods do you accept?",
        "answer": "We accept all major debit and credit cards, Apple Pay and Google Pay. "
        "You can pay online when booking or in person.",
        "keywords": ["pay", "payment", "card", "cash"],
        "alternative_questions": [
            "Can I pay by card?",
            "Do you take cash?",
            "How do I pay?",
        ],
        "category": "Payments",
    },
    {
        "question": "What happens if I'm running late?",
        "answer": "Let us know here as soon as you can. We'll do our best to fit you in; if "
        "you're more than 15 minutes late we may need to shorten or move your appointment.",
        "keywords": ["late", "delay", "delayed"],
        "alternative_questions": [
            "I'm going to be late",
            "What if I arrive late?",
        ],
        "category": "Bookings",
    },
    {
        "question": "Where are you and is there parking?",
        "answer": "Our address and a map are on our booking page. There is street parking "
        "nearby and a public car park a few minutes' walk away.",
        "keywords": ["address", "location", "parking", "directions", "where"],
        "alternative_questions": [
            "Where are you located?",
            "Can I park nearby?",
            "How do I find you?",
        ],
        "category": "General",
    },
    {
        "question": "Do you sell gift vouchers?",
        "answer": "Yes! Gift vouchers are available on our booking page in any amount and "
        "are valid for 12 months.",
        "keywords": ["gift", "voucher", "vouchers", "present"],
        "alternative_questions": [
            "Can I buy a gift card?",
            "Do you have gift certificates?",
        ],
        "category": "Payments",
    },
    {
        "question": "Can I talk to a person?",
        "answer": "Of course. Write your question here and a member of our team will reply "
        "as soon as they can.",
        "keywords": ["human", "person", "staff", "someone"],
        "alternative_questions": [
            "I want to speak to someone",
            "Can I talk to a real person?",
        ],
        "category": "General",
    },
]
