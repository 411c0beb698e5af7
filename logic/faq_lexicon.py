"""Word lists for the FAQ matcher: stopwords, chat shorthand, typos and booking-domain concepts.

Everything here is generic to booking businesses (salons, clinics, studios); nothing names a
particular business. Concept tokens are UPPER CASE so they can never collide with real words,
which are always lower-cased before they get here.
"""

from __future__ import annotations

import re

# Contractions written without the apostrophe, as customers type on phones.
BARE_CONTRACTIONS: dict[str, str] = {
    "dont": "do not", "cant": "can not", "cannot": "can not", "wont": "will not",
    "im": "i am", "ive": "i have", "id": "i would", "ill": "i will", "isnt": "is not",
    "arent": "are not", "doesnt": "does not", "didnt": "did not", "wasnt": "was not",
    "werent": "were not", "havent": "have not", "hasnt": "has not", "shouldnt": "should not",
    "couldnt": "could not", "wouldnt": "would not", "whats": "what is", "thats": "that is",
    "theres": "there is", "wheres": "where is", "hows": "how is", "youre": "you are",
    "ur": "your", "u": "you", "r": "are", "y": "why",
}

# Apostrophe suffixes; "'s" is a possessive except after these pronouns.
SUFFIX_EXPANSIONS: dict[str, str] = {
    "n't": "not", "'re": "are", "'m": "am", "'ll": "will", "'ve": "have", "'d": "would",
}
IS_PRONOUNS = frozenset("it what that there where who here he she how when".split())
IRREGULAR_NOT = {"won't": "will not", "can't": "can not", "shan't": "shall not"}

# Shorthand, common misspellings and US spellings mapped to the word the FAQs would use.
SURFACE: dict[str, str] = {
    "pls": "please", "plz": "please", "plse": "please", "pleas": "please",
    "thx": "thanks", "thnx": "thanks", "tnx": "thanks", "ty": "thanks",
    "appt": "appointment", "appts": "appointments", "apt": "appointment",
    "apts": "appointments", "appnt": "appointment", "apointment": "appointment",
    "appoinment": "appointment", "appointmnt": "appointment", "appoitment": "appointment",
    "appiontment": "appointment", "apointement": "appointment", "appointmet": "appointment",
    "booking": "appointment", "bookings": "appointments", "bookin": "appointment",
    "reservation": "appointment", "reservations": "appointments",
    "cancle": "cancel", "cancl": "cancel", "canel": "cancel", "cancell": "cancel",
    "cancelation": "cancellation", "cancelations": "cancellations",
    "resched": "reschedule", "reshedule": "reschedule", "rescedule": "reschedule",
    "reschedual": "reschedule", "reschedulle": "reschedule",
    "2moro": "tomorrow", "2morrow": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow",
    "tmrow": "tomorrow", "tomoz": "tomorrow", "tomorow": "tomorrow", "tommorow": "tomorrow",
    "tommorrow": "tomorrow", "2day": "today", "tonite": "tonight",
    "wk": "week", "wks": "weeks", "wknd": "weekend", "wkend": "weekend",
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "weds": "wednesday",
    "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday",
    "sat": "saturday",
    "hr": "hour", "hrs": "hours", "min": "minute", "mins": "minutes",
    "info": "information", "msg": "message", "ph": "phone", "tel": "telephone",
    "num": "number", "abt": "about", "b4": "before", "bc": "because", "cuz": "because",
    "coz": "because", "cos": "because", "wat": "what", "wot": "what", "wht": "what",
    "wen": "when", "hw": "how", "dat": "that", "gud": "good", "tho": "though",
    "color": "colour", "colors": "colours", "coloring": "colouring", "colored": "coloured",
    "favorite": "favourite", "center": "centre", "giftcard": "gift card",
    "giftcards": "gift cards", "voucha": "voucher", "vocher": "voucher",
    "vouchar": "voucher", "voucer": "voucher", "parkin": "parking", "adress": "address",
    "addres": "address", "adres": "address", "locaton": "location", "loction": "location",
    "paymnt": "payment", "payement": "payment", "paymant": "payment",
    "insurence": "insurance", "offers": "deals", "postcode": "postcode",
    "zipcode": "postcode", "zip": "postcode",
}

_BUSINESS_NOUNS = (r"(salon|clinic|studio|shop|office|practice|spa|centre|place|building|surgery"
                   r"|garage|vets|barbers|gym|restaurant|workshop|parlour)")
