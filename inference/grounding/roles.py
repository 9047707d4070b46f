"""Facts in the roles their values can have, read off a story's skeleton (``docs/stories.md``, "Facts,
in their roles").

A skeleton is a story with each stated fact as ``{name}``, lower-cased, punctuation as its own token:
``your {time_of_day} session ran {minutes} across {tracks} , led by {top_artist} .`` The gate makes
one from every text it reads; a slot frame is one already (``skeleton_of_frame``). So the rules here
judge the words around the values, whatever the values are, for the model's frames before they are
filled and for any text alike.

The rules go by what a fact's value is, never by particular sentences:

- a count ("18 tracks", "47 minutes", "44%") is an amount: it leads nothing, is not on top, does not
  play or start another amount, and is no place or span ("over 44%");
- a name is an artist, a track or a genre: nothing lasts "over" or "across" it, no session is named
  after it, and in a discovery the listener finds the artist, not the reverse;
- a part of the day is a time: it takes "the" after "in" or "across", is not what one listens to, and
  in a shift the old one is said as the old one ("from", "before", "not the ... as before");
- a streak is days in a row, said as such ("in a row", "streak", "without a silent day");
- a story that strings its facts together with filler words only lists them: dull.
"""

from __future__ import annotations

import itertools
import re

from .text import normalize, tokenize

COUNTS = ("minutes", "tracks", "plays", "skips", "new_artists", "new_artists_7d", "play_count", "streak_days", "share")
TOPS = ("top_artist", "top_genre")
NAMES = ("top_artist", "artist", "track", "genre", "top_genre")
TIMES = ("time_of_day", "new_time_of_day", "old_time_of_day")


def _any(names: tuple[str, ...]) -> str:
    return r"\{(" + "|".join(names) + r")\}"


_COUNT = _any(COUNTS)
# Amounts of a whole session or week; a play count or a streak is of one artist or genre ("10 plays of X").
_AMOUNT = _any(("minutes", "tracks", "plays", "skips", "new_artists", "share"))
_NAME = r"(?:the )?" + _any(NAMES)
_TIME = _any(TIMES)
# Facts said as nouns: two of them side by side read as none ("13 tracks 38 minutes"); a part of the
# day or a genre before another fact is its modifier ("a 20-minute evening session").
_NOUNS = tuple(n for n in COUNTS + NAMES if n != "genre")
_TIME_NOUNS = "session|sessions|listening|plays|hours|music"
_LEADS = r"(?:now )?(?:led|leads|leading|lead|topped|tops|set the tone|setting the tone)\b"
_ON_TOP = r"(?:on top|in the lead|out in front|leading|led the way|got the most plays|set the tone|setting the tone)\b"
_NOT_THEIRS = "wrong role: the {0} are not for {1} alone"

