"""The house vocabulary (``docs/stories.md``): the only words a story may use besides its facts' values.

A word is allowed when it is a function word, a plain story word, or licensed by the story's kind or
by a fact on its sheet (a streak licenses "in a row", a top artist "led by"). Phrases that would
otherwise be refused, a negation stated by a fact ("not the morning as before") or a time span
("in the last seven days"), are licensed as whole phrases, with ``{fact}`` standing for a bound fact.

Everything else is refused; the refused lists below only name the reason a reader is given.
The lists grow from the dev split of the evaluation set, never from the held-out split.
"""

from __future__ import annotations

# A verb of the vocabulary is allowed in all its forms ("take" allows "took", "takes", "taking", "taken").
# (Not "last": its base form is also the relative "last week".)
VERB_FORMS = {
    "take": "took takes taking taken",
    "make": "made makes making",
    "set": "sets setting",
    "hold": "held holds holding",
    "fall": "fell falls falling",
    "keep": "kept keeps keeping",
    "bring": "brought brings bringing",
    "move": "moved moves moving",
    "run": "ran runs running",
    "spend": "spent spends spending",
    "fill": "filled fills filling",
    "reach": "reached reaches reaching",
    "hit": "hits hitting",
    "open": "opened opens opening",
    "start": "started starts starting",
    "wrap": "wrapped wraps wrapping",
    "come": "came comes coming",
    "go": "went goes going",
    "play": "played plays playing",
    "listen": "listened listens listening",
    "hear": "heard hears hearing",
    "find": "found finds finding",
    "mark": "marked marks marking",
    "happen": "happened happens happening",
    "settle": "settled settles settling",
    "get": "got gets getting",
    "press": "pressed presses pressing",
    "shift": "shifted shifts shifting",
    "change": "changed changes changing",
    "become": "became becomes becoming",
    "claim": "claimed claims claiming",
    "account": "accounted accounts accounting",
    "land": "landed lands landing",
    "cover": "covered covers covering",
    "join": "joined joins joining",
    "begin": "began begins beginning begun",
    "roll": "rolled rolls rolling",
    "give": "gave gives giving given",
    "stand": "stood stands standing",
    "arrive": "arrived arrives arriving",
    "enter": "entered enters entering",
    "pick": "picked picks picking",
    "list": "listed lists listing",
    "gather": "gathered gathers gathering",
    "lead": "led leads leading",
    "add": "added adds adding",
}


def _words(text: str) -> frozenset[str]:
    words = set(text.split())
    for verb, forms in VERB_FORMS.items():
        if verb in words or any(f in words for f in forms.split()):
            words |= {verb, *forms.split()}
    return frozenset(words)


FUNCTION = _words(
    """a an the and or but so of in on at to by with from for into across as that this it its 's
    you your yours you've you're you'll they them their there here here's what which who whose
    is are was were be been being has have had do does did will would can could just now one"""
)

STORY = _words(
    """listening listen listened listens played play playing music session track tracks song songs
    artist artists spent ran run kept keep keeping going went came coming back along way tone set
    filled fill rotation library pressed reached reaching mark milestone count counting heard
    latest start started starting opened closed wrapped wrap
    nice congrats congratulations cheers well done next
    welcome mix company check among over got setting name brought made marked holds falls happens
    taking moving settled how where after out up part full say hello lasted lasts became claims accounts lands
    covered joined beginning front rolling clock finish total gave stands far alert headline review short
    something under list listed picked arrived entered"""
)

KIND_WORDS: dict[str, frozenset[str]] = {
    "SESSION_RECAP": _words("session ran wrapped across led leading lead"),
    "MILESTONE": _words("milestone milestones reached reaching hit mark since given total all-time round number add"),
    "DISCOVERY": _words("new discovered discovery found find voice voices name names sound"),
    "STREAK": _words(
        "streak streaks row straight running counting daily going strong unbroken chain each day days another"
        " consecutive"
    ),
    "TIME_OF_DAY_SHIFT": _words(
        "moved shifted shift shifts now before usual used to part day listening took change transformed mostly"
        " lead led once hours time new away toward towards when main rhythm gather"
    ),
    "WEEKLY_DIGEST": _words("week week's weekly"),
}

