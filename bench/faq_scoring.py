"""Scoring and build time of the FAQ matcher for businesses with 10, 100 and 1,000 FAQs.

    .venv/bin/python bench/faq_scoring.py [--messages 500] [--sizes 10 100 1000]

FAQs are synthetic but varied (templates x services x audiences, with alternatives and
keywords); messages are customer-style paraphrases, chit-chat and off-topic questions.
"Per message" is one rank(limit=5): the staff preview (POST /faqs/match) takes its match from
it, and the automation's match() is rank(limit=1). "build" is the first index of the business
in the process (every FAQ text gets its sentence vector); "rebuild" is the index rebuilt after
one FAQ changed (the other texts' vectors come from faq_semantic's cache).
Wall-clock and CPU time are both shown: on a busy shared machine the wall-clock tail is
mostly time spent waiting for a CPU, which the CPU-time columns leave out.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from logic.faq_matcher import FaqDoc, FaqIndex, answer  # noqa: E402

SERVICES = (
    "haircut", "blow dry", "balayage", "highlights", "root touch up", "keratin treatment",
    "beard trim", "hot towel shave", "gel manicure", "pedicure", "acrylic nails", "lash lift",
    "eyelash extensions", "brow tint", "eyebrow wax", "leg wax", "facial", "chemical peel",
    "microdermabrasion", "spray tan", "massage", "sports massage", "deep tissue massage",
    "reflexology", "physio assessment", "follow-up session", "acupuncture", "dry needling",
    "pilates class", "yoga class", "reformer pilates", "personal training", "nutrition plan",
    "teeth whitening", "dental check-up", "hygienist visit", "eye test", "contact lens fitting",
    "tattoo consultation", "piercing", "dog grooming", "puppy wash", "nail trim", "osteopathy",
    "chiropractic adjustment", "hearing test", "driving lesson", "guitar lesson", "swim lesson",
    "photo shoot", "bridal trial", "makeup lesson", "hair extensions", "perm", "colour correction",
    "scalp treatment", "wedding hair", "prom makeup", "teeth cleaning", "laser hair removal",
)
TEMPLATES = (
    ("How much does a {s} cost?", ("What is the price of a {s}?",), ("{s} price", "cost")),
    ("How long does a {s} take?", ("How long is a {s} appointment?",), ("{s}", "how long")),
    ("Do you offer {s} for {a}?", ("Can {a} book a {s}?",), ("{a}", "{s}")),
    ("How do I prepare for my {s}?", ("What should I do before a {s}?",), ("prepare", "before")),
    ("Can I book a {s} online?", ("How do I book a {s}?",), ("book {s}", "online")),
    ("What is your cancellation policy for a {s}?", (), ("cancel {s}",)),
    ("Is a {s} suitable during pregnancy?", ("Can I have a {s} if I'm pregnant?",),
     ("pregnant", "pregnancy")),
    ("Do you sell gift vouchers for a {s}?", (), ("voucher {s}", "gift card")),
    ("What aftercare do I need after a {s}?", ("How do I look after my {s}?",), ("aftercare",)),
    ("Who does the {s} at your {b}?", ("Which staff member does {s}?",), ("staff", "{s}")),
    ("Is there a package deal for {s} and {s2}?", (), ("package", "deal")),
    ("Do {a} get a discount on a {s}?", (), ("discount", "{a}")),
    ("How often should I get a {s}?", ("How many {s} sessions do I need?",), ("how often",)),
    ("Can I bring my own products to a {s}?", (), ("own products",)),
    ("Do you do a {s} on weekends?", ("Is {s} available on Saturday?",), ("weekend", "{s}")),
    ("Is there a patch test before a {s}?", (), ("patch test", "allergy")),
    ("What happens if I'm late for my {s}?", (), ("late", "{s}")),
    ("Is a {s} painful?", ("Does a {s} hurt?",), ("pain", "hurt")),
)
AUDIENCES = ("children", "students", "pensioners", "men", "teenagers", "new customers",
             "couples", "groups", "nhs staff", "members")
BUSINESSES = ("salon", "clinic", "studio", "spa", "practice")
MESSAGES = (
    "hi how much is a {s} pls", "how long does {s} take roughly", "do u do {s} for {a}",
    "can i book a {s} online", "is {s} ok if im pregnant", "does a {s} hurt much",
    "hi, i was wondering if you sell vouchers for {s} as a present?", "wat aftercare after {s}",
    "any deals on {s} and {s2} together", "r u open on saturdays for {s}",
    "thanks so much!", "ok great", "do you have wifi", "can i bring my dog",
    "is there parking", "where are you based", "i need to cancel my {s} tomorrow",
)


ANSWER = ("Yes - {s} is £{price} and takes about {minutes} minutes. You can book {s} online "
          "at any time, or call us on 01632 960000 and we will find a slot that suits you.")


def synthetic_faqs(n: int, rng: random.Random) -> list[FaqDoc]:
    """n distinct FAQs; alternatives and keywords are sometimes left out, as owners do."""
    combos = [(t, s) for t in range(len(TEMPLATES)) for s in range(len(SERVICES))]
    rng.shuffle(combos)
    faqs = []
    for i, (t, s) in enumerate(combos[:n]):
        question, alts, keywords = TEMPLATES[t]
        fill = {
            "s": SERVICES[s], "s2": SERVICES[(s + 7) % len(SERVICES)],
            "a": AUDIENCES[(s + t) % len(AUDIENCES)], "b": BUSINESSES[s % len(BUSINESSES)],
        }
        faqs.append(FaqDoc(
            id=i + 1,
            question=question.format(**fill),
            alternative_questions=tuple(a.format(**fill) for a in alts if rng.random() < 0.8),
            keywords=tuple(k.format(**fill) for k in keywords if rng.random() < 0.7),
            answer=ANSWER.format(s=SERVICES[s], price=rng.randrange(10, 120),
                                 minutes=rng.choice((15, 30, 45, 60, 90))),
        ))
    return faqs


def synthetic_messages(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        fill = {"s": rng.choice(SERVICES), "s2": rng.choice(SERVICES),
                "a": rng.choice(AUDIENCES)}
        out.append(rng.choice(MESSAGES).format(**fill))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args(argv)
    rng = random.Random(42)
    messages = synthetic_messages(args.messages, rng)
    print("per message: rank(limit=5); times in ms")
    print(f"{'FAQs':>6}  {'build':>7}  {'rebuild':>7}  {'p50':>6}  {'p99':>6}  {'mean':>6}  "
          f"{'cpu p50':>7}  {'cpu p99':>7}  {'cpu mean':>8}  {'answered':>8}")
    for size in args.sizes:
        faqs = synthetic_faqs(size, rng)
        start = time.perf_counter()
        index = FaqIndex.build(faqs)
        build_ms = (time.perf_counter() - start) * 1000
        faqs[0] = replace(faqs[0], question=faqs[0].question + " (edited)")
        start = time.perf_counter()
        index = FaqIndex.build(faqs)
        rebuild_ms = (time.perf_counter() - start) * 1000
        for text in messages[:20]:  # warm caches (stemmer, numpy paths) as a live worker would
            index.rank(text)
        timings, cpu, answered = [], [], 0
        for text in messages:
            start, start_cpu = time.perf_counter(), time.process_time()
            hit = answer(index.rank(text, limit=5))
            cpu.append((time.process_time() - start_cpu) * 1000)
            timings.append((time.perf_counter() - start) * 1000)
            answered += hit is not None
        print(f"{len(index):>6}  {build_ms:>7.1f}  {rebuild_ms:>7.1f}  "
              f"{percentile(timings, 0.5):>6.2f}  {percentile(timings, 0.99):>6.2f}  "
              f"{statistics.fmean(timings):>6.2f}  "
              f"{percentile(cpu, 0.5):>7.2f}  {percentile(cpu, 0.99):>7.2f}  "
              f"{statistics.fmean(cpu):>8.2f}  {answered / len(messages):>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