# (pattern, reason): the reason is formatted with the pattern's groups, fact names spaced.
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # amounts of the session or week said as one artist's ("47 minutes of Velvet Harbors")
    (re.compile(_AMOUNT + r" (?:of|with|from|by|on|over|across|in|playing|listening to|to) " + _NAME), _NOT_THEIRS),
    (re.compile(_AMOUNT + r" (?:[a-z]+ ){0,4}(?:spent|played) (?:on|with|to) " + _NAME), _NOT_THEIRS),
    (re.compile(_AMOUNT + r" (?:listening to|with|on) (them)\b"), _NOT_THEIRS),
    (re.compile(_AMOUNT + r" (?:of|on|listening to|playing) (?:[a-z']+ ){1,3}" + _NAME), _NOT_THEIRS),
    (re.compile(_AMOUNT + r" (?:listening to|playing) (?:[a-z']+ ){1,3}, " + _NAME), _NOT_THEIRS),
    (
        re.compile(_NAME + r" (?:with |and its |at |on |over |across |in )?" + _AMOUNT),
        "wrong role: the {1} are not for {0} alone",
    ),
    (
        re.compile(_NAME + r" (?:now )?(?:played|plays|started|starts|ran|filled) " + _COUNT),
        "wrong role: the {1} are not for {0} alone",
    ),
    # "X came to 131 minutes", "X and Y came to 88 minutes", "X of 126 minutes": the total as theirs
    (
        re.compile(
            _NAME + r" (?:and (?:the )?\{(?:" + "|".join(NAMES) + r")\} )?(?:now )?(?:came to|comes to|of) " + _AMOUNT
        ),
        "wrong role: the {1} are not for {0} alone",
    ),
    # the week and its start are the listener's
    (
        re.compile(_NAME + r" (?:started|starts|opened|opens|began|begins|kicked off) (?:your|the) week"),
        "wrong role: the week is the listener's, not the {0}'s",
    ),
    # skips are what was passed over, not what the listening spanned
    (re.compile(r"(?:over|across) \{(skips)\}"), "wrong role: the listening did not span the {0}"),
    (
        re.compile(r"\{(top_artist|artist)\} of (?:the )?\{(top_genre)\}"),
        "wrong role: the {1} is the listening's, not {0}'s",
    ),
    # a milestone's play count is the artist's, not a track's or a genre's
    (
        re.compile(r"\{play_count\} (?:of|with|from|for|by|on) (?:the )?\{(track|genre)\}"),
        "wrong role: play count is not the {0}'s",
    ),
    (
        re.compile(r"(?:the )?\{(track|genre)\} (?:[a-z']+ ){0,2}?(?:reached|hit|got|has|earned|made) \{play_count\}"),
        "wrong role: play count is not the {0}'s",
    ),
    # an amount leads nothing; only the top artist or genre is on top
    (re.compile(_COUNT + r" " + _LEADS + r"(?! by)"), "wrong role: the {0} lead nothing; the top artist does"),
    (
        re.compile(r"\{(" + "|".join(n for n in COUNTS + NAMES if n not in TOPS) + r")\} " + _ON_TOP),
        "wrong role: the {0} are not what led",
    ),
    (
        re.compile(r"led by (?:the )?\{(" + "|".join(n for n in COUNTS + NAMES if n not in TOPS) + r")\}"),
        "wrong role: the {0} are not what led",
    ),
    # an amount does not act on another amount ("9 tracks played 25 minutes")
    (
        re.compile(_COUNT + r" (?:now )?(?:played|started|ran|reached|came to) " + _COUNT),
        "wrong role: the {0} do not make the {1}",
    ),
    # a share is a part of the listening, not a span or a place
    (
        re.compile(r"(?:^| )(?:over|across|in|on|from|into|through) \{(share)\}"),
        "wrong role: the {0} is a part of the listening",
    ),
    # an artist or a track has no session, week or streak of its own: those are the listener's
    (
        re.compile(r"\{(top_artist|artist|track)\} (?:session|sessions|week|streak|listening|hours)\b"),
        "wrong role: the session and the week are the listener's, not the {0}'s",
    ),
    # listening moves between parts of the day, never to an artist or a track
    (
        re.compile(
            r"(?:moved|moves|moving|shifted|shifts|went|turned) (?:over )?(?:to|toward|towards|into|from) " + _NAME
        ),
        "wrong role: listening moves between parts of the day, not to the {0}",
    ),
    # the latest is a track: the one that made the milestone
    (
        re.compile(r"\blatest (?:one |play )?(?:being |is |was )?\{((?!track\})\w+)\}"),
        "wrong role: the latest is the track, not the {0}",
    ),
    # a discovery: the listener found the artist, through the track
    (re.compile(r"through (?:the )?\{(artist)\}"), "wrong role: the listener found the artist through the track"),
    (
        re.compile(r"(?:found|discovered) (?:the )?\{(track)\}"),
        "wrong role: the discovery is the artist, not the track",
    ),
    (
        re.compile(r"\{(artist)\} (?:just )?(?:found|discovered|picked up|came across) (?:you|your)\b"),
        "wrong role: the listener found the {0}, not the reverse",
    ),
    (
        re.compile(r"came to (?:the )?" + _any(("artist", "track", "genre", "top_artist", "top_genre"))),
        "wrong role: a count comes to a number, not to the {0}",
    ),
    # parts of the day: when, not what; the new one is where listening went
    (
        re.compile(r"from (?:the )?\{(new_time_of_day)\}"),
        "wrong role: listening moved to the new time of day, not from it",
    ),
    (
        re.compile(r"(?:to|into) (?:the )?\{(old_time_of_day)\}"),
        "wrong role: listening moved from the old time of day, not to it",
    ),
    (
        re.compile(r"(?:listen|listened|listens|listening|played|play|plays) (?:to )?" + _TIME),
        "wrong role: the {0} is when, not what you listened to",
    ),
    (
        re.compile(
            r"(?:^| )(?:in|across|during|at|on|over|for|through|of|by) " + _TIME + r"(?! (?:" + _TIME_NOUNS + r")\b)"
        ),
        "grammar: the {0} needs 'the' after its preposition",
    ),
    # a streak is days in a row; a count is not a place to listen
    (re.compile(r"listen(?:ed)? to \{(streak_days)\}"), "grammar: listened to the {0}"),
    # a count or a name with "now" and a colon is no sentence ("9 tracks now: 28 minutes"); a part of
    # the day may be ("late night now: evening before")
    (re.compile(_any(COUNTS + NAMES) + r" now (?:played )?:"), "grammar: the {0} and 'now' with no verb"),
    # one verb cannot carry an amount and a name that leads ("came to 143 minutes and X on top")
    (
        re.compile(r"(?:came to|ran|reached) " + _COUNT + r" and " + _NAME + r" (?:on top|leading|in the lead)\b"),
        "grammar: the {1} on top has no verb",
    ),
    # listening moves from one part of the day to another: "moved:" names them, not an artist or an amount
    (
        re.compile(r"\bmoved : (?!(?:the )?\{(?:old|new)_time_of_day\})"),
        "grammar: 'moved:' with no parts of the day after it",
    ),
    # the artist reaches the count; the listener does not reach the artist ("you reached X with 10 plays")
    (
        re.compile(
            r"\byou (?:have |'ve )?(?:just )?"
            r"(?:reached (?:the )?\{(artist|top_artist|track)\}|hit (?:the )?\{(artist|top_artist)\})"
        ),
        "wrong role: the {0} reached the count, not the listener the {0}",
    ),
    # a name is no modifier: "your first The Broken Foxes track"
    (re.compile(r"\b(?:find|discovery|track) : \{(new_artists_7d)\}"), "wrong role: the {0} is a count, not the find"),
    # since a date, a count has reached it ("since November 2, X has reached 10 plays")
    (
        re.compile(r"\bsince (?:the )?\{first_played\}(?: ,)? (?:the )?\{artist\} (?:reached|hit|got to|made it to)\b"),
        "grammar: since the first play, the artist has reached the count",
    ),
    # a share is of the listening, not a level it was brought to
    (
        re.compile(r"(?:brings|brought|takes|took|raises|raised|lifts|lifted) (?:your |the )?(?:\w+ )?to \{(share)\}"),
        "wrong role: the {0} is a part of the listening, not a level",
    ),
    # "settled in the evening, before the afternoon" reads as the clock's order
    (
        re.compile(r"(?<!where )(?<!when )\bbefore (?:the )?\{(old_time_of_day)\}(?! (?:led|held|had|did|was|took)\b)"),
        "wrong role: 'before the {0}' reads as a time of day earlier than the new one",
    ),
    # the top artist led; "X in your session" says only that it was there
    (
        re.compile(r"(?<!led by )\{(top_artist)\} in (?:your|this) (?!top\b|lead\b)"),
        "wrong role: the {0} said only to be there, not to have led",
    ),
    (re.compile(r"\band (?:the )?\{(top_artist)\} most played\b"), "grammar: the {0} most played has no verb"),
    (re.compile(r", and you pressed play \.$"), "dull: 'and you pressed play' says nothing"),
    # a duration is pressed play *for*; a session wraps, it does not wrap its minutes
    (re.compile(r"\bpressed play (?:in )?\{(minutes)\}"), "grammar: pressed play for the {0}, not 'pressed play {0}'"),
    (re.compile(r"\bwrapped \{(minutes)\}"), "grammar: a session wraps, it does not wrap the {0}"),
    (re.compile(r"\bin front of (?:you|it|(?:the )?\{\w+\})"), "grammar: 'in front of' says where, not what led"),
    (re.compile(r"\b(?:holds?|held) the front of\b"), "grammar: 'holds the front of' is no English"),
    (re.compile(r"\bby far\b"), "unsupported: 'by far' compares"),
    (re.compile(r"\b(?:you're|you are) on the clock\b"), "grammar: 'on the clock' is the minutes', not the listener's"),
    # a shift is told in the past ("moved from the morning to the evening") or the present, not both
    (
        re.compile(
            r"(?<!has )(?<!have )(?<!'s )\b(?:moved|shifted) (?:the clock )?from (?:the )?\{old_time_of_day\} "
            r"to (?:the )?\{new_time_of_day\} now\b"
        ),
        "grammar: 'moved' and 'now' in one clause",
    ),
    # "where it used to be the evening": "it" is the new part of the day, which was not the old one
    (
        re.compile(r"^the \{new_time_of_day\}[^.]*\bwhere it (?:used to|once) (?:be|hold|held|led|lead)\b"),
        "grammar: 'it' points at the new part of the day, not at what led before",
    ),
    # "now, the evening before" reads as the previous evening
    (
        re.compile(r"now , the \{(old_time_of_day)\} before \."),
        "wrong role: 'the {0} before' reads as the day before",
    ),
    (re.compile(r"\bweek (?:was|is) \{(week_of)\}"), "wrong role: the {0} is when the week started, not the week"),
    (re.compile(r"\blistened \{(new_artists)\}"), "grammar: listened to the {0}, not 'listened {0}'"),
    (re.compile(r"\{(skips)\} (?:played|done)\b"), "wrong role: the {0} were passed over, not played"),
    # a clause of an amount and a name on top needs a verb ("164 minutes and X up front")
    (
        re.compile(
            r"(?:\{minutes\}|\{plays\}) (?:, )?and (?:the )?\{(top_artist)\} "
            r"(?:up front|at the front|reached the mark|most played)\b"
        ),
        "grammar: the {0} on top has no verb",
    ),
    # greeting the artist makes "your" the artist's ("Welcome, X: your first play was Y")
    (
        re.compile(r"\b(?:welcome(?: ,)?|hello(?: ,)?(?: to)?) (?:the )?\{artist\}(?: ,)? : your\b"),
        "grammar: after greeting the artist, 'your' is the artist's",
    ),
    # a streak said as its days alone is a caption
    (
        re.compile(r"^\{(streak_days)\} (?:in a row|straight|running) \.$"),
        "dull: the {0} alone, nothing said about them",
    ),
    # a first play is a track; the greeting is to the listener, not a list
    (re.compile(r"\byour first play : (?:the )?\{(artist)\}"), "grammar: a first play is a track, not the {0}"),
    (re.compile(r"^(?:welcome|hello) , (?:your|new to you :)"), "grammar: a greeting with no one greeted"),
    (re.compile(r"\bstreak (?:holds|goes :?) \{(streak_days)\}"), "grammar: a streak reaches its {0}"),
    (
        re.compile(r"\b(?:listening|music) (?:moved|moves|moving) (?:your listening|the clock)\b"),
        "grammar: the listening moved, not moved itself",
    ),
    (
        re.compile(r"\{(?:minutes|tracks|plays)\}[^.]*, and you kept going \.$"),
        "unsupported: 'kept going' after the session ended",
    ),
    # a sentence that stops where its next fact should be ("which came to 21 minutes over.")
    (re.compile(r"\} (?:over|in short) \.$"), "grammar: the sentence stops where a fact should follow"),
    (re.compile(r"\{(play_count)\} for the first time\b"), "wrong role: the {0} is a count, not a first"),
    (re.compile(r"\bin a row , one after another\b"), "dull: 'one after another' repeats 'in a row'"),
    (
        re.compile(r"^(?:a (?:listening )?streak of|music over) \{(streak_days)\} (?:in a row|running) \.$"),
        "dull: the {0} alone, as a caption",
    ),
    # plays are of the artist ("10 plays of music", "50 plays of your milestones")
    (
        re.compile(r"\{(play_count)\} of (?:music|songs|plays?|your|listening)\b(?! by \{artist\})"),
        "grammar: a play count is of the artist, not of music or of the listener's things",
    ),
    # the week's count of new artists includes this one; it did not arrive with them
    (
        re.compile(r"\b(?:came|arrived|joined)\b[^.]* with \{(new_artists_7d)\}"),
        "wrong role: the week's count of new artists includes this one; it did not come with them",
    ),
    (re.compile(r"(?<!plays )\bon \{(genre|top_genre)\}"), "wrong role: 'on the {0}' reads as a track or a place"),
    # the share is the new part of the day's, not what moved
    (
        re.compile(r"\{(share)\} of your (?:listening|plays|music) (?:moved|shifted)\b|\bshifted to it now\b"),
        "wrong role: the {0} is the new part of the day's, not the part that moved",
    ),
    (
        re.compile(r"\bkept coming back to \{(minutes|tracks|plays)\}"),
        "wrong role: the listener comes back to an artist, not to the {0}",
    ),
    # a count in brackets is the sheet's line pasted in; a genre in brackets is fine
    (re.compile(r"\( \{(new_artists_7d|new_artists|play_count|streak_days)\} \)"), "leak: the {0} pasted in brackets"),
    (
        re.compile(r"\{(skips|tracks|plays|minutes)\} (?:tracks|plays|minutes|skips)\b"),
        "grammar: the {0} followed by a second unit",
    ),
    (
        re.compile(r", the \{(old_time_of_day)\} (?:held|had|led|did)(?: it)? before\b"),
        "grammar: two sentences joined by a comma ('..., the {0} held it before')",
    ),
    (
        re.compile(r"\{new_time_of_day\} listening now , the \{old_time_of_day\} listening before\b"),
        "grammar: two parts of the day with no verb between them",
    ),
    # "every day for 3 days" needs a verb for what happened each day
    (
        re.compile(r"^every day (?:for \{streak_days\} , well done|with \{streak_days\})\b"),
        "grammar: 'every day' with nothing done on those days",
    ),
    (
        re.compile(r"\b(?:in a row|each|\{streak_days\}) ,? (?:each )?one by one\b"),
        "grammar: 'one by one' after the days adds nothing",
    ),
    (re.compile(r"\{(minutes)\} in the mix\b"), "wrong role: the {0} are the session's length, not part of a mix"),
    (re.compile(r"\bin a running of\b"), "grammar: 'in a running of' is no English"),
    (
        re.compile(r"\{(play_count|streak_days|minutes)\} in a mix of\b"),
        "wrong role: the {0} are not part of a mix",
    ),
    (re.compile(r"\bheld the most played\b"), "grammar: the top artist was most played, it held nothing"),
    (re.compile(r"\bon the front\b"), "grammar: 'on the front' is no English; say 'in front'"),
    (re.compile(r"\( [^)]*\.$"), "leak: a bracket never closed"),
    (re.compile(r"\{artist\} is a new \{(genre)\} (?:in|on|to)\b"), "wrong role: the artist is not a {0}"),
    (re.compile(r", (?:each one|that one) \.$"), "grammar: 'each one' left hanging at the end"),
    # "Welcome X, to your listening": the comma leaves the greeting without its place
    (re.compile(r"^(?:welcome (?:the )?\{artist\}|hello) , to\b"), "grammar: a greeting split from its 'to'"),
    (re.compile(r"\bnew to you , and counting\b"), "grammar: a discovery is not counted"),
    # "covers 63% of your plays, where the evening did before" repeats the verb, and with it the share
    (
        re.compile(r"\{share\}[^.;]* where (?:the )?\{(old_time_of_day)\} did before\b"),
        "wrong role: 'did before' gives the {0} the new part of the day's share",
    ),
    (re.compile(r"\bcovers \{(share)\} ,"), "grammar: the {0} of nothing"),
    (re.compile(r"\{(play_count)\} , (?:with )?\{track\} \.$"), "grammar: the track after the {0} has no role"),
    (
        re.compile(r"\{(minutes)\} of music , with \{top_artist\} \.$"),
        "wrong role: the week's {0} beside an artist given no role",
    ),
    (re.compile(r"; \{top_artist\} the most played\b"), "grammar: the most played, with no verb"),
    (re.compile(r"\{top_artist\} over (?:the )?\{(top_genre)\}"), "wrong role: the {0} was played, not beaten"),
    (
        re.compile(r"^you gave your \{time_of_day\} session of \{minutes\} \.$"),
        "grammar: 'you gave' with nothing given",
    ),
    (re.compile(r"^play by play for\b"), "grammar: 'play by play for' the days is no English"),
    (re.compile(r"\bweek\b[^.]*\bin your week \.$"), "grammar: the week said twice"),
    (re.compile(r"\bused to be (?:the )?\{old_time_of_day\} before\b"), "grammar: 'used to' and 'before' at once"),
    (
        re.compile(r"\bback in your day\b|\bin your day (?:\.|, at \{share\} of it\b)"),
        "grammar: 'in your day' at the end reads as 'back in your day'",
    ),
    (re.compile(r"\{(share)\} of it in the mix\b"), "wrong role: the {0} is of your plays, not 'in the mix'"),
    (re.compile(r", the mark \.$"), "grammar: 'the mark' tacked on"),
    # "listed" says where a name is listed ("listed under {genre}"), never alone
    (re.compile(_NAME + r" listed [.,;]"), "grammar: the {0} listed, with nothing it is listed under"),
    # The session's or week's length is neither one artist's nor the session's start.
    (
        re.compile(r": (?:the )?\{top_artist\} , with \{(minutes)\}"),
        "wrong role: the session's or week's {0} beside the top artist, as if they were the artist's",
    ),
    (
        re.compile(r"\{(minutes)\} starts? your\b"),
        "wrong role: the {0} are the session's or week's length, not its start",
    ),
    (
        re.compile(r"\byour rotation holds \{(play_count)\}"),
        "wrong role: the {0} are the artist's, not your rotation's",
    ),
    (re.compile(r"\{(share)\} of (?:the )?hours\b"), "wrong role: the {0} is of your plays, not of the hours"),
    # a count is not on top ("1 new artist up front"); the top artist is
    (
        re.compile(r"\{(" + "|".join(n for n in COUNTS if n != "streak_days") + r")\} up front\b"),
        "wrong role: the {0} are not on top; the top artist is",
    ),
    (
        re.compile(r"^(?:leading your week(?: was)?|up front) : \{(minutes)\}"),
        "wrong role: the {0} lead nothing; the top artist does",
    ),
    (
        re.compile(r"\{top_artist\} as your (?:\{top_genre\}|top genre)(?! \w)"),
        "wrong role: the top artist is not the top genre",
    ),
    (re.compile(r"\byou kept to (?:the )?\{top_artist\}"), "wrong role: the most played is not the only one played"),
    (
        re.compile(r"^\{top_artist\} was your week(?! 's)\b"),
        "wrong role: the top artist was the most played, not the week",
    ),
    # a shift is in the listener's listening: not the clock's time, and the new part of the day is not the old
    (
        re.compile(r"\bthe clock 's (?:shifting|moving|moved)\b"),
        "wrong role: the shift reads as the time of day, not your listening",
    ),
    (
        re.compile(r"^it used to be the \{old_time_of_day\} , now it 's\b"),
        "grammar: two sentences joined by a comma ('it used to be …, now it's …')",
    ),
    (
        re.compile(r"^before , the \{old_time_of_day\} , it was (?:the )?\{(new_time_of_day)\}"),
        "wrong role: the {0} said as the one before",
    ),
    # two facts with no word between them
    (
        re.compile(r"(?<!given )(?<!gave )" + _any(_NOUNS) + " " + _any(_NOUNS)),
        "grammar: {0} and {1} with nothing between them",
    ),
)

