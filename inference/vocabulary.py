"""Word lists the grounding checker reads claims with: numbers, units, dates, times of day,
superlatives, sentence openers, and the things a small model likes to invent."""

from __future__ import annotations

import re

# --- vocabularies -------------------------------------------------------------------------------

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINALS = {
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "thirtieth": 30, "fortieth": 40,
    "fiftieth": 50, "hundredth": 100, "thousandth": 1000,
}  # fmt: skip
_UNITS = {
    **dict.fromkeys(("second", "seconds", "sec", "secs"), "second"),
    **dict.fromkeys(("minute", "minutes", "min", "mins"), "minute"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), "hour"),
    **dict.fromkeys(("day", "days"), "day"),
    **dict.fromkeys(("week", "weeks"), "week"),
    **dict.fromkeys(("month", "months"), "month"),
    **dict.fromkeys(("year", "years"), "year"),
    **dict.fromkeys(("track", "tracks", "song", "songs", "tune", "tunes", "cuts"), "track"),
    **dict.fromkeys(("play", "plays", "listen", "listens", "spin", "spins", "stream", "streams", "times"), "play"),
    **dict.fromkeys(("artist", "artists", "band", "bands", "act", "acts", "voices", "names"), "artist"),
    **dict.fromkeys(("skip", "skips"), "skip"),
    **dict.fromkeys(("session", "sessions"), "session"),
    **dict.fromkeys(("genre", "genres", "styles"), "genre"),
    **dict.fromkeys(("album", "albums", "records"), "album"),
    **dict.fromkeys(("percent", "per cent", "%"), "percent"),
}
_MINUTES = {"second": 1 / 60, "minute": 1.0, "hour": 60.0, "day": 1440.0, "week": 10080.0, "month": 43200.0,
            "year": 525600.0}  # fmt: skip
_FILLERS = {"straight", "full", "different", "new", "whole", "unique", "more", "consecutive", "long", "solid",
            "total", "fresh", "great", "good", "of", "brand", "-"}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip
_TIMES_OF_DAY = ("late night", "late-night", "early morning", "morning", "afternoon", "evening", "night", "midnight",
                 "dawn", "noon", "overnight", "daytime", "nighttime", "night-time")  # fmt: skip
_SUPERLATIVES = ("most", "top", "favorite", "favourite", "favorites", "favourites", "biggest", "longest", "best",
                 "highest", "greatest", "all-time", "record-breaking", "number one", "#1")  # fmt: skip
# Capitalised words that start sentences or stand alone without naming anything.
_STOP = set(
    """a an the and but or so yet for nor of in on at to by with from into over after before since until while
    during through across around about above below between under again once then now here there this that these
    those it its it's your you you're you've yours we our us i i'm i've me my he she they them their what which who
    whom whose when where why how all any both each every few more most other some such no not only own same
    than too very just also still even ever really well wow oh hey yes congrats congratulations welcome keep
    look looks seems time today tonight yesterday tomorrow another new fresh nice great good what's that's
    session sessions music listening streak week weekly day days night morning evening afternoon late early
    discovery milestone track tracks play plays song songs artist artists genre genres album albums
    playlist liner notes note story here's there's let's enjoy enjoyed enjoying thanks thank happy hope
    wrapped wrap check one first next last total overall quite""".split()
)
# Things a small model likes to invent around an artist; a story may mention them only if a fact does.
_INVENTIONS = {
    "album": "ALBUM", "albums": "ALBUM", "record label": "TEXT", "release": "ALBUM", "latest release": "ALBUM",
    "new release": "ALBUM", "single": "TRACK", "hit song": "TRACK", "hit single": "TRACK", "debut": "ALBUM",
    "ep": "ALBUM", "lp": "ALBUM", "tour": "TEXT", "concert": "TEXT", "gig": "TEXT", "venue": "TEXT", "festival": "TEXT",
    "lead singer": "TEXT", "frontman": "TEXT", "frontwoman": "TEXT", "grammy": "TEXT", "award": "TEXT",
    "chart": "TEXT", "charts": "TEXT", "remix": "TRACK", "cover": "TRACK", "b-side": "TRACK",
}  # fmt: skip
_COMMON_GENRE_WORDS = {"son", "mass", "noise", "minimal", "swing", "house", "country", "soul", "progressive", "juke",
                       "humor", "comedy", "orchestra", "industrial", "funky", "jungle", "trap", "breaks", "lowercase",
                       "soundtrack", "baggy", "opera", "symphony", "requiem", "ballet", "concerto", "sonata",
                       "cantata", "oratorio", "organum", "isolationism", "asian", "african", "brazilian",
                       "egyptian", "dub", "glitch", "boogie", "leftfield", "stand-up", "hardcore",
                       "classical", "orchestral", "symphonic", "electronic", "idm"}  # fmt: skip

_ENTITY_TYPES = ("ARTIST", "TRACK", "GENRE", "ALBUM", "TEXT", "DATE", "TIME_OF_DAY")
_NUMERIC_TYPES = ("NUMBER", "DURATION", "STREAK")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|#1|\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?%?|%")  # text is normalize()d