_BOOKING_NOUNS = r"(appointment|session|slot|time|date|day|week)s?"

# Multi-word expressions, applied to the space-joined, lower-cased, shorthand-expanded text.
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), repl)
    for pattern, repl in [
        # "How long have you been open / a physio" asks about experience, not a duration.
        (r"\bhow long (have|has) (you|it|they|the \w+|your \w+) (been|had|worked)\b",
         "TENURE"),
        (r"\bhow much\b(?! (notice|time|longer|earlier|before|in advance)\b)", "PRICE"),
        (r"\bhow long\b|\bhow many (minutes|hours)\b", "DURATION"),
        (r"\bfollow ?ups?\b", "APPOINTMENT"),
        # Clock times and "after work" qualify a question (when?) rather than make one.
        (r"\b\d{1,2}( ?[:.] ?\d\d)? ?(am|pm)\b|\b\d{1,2}[:.]\d\d\b", "CLOCKTIME"),
        (r"\bafter work\b", "evening"),
        (r"\bhow many\b", "HOWMANY"),
        (r"\bgift ?(card|cert|certificate)s?\b", "VOUCHER"),
        # A card that is not a means of paying ("loyalty card", "vaccination card").
        (r"\b(loyalty|reward|rewards|stamp|membership|member|vaccination|vaccine|appointment"
         r"|business|birthday|id|insurance|sim) cards?\b", r"\1"),
        (r"\bcar ?parks?\b|\bparking (space|spot|lot)s?\b", "PARK"),
        # A no-show is dealt with by the cancellation policy in booking businesses.
        (r"\b(no ?show|not (turn|show)(ing|ed)? up|not attend(ing)?)s?\b", "NOSHOW CANCEL"),
        (r"\bcall(ing|ed)? off\b", "CANCEL"),
        # "change/move/swap ... my appointment" means reschedule; the verb alone does not.
        # "bring ... to my appointment" is about who or what comes along; only "bring it
        # forward" moves it.
        (r"\bbring (\w+ ){0,3}forward\b", "RESCHEDULE"),
        (r"\b(change|changing|move|moving|switch|swap|shift|push)\b"
         r"(?=(?: \w+){0,4}? " + _BOOKING_NOUNS + r"\b)", "RESCHEDULE"),
        (r"\b(different|another|other|later|earlier) (day|time|date|slot)\b", "RESCHEDULE"),
        (r"\b(appointment|session|slot)s? (be |been |get |is |was )?(moved|changed|switched|"
         r"swapped|rearranged|pushed|brought)\b", "APPOINTMENT RESCHEDULE"),
        # "an hour", "half an hour" are durations, not opening hours.
        (r"\b(an?|one|half|two|three|few|couple of|\d+) hours?\b", "time"),
        (r"\b(open|opening|close|closing) (late|early)\b|\b(late|early) (opening|closing)s?\b"
         r"|\bhow (late|early) (are|is|do|does) (you|it|the \w+|your \w+) (open|close|shut)",
         "HOURS"),
        (r"\bwhere(abouts)? (are|is) (you|your " + _BUSINESS_NOUNS + r"|the "
         + _BUSINESS_NOUNS + r")\b", "LOCATION"),
        (r"\b(find|get to|get into|reach) (you|your " + _BUSINESS_NOUNS + r"|the "
         + _BUSINESS_NOUNS + r")\b", "LOCATION"),
        (r"\bget there\b", "LOCATION"),
        # "by email", "over whatsapp", "on your website" say how, not what is asked.
        (r"\b(by|over|via|through|on|in) (the |your |an? )?(phone|email|e mail|whatsapp|text"
         r"|telephone|website|site|web|app|facebook|instagram)\b", "CHANNEL"),
        (r"\b(get|be|keep|stay) in touch\b", "CONTACT"),
        (r"\b(phone|telephone|contact|mobile|whatsapp) (number|no)\b", "CONTACT"),
        (r"\b(your|the) number\b", "CONTACT"),
        (r"\bcall (me|us) back\b", "CONTACT"),
        (r"\b(speak|talk|chat) (to|with)\b", "CONTACT"),
        (r"\bmoney back\b", "REFUND"),
        # Asking what is free right now needs the live diary, not an FAQ.
        (r"\bany (\w+ )?(cancellations|slots|spaces|availability|openings|gaps)\b"
         r"|\b(appointments?|slots?|spaces?|anything) (left|free|available|spare)\b"
         r"|\b(fit|squeeze) (me|us) in\b", "AVAILABILITY"),
        (r"\bleft (my|a|an|the) \w+ (at|in|behind)\b", "PROBLEM"),
        # Personal advice ("what's the best ... for me") is for a person, not an FAQ.
        (r"\b(what|which)( \w+){0,3} is (the )?best\b", "ADVICE"),
        # Being billed wrongly is a problem to sort out, not a question about prices.
        (r"\b(charged|billed|paid) (me |us )?(twice|double|two times)\b"
         r"|\bdouble (charged|billed)\b", "PROBLEM"),
        # A "house call" is a home visit, not a phone call.
        (r"\bhouse calls?\b", "home visit"),
        (r"\b(make|get|schedule|arrange|set up)( an?| my| another)? appointment",
         "BOOK appointment"),
        (r"\bbook (me )?in\b", "BOOK"),
        (r"\bsign(ing)? (me |us )?up\b", "BOOK"),
        # A schedule you look at is a timetable; "schedule an appointment" stays a booking.
        (r"\b(the|your|a|class|weekly|lesson|session) schedules?\b", r"\1 timetable"),
        # "One to one" / "1:1" sessions are private ones (the words alone are stopwords).
        (r"\b(one|1) ?(to|2)? ?(one|1)s?\b(?! (year|yr|hour|week|month|day)s?\b)", "private"),
        (r"\b(step free|ground floor)\b", "ACCESS"),
        (r"\bopening (hours|times)\b", "HOURS"),
        (r"\brun(ning)? (\w+ ){0,3}(late|behind)\b", "LATE"),
        (r"\b(e ?mail) address\b", "CONTACT"),
        (r"\bamerican express\b", "amex"),
        (r"\bprice ?lists?\b", "PRICE"),
        (r"\b(health|medical) (cover|plan|scheme)\b", "INSURANCE"),
        (r"\b(apple|google|samsung) pay\b|\bbank transfer\b|\bpay pal\b", "PAY"),
        # Ages under 18 signal a child; "my 80 year old mum" does not.
        (r"\b(1[0-7]|[1-9]) ?(year|yr)s? old\b", "CHILD"),
    ]
]