# A discovery's artist is new to the listener, found by way of its track: not returned to, not the first
# of the week's new artists (no fact orders them), and it reaches no count.
DISCOVERY_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bcame back to (?:the )?\{artist\}"),
        "wrong role: the artist is new to you, not one you came back to",
    ),
    (
        re.compile(r"(?:^|[.!?;] )(?:you )?start(?:ed|ing)(?: your listening)? with (?:the )?\{artist\}"),
        "unsupported: no fact says the artist came first",
    ),
    (re.compile(r"\bnow you're (?:at|done with) \{track\}"), "wrong role: the track is your way in to the artist"),
    (
        re.compile(r"\b(?:count has now reached|you've reached) \{(new_artists_7d)\}"),
        "wrong role: the {0} is a count of the last seven days, not a total reached",
    ),
    (
        re.compile(r"\bmoved to \{(new_artists_7d)\}"),
        "wrong role: the {0} is a count, not a place your listening moved to",
    ),
    (
        re.compile(r"\{artist\} (?:\( \{genre\} \) )?reached the (?:count|mark)\b"),
        "unsupported: a new artist reaches no count",
    ),
    (re.compile(r"\{artist\} up front\b"), "wrong role: the new artist is not said to be on top"),
)

# A name as a modifier ("your first {artist} track"): fine for "Silver Machines", broken for "The Broken
# Foxes" ("your first The Broken Foxes track"). A frame may be filled with either, so it is refused; a
# story only when its name starts with "the" (``said``).
_MODIFIER = re.compile(r"\b(?:your|a|an) (?:new |first |latest )+(?:the )?\{(artist|top_artist|track)\} \w")
_MODIFIER_SAID = re.compile(r"\b(?:your|a|an) (?:new |first |latest )+the \w")