FACT_WORDS: dict[str, frozenset[str]] = {
    "top_artist": _words("led leading lead top topped"),
    "top_genre": _words("led leading lead top topped genre genres"),
    "new_artists": _words("new discovered found discovery"),
    "new_artists_7d": _words("new discovered found discovery"),
    "skips": _words("skipped"),
    "first_played": _words("since"),
    "track": _words("latest"),
    "play_count": _words("reached hit milestone mark"),
    "week_of": _words("week starting"),
    "share": _words("share"),
    "genre": _words("new"),
}

# Phrases licensed by a kind or a fact: token sequences, ``{name}`` matching a token bound to that fact.
FACT_PHRASES: dict[str, tuple[str, ...]] = {
    "streak_days": (
        "without a silent day",
        "without a quiet day",
        "without a day off",
        "without missing a day",
        "without a break",
        "in a row",
        "and counting",
        "every day",
        "one after another",
    ),
    "old_time_of_day": (
        "not the {old_time_of_day}",
        "not in the {old_time_of_day}",
        "rather than the {old_time_of_day}",
        "instead of the {old_time_of_day}",
        "away from the {old_time_of_day}",
        "than the {old_time_of_day}",
        "no longer the {old_time_of_day}",
        "no longer in the {old_time_of_day}",
        "not {old_time_of_day}",
    ),
    "new_artists_7d": (
        "in the last seven days",
        "in the last 7 days",
        "in the past seven days",
        "in the past 7 days",
        "over the last seven days",
        "over the past seven days",
        "in the past week",
        "over the past week",
    ),
    "top_artist": ("most played", "most-played", "on top", "kept coming back to", "most plays"),
    "track": ("through {track}", "via {track}", "by way of {track}"),
    "top_genre": ("most played", "most-played", "on top"),
}
# "first" only as the first play or the first time, never as a rank ("the first of 4 new artists").
PHRASES = (
    "in all",
    "first played",
    "first playing",
    "first pressed play",
    "first heard",
    "first listened",
    "first found",
    "first time",
    "for the first time",
    "first play",
    "your first",
)
KIND_PHRASES: dict[str, tuple[str, ...]] = {
    "WEEKLY_DIGEST": ("this week", "your week", "the week", "that week", "a week of"),
    "DISCOVERY": ("new to you", "kept listening"),
    "MILESTONE": ("with you",),
}

# Why a word is refused, for the reader of a verdict. Not consulted to allow anything.
REFUSED: dict[str, frozenset[str]] = {
    "opinion": _words(
        """legendary masterpiece amazing incredible iconic catchy beautiful brilliant epic stunning perfect
        top-tier gem classic timeless unforgettable magical magic soulful haunting powerful testament genius
        awesome fantastic wonderful great good best-ever banger bangers anthem anthems sublime gorgeous
        lovely sweet stellar superb fine impressive remarkable unique special delightful dreamy upbeat cheerful
        energetic mellow chill soothing haunting hypnotic infectious irresistible legend legends"""
    ),
    "negation": _words(
        """not no never none nothing nobody without neither nor didn't don't doesn't wasn't weren't isn't aren't
        won't can't couldn't haven't hasn't hadn't wouldn't shouldn't barely hardly"""
    ),
    "comparison": _words(
        """more less fewer than twice double triple longer shorter bigger higher lower better worse ever yet
        record again usual compared beat beats surpassed"""
    ),
    "superlative": _words("most least longest shortest biggest best highest greatest favourite favorite all-time"),
    "relative time": _words(
        """today tonight yesterday tomorrow recently lately ago last earlier later soon currently nowadays
        weekend"""
    ),
    "feeling": _words(
        """love loved loving loves adore adored enjoyed enjoy enjoying happy glad excited mood vibe vibes feel
        felt feeling obsessed hooked obsession passion heart soul cherish"""
    ),
    "the world outside the plays": _words(
        """tour touring concert concerts show shows gig gigs album albums single singles ep lp vinyl label
        chart charts live festival singer singers frontman frontwoman released release debut grammy band's
        fans fan radio city world stage career hits"""
    ),
    "prompt leak": _words("original sentence rephrased rewritten rewrite facts fact draft version prompt output"),
    "first person": _words("i i'm i've i'd i'll me my mine myself we we're we've our us"),
}