# Stems (Snowball English) that name the same thing in booking conversations.
CONCEPT_WORDS: dict[str, tuple[str, ...]] = {
    "PRICE": ("price", "cost", "fee", "charge", "rates", "tariff", "expensive", "cheap",
              "pricelist", "money"),
    "PAY": ("pay", "payment", "card", "cash", "contactless", "amex", "visa", "mastercard",
            "paypal", "debit", "credit", "klarna", "cheque"),
    "CANCEL": ("cancel",),
    "RESCHEDULE": ("reschedule", "rebook", "rearrange", "postpone"),
    "BOOK": ("book", "schedule", "reserve"),
    "APPOINTMENT": ("appointment", "session", "slot"),
    "HOURS": ("open", "close", "hour", "shut"),
    "LOCATION": ("location", "located", "address", "postcode", "directions", "whereabouts",
                 "satnav", "map", "situated", "street"),
    "PARK": ("park", "car"),
    "LATE": ("late", "delay", "traffic"),
    "VOUCHER": ("voucher", "gift"),
    "CONTACT": ("contact", "phone", "telephone", "call", "ring", "email", "mail",
                "whatsapp"),
    "PERSON": ("person", "human", "someone", "somebody", "anyone", "anybody"),
    "ACCESS": ("access", "accessible", "wheelchair", "disabled", "disability", "stairs",
               "step", "ramp"),
    "CHILD": ("child", "children", "kid", "son", "daughter", "boy", "girl", "toddler",
              "teen", "teenager", "baby", "infant", "junior"),
    "COMPANION": ("partner", "husband", "wife", "boyfriend", "girlfriend", "mum", "mom",
                  "mother", "dad", "father", "friend", "sister", "brother", "family"),
    "DISCOUNT": ("discount", "deal", "promo", "promotion", "coupon", "cheaper"),
    "REFUND": ("refund", "reimburse"),
    "PET": ("dog", "cat", "pet", "puppy"),
    "INSURANCE": ("insurance", "insurer", "bupa", "axa", "aviva", "vitality", "simplyhealth"),
    "DURATION": ("duration",),
    "CHANNEL": ("website", "site", "web", "app"),
    # Bare "available" ("are vouchers available?") means "do you offer", like "offer" (a
    # stopword); asking for free slots is caught by the AVAILABILITY phrases above.
    "AVAILABILITY": ("availability",),
    "POLICY": ("policy", "policies", "notice", "rules", "terms"),
    "ADVICE": ("recommend", "recommendation", "suggest", "suggestion", "advice", "advise"),
    # Reports of something gone wrong: a person should deal with these.
    "PROBLEM": ("wrong", "problem", "issue", "error", "broken", "damaged", "dented", "stolen",
                "faulty", "declined", "rejected", "refused", "overcharged", "lost", "worse",
                "complaint", "complain"),
    "REFERRAL": ("referral", "refer", "referred"),
    # Buying goods ("can I buy the shampoo you use") is a different request from having the
    # service done, so buying and selling are not stopwords like "offer" and "provide".
    "PURCHASE": ("buy", "sell", "purchase", "bought", "sold", "selling", "buying"),
    "NOSHOW": ("miss",),
    "STAFF": ("stylist", "hairdresser", "therapist", "physio", "physiotherapist",
              "practitioner", "technician", "tech", "beautician", "dentist", "hygienist",
              "groomer", "instructor", "teacher", "trainer", "coach", "barber", "mechanic"),
    "WEEKEND": ("saturday", "sunday", "weekend"),
    "WEEKDAY": ("monday", "tuesday", "wednesday", "thursday", "friday", "weekday"),
}