# The phrases that say a streak is a streak, or a shift's old part of the day is the old one.
# "each day", "and counting" and "going strong" are not among them: editors refused every streak that
# had only those ("Each day with music: 3 days.", "3 days and going strong.").
STREAK_MARKERS = re.compile(
    r"\b(?:in a row|streak|straight|running|consecutive|unbroken|without a|without missing|every day"
    r"|one after another|day after day|back to back|daily|chain|kept going|keep going)\b"
)
OLD_MARKERS = re.compile(
    r"\b(?:from|before|used to|usual|not|instead|away|rather|gave way|no longer|once)\b"
    r"|\{old_time_of_day\} (?:to|into) "
)


# The words of a caption: a story made of these and its facts only lists them ("{play_count} of {artist}.",
# "{minutes} of music: {tracks}.", "{new_time_of_day} now: {old_time_of_day}."). Words that relate one
# fact to another ("18 tracks across 47 minutes", "led by") are not among them.
FILLER = frozenset(
    ". , : ; - ( ) ! and or of in the a an your this that now music listening listen week session plays play".split()
)


def lists_its_facts(skeleton: str) -> bool:
    """The story is its facts strung together with filler words: true, but not worth publishing. A fact
    said to the listener as theirs ("your {play_count} of {artist}") is a story, not a list."""
    words = skeleton.split()
    if not any(w.startswith("{") for w in words):
        return False
    to_listener = any(w == "your" and nxt.startswith("{") for w, nxt in itertools.pairwise(words))
    return not to_listener and all(w.startswith("{") or w in FILLER for w in words)


def problems(skeleton: str, kind: str, said: str = "") -> list[str]:
    """Why the facts of ``skeleton`` are not in their roles, or do not read as a sentence. ``said`` is
    the story as written, lower-cased, where a value may carry its role ("3 straight days")."""
    out: list[str] = []
    for pattern, why in RULES + (DISCOVERY_RULES if kind == "DISCOVERY" else ()):
        m = pattern.search(skeleton)
        if m:
            out.append(why.format(*[g.replace("_", " ") for g in m.groups() if g]))
    modifier = _MODIFIER.search(skeleton)
    if modifier and (not said or _MODIFIER_SAID.search(said)):
        out.append(f"grammar: the {modifier.group(1).replace('_', ' ')} used as a modifier")
    sentences = re.split(r"(?<=[.!?]) ", skeleton)
    if "{time_of_day}" in skeleton and not re.search(
        r"(?:\b(?:the|your|a|an) \{time_of_day\}|\{time_of_day\} (?:" + _TIME_NOUNS + r")\b)",
        skeleton,
    ):
        out.append("grammar: the time of day said with neither 'the' nor what it is the time of")
    if kind == "STREAK" and "{streak_days}" in skeleton and not STREAK_MARKERS.search(skeleton + " " + said):
        out.append("wrong role: the streak's days are not said to be in a row")
    if kind == "MILESTONE" and re.search(r"\bfirst (?:play|played)\b", skeleton) and "{first_played}" not in skeleton:
        out.append("wrong role: a milestone's first play is on the first-play date, not now")
    for sentence in sentences:
        if "{old_time_of_day}" in sentence and not OLD_MARKERS.search(sentence):
            out.append("wrong role: the old part of the day is not said as the one before")
    if lists_its_facts(skeleton):
        out.append("dull: lists its facts, with nothing said about them")
    return list(dict.fromkeys(out))


def skeleton_of_frame(frame: str) -> str:
    """A slot frame as the gate's skeleton: lower-case tokens, ``{slot}`` kept, punctuation apart."""
    marked = re.sub(r"\{(\w+)\}", lambda m: f" qqslot{m.group(1).replace('_', 'qq')} ", frame)
    out = []
    for t in tokenize(normalize(marked)):
        low = t.low
        out.append("{" + low[len("qqslot") :].replace("qq", "_") + "}" if low.startswith("qqslot") else low)
    return " ".join(out)


__all__ = ["DISCOVERY_RULES", "RULES", "lists_its_facts", "problems", "skeleton_of_frame"]