# A first name in a booking chat is nearly always a member of staff ("can I book with Sarah"),
# so it asks for that person as "my stylist" does. Names that are also common words are left out.
STAFF_NAMES = tuple("""
        sarah emma laura lucy sophie hannah charlotte emily jessica amy rachel rebecca katie
        chloe megan olivia amelia isla ella mia lily zoe natalie claire louise helen kate
        nicola michelle lisa karen julie jenny jane anna maria sam samantha gemma kelly
        danielle jade leah abbie abby beth becky ellie freya millie evie georgia alice
        victoria vicky jo joanne susan mary linda elizabeth liz ann anne tina tracy
        james john david michael paul chris christopher daniel dan matt matthew tom thomas
        ben benjamin jack harry george oliver charlie alfie jake josh joshua luke adam ryan
        liam callum connor kieran steve steven stephen andy andrew mike rob robert richard
        peter pete simon gary kevin ian neil stuart scott craig dave jamie alex
        sean jon jonathan joe joseph alan ollie noah leo oscar archie freddie theo
        mohammed muhammad priya aisha fatima raj
        """.split())
CONCEPT_WORDS["STAFF"] += STAFF_NAMES

# Concepts that say what is being asked (price, hours, cancel, ...) rather than about what;
# in booking FAQs the intent decides the answer, so these weigh more than other terms.
INTENT_CONCEPTS = frozenset(
    "PRICE PAY CANCEL RESCHEDULE BOOK HOURS LOCATION PARK LATE VOUCHER CONTACT ACCESS "
    "DISCOUNT REFUND INSURANCE DURATION NOSHOW TENURE HOWMANY AVAILABILITY PROBLEM "
    "ADVICE".split()
)

# What a service is done to, when that is not the customer: kinds of animal and vehicle. A
# message naming one that none of a business's FAQs mentions ("sports massage for horses",
# "parking for bikes") is nearly always about something the business does not do, however
# well the rest matches; an unfamiliar word of another kind ("my westie", "traffic is awful")
# usually is not. Kinds of person ("for adults", "a male physio") are left out: in businesses
# that serve people they are a detail of the question far more often than a different one.
SUBJECT_WORDS = tuple("""
        horse pony donkey cow sheep goat pig chicken duck rabbit bunny hamster gerbil
        ferret rat mouse mice bird parrot budgie snake lizard reptile tortoise turtle fish
        kitten cattle livestock
        bike bicycle motorbike motorcycle scooter moped van lorry truck caravan campervan
        motorhome boat pram buggy pushchair
        """.split())
SUBJECT_CONCEPTS = ("PET",)

# Context words that rarely change what is being asked ("... on saturday", "... for my mum");
# they count less when judging how much of a question an FAQ covers.
QUALIFIER_WORDS = (
    "today tomorrow tonight morning afternoon evening night week month year day date time "
    "minute next soon now moment asap earlier later first holiday christmas easter salon clinic "
    "studio shop spa practice centre surgery place building"
).split()
QUALIFIER_CONCEPTS = ("WEEKEND", "WEEKDAY", "COMPANION", "CLOCKTIME", "CHANNEL")

STOPWORDS = frozenset(
    """
    a an the i me my mine myself we us our ours you your yours yourself he him his she her
    it its they them their this that these those is am are was were be been being do does
    did doing done have has had having get gets got getting make makes made can could would
    should will shall may might must need needs want wants wanted like to of in on at for
    with from by about as into onto up out if or and but so then than just also too very
    really please thanks thank hi hello hey hiya heya dear there here any anything some
    something what which who whom whose when where why how not no yes ok okay sorry quick
    question wondering wonder wondered know tell let possible able go going come coming
    comes again still all bit lot lots x xx xxx one would much many well good best great
    offer offering provide use using used treat help helps anymore instead though
    because actually currently usually normally roughly just already ever even such own
    does kind sort thing things way okay yeah yep hmm ah oh please information real actual
    over through via after before during within across around under between per near nearby
    see seen seeing happen happens happened give giving send sent say said saying
    ask asking asked look looking try trying put keep work working mean think hope hoping
    maybe perhaps probably definitely anyway quite pretty only take takes taking accept
    accepted allow allowed leave leaving enough few each every never always somewhere
    anywhere else whether able available
    """.split()
)

SMALL_TALK_WORDS = frozenset(
    """
    hi hello hey heya hiya hiyah yo howdy morning afternoon evening night good gm gn thanks
    thank thx ty tysm cheers ta bye goodbye byee cya see ya later soon you u ok okay k kk
    okey okie alright great cool perfect awesome nice lovely brilliant fab fabulous amazing
    super wonderful excellent sure yes yep yeah yup no nope nah sounds sound got it np
    problem problems lol haha hahaha hehe welcome have a nice day great weekend so much
    very lot lots again for the your help appreciated appreciate that that's thats is fine
    all right will do noted understood many and x xx xxx oh ah hmm wow how are r doing
    you're youre im i'm i am well too thankyou cheers mate all the best take care speak
    soon talk tomorrow then bless hun babe love dear there please pls guys everyone folks team
    sweet grand ace cool brill
    """.split()
)

# What kind of answer a question wants (classic question classification), independent of its
# topic: "how much notice to cancel" and "how do I cancel" share a topic but not a type. Regex
# rules over the folded, contraction- and shorthand-expanded text (before PHRASES); a message
# can have several types or none (statements, unknown scripts). An FAQ's types are the union
# over its question and alternative questions.
QUESTION_TYPES: dict[str, tuple[str, ...]] = {
    "PRICE": (r"\bhow much\b(?! (notice|time|longer|earlier|before|in advance)\b)",
              r"\b(price|prices|priced|pricing|cost|costs|costing|fee|fees|charge|charges"
              r"|charged|expensive|cheap|cheaper|rates?)\b"),
    "TIME": (r"\bwhen\b", r"\bwhat (time|times|day|days)\b", r"\bhow (long|soon|early|late)\b",
             r"\bhow (much|far) (notice|time|in advance)\b", r"\bnotice\b", r"\bin advance\b",
             r"\b(hours|open|opening|close|closing|shut|deadline)\b"),
    "LOCATION": (r"\bwhere(abouts)?\b", r"\b(address|postcode|located|location|directions"
                 r"|parking|park)\b"),
    "PROCEDURE": (r"\bhow (do|can|could|should|would|will) (i|we|you)\b", r"\bhow to\b",
                  r"\b(process|procedure)\b"),
    "YESNO": (r"^(can|could|do|does|is|are|will|would|may|am|should|have|has)\b",
              r"(?<!how )\b(can|could|may) (i|we)\b", r"(?<!how )\bdo you\b",
              r"\bis (it|there) possible\b", r"\b(are|is) you able\b", r"\b(is|are) there\b"),
    "POLICY": (r"\bwhat happens\b", r"\bwhat if\b", r"\b(policy|policies|rules|terms|penalty)\b"),
    "METHOD": (r"\b(by|over|via|through|on) (the |an? |your )?(phone|email|e mail|text|sms"
               r"|whatsapp|post|website|site|app|web)\b", r"\bonline\b", r"\bin person\b"),
}
