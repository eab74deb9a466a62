"""The red-flag signs: one table, read by :mod:`bot.safety.engine`.

How to add a sign
-----------------
1. Add one row to :data:`SIGNS` (a sign found in one clause: a name, a :class:`Kind` and
   its patterns) or to :data:`COMBINATIONS` (a sign made of parts that must all be found,
   like fever + stiff neck + headache). A new name also gets a constant below and a place
   in :data:`SIGN_ORDER`.
2. Add one row to the table of tests in ``tests/bot/safety/test_signs.py``
   (``RED_FLAGS``, and a benign look-alike in ``BENIGN``), then check that
   ``bot eval triage tests/data/triage.jsonl`` still reports a recall of 1.0.

Patterns are plain :mod:`re` over normalised text (:mod:`bot.safety.normalise`): lower
case, no apostrophes (``cant``, ``hes``), single spaces, no punctuation. A pattern never
needs ``\\s`` or ``.``: one word gap is ``(?: \\w+)``. Negation, hypotheticals and time are
handled by the engine (:mod:`bot.safety.context`), not in the patterns. A named group
``gap...`` marks the words between the parts of a match in which a negation still counts
("face *is not* drooping"); without one, with ``inside=True``, the whole match is checked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "COMBINATIONS",
    "SIGNS",
    "SIGN_ORDER",
    "Combination",
    "Kind",
    "Lasting",
    "Onset",
    "Part",
    "Sign",
    "Words",
]

# ----------------------------------------------------------------------------- row types


class Kind(enum.Enum):
    """How time bears on a sign found in one clause."""

    #: Acute by nature (a face droop, slurred speech): an emergency unless its clause is
    #: past or chronic.
    ACUTE = "acute"
    #: Only alarming when new (one-sided numbness, double vision): an emergency when its
    #: clause, its message or, in a conversation, a recent message gives an onset.
    WHEN_NEW = "when_new"
    #: Thoughts of suicide or self-harm: never discounted as past, chronic or
    #: hypothetical; a false alarm costs little, a miss a great deal.
    SELF_HARM = "self_harm"


@dataclass(frozen=True)
class Sign:
    """A sign found in one clause.

    Attributes:
        name: The sign's machine name, one of the constants below.
        kind: How time bears on it.
        patterns: Regular expressions, each searched on its own.
        inside: Whether a negation between the parts of a match negates it too ("face
            *is not* drooping"); False where the sign's own words are negations ("no
            strength", "cant walk").
    """

    name: str
    kind: Kind
    patterns: tuple[str, ...]
    inside: bool = True


@dataclass(frozen=True)
class Words:
    """A part of a combined sign: a pattern, not negated and not hypothetical.

    Attributes:
        pattern: The regular expression.
        inside: As for :class:`Sign`.
        live: Whether a past or chronic clause is ignored ("a bad back for years" still
            counts with a new loss of bladder control when False).
        within: A pattern the clause must also contain ("weaker" with "legs").
    """

    pattern: str
    inside: bool = True
    live: bool = True
    within: str | None = None


@dataclass(frozen=True)
class Onset:
    """A part of a combined sign: an onset word, negated only by a cue right before it.

    Attributes:
        pattern: The regular expression ("suddenly", "like a bolt").
        live: Whether a past or chronic clause is ignored.
    """

    pattern: str
    live: bool = True


@dataclass(frozen=True)
class Lasting:
    """A part of a combined sign: a duration of at least ``minutes`` in a live clause.

    Attributes:
        minutes: The shortest duration that counts.
    """

    minutes: int


Part = Words | Onset | Lasting


@dataclass(frozen=True)
class Combination:
    """A sign made of parts that must all be found.

    Attributes:
        name: The sign's machine name.
        needs: Each need is met by any one of its parts; every need must be met.
        same_sentence: Whether all needs must be met within one sentence (else anywhere
            in the message).
    """

    name: str
    needs: tuple[tuple[Part, ...], ...]
    same_sentence: bool = False


# ---------------------------------------------------------------------------- sign names

FACE_DROOP = "face_droop"
ONE_SIDED_WEAKNESS = "one_sided_weakness"
SPEECH_DIFFICULTY = "speech_difficulty"
VISION_LOSS = "vision_loss"
DOUBLE_VISION = "double_vision"
THUNDERCLAP_HEADACHE = "thunderclap_headache"
PROLONGED_SEIZURE = "prolonged_seizure"
UNRESPONSIVE = "unresponsive"
HEAD_INJURY = "head_injury"
MENINGITIS_SIGNS = "meningitis_signs"
SPREADING_WEAKNESS = "spreading_weakness"
CAUDA_EQUINA = "cauda_equina"
SUDDEN_CONFUSION = "sudden_confusion"
CANNOT_WALK = "cannot_walk"
COLLAPSE = "collapse"
SUSPECTED_STROKE = "suspected_stroke"
EXPLICIT_EMERGENCY = "explicit_emergency"
SUDDEN_ONSET = "sudden_onset"
SUICIDAL_THOUGHTS = "suicidal_thoughts"
SELF_INJURY = "self_injury"
OVERDOSE = "overdose"

#: The order signs are reported in.
SIGN_ORDER = (
    SUICIDAL_THOUGHTS,
    SELF_INJURY,
    OVERDOSE,
    EXPLICIT_EMERGENCY,
    SUSPECTED_STROKE,
    FACE_DROOP,
    ONE_SIDED_WEAKNESS,
    SPEECH_DIFFICULTY,
    VISION_LOSS,
    DOUBLE_VISION,
    THUNDERCLAP_HEADACHE,
    PROLONGED_SEIZURE,
    UNRESPONSIVE,
    HEAD_INJURY,
    MENINGITIS_SIGNS,
    SPREADING_WEAKNESS,
    CAUDA_EQUINA,
    SUDDEN_CONFUSION,
    CANNOT_WALK,
    COLLAPSE,
    SUDDEN_ONSET,
)

# ----------------------------------------------------------------------- shared wording

_SIDE = r"(?:left|right|lft|rigth|one|1)"
_BODY = (
    rf"(?:{_SIDE} (?:side|arm|leg|hand|foot|half|face|cheek)|"
    rf"(?:my|his|her|their|the|one|your) (?:{_SIDE} )?(?:whole )?(?:arm|leg|hand|face|side)|"
    r"half (?:of )?(?:my |his |her |the )?(?:body|face)|one side|"
    r"side of (?:my|his|her|the) (?:body|face))"
)
_WEAK = (
    r"(?:weak|weakness|weaker|weakened|numb|numbness|paraly[sz]\w*|heavy|heaviness|limp|"
    r"floppy|dead|useless|lifeless|no strength|"
    r"(?:no|lost|losing|lost all|lost the|loss of) (?:strength|feeling|sensation|power|"
    r"movement|control|use)|(?:cant|couldnt|unable to|not able to|wont) "
    r"(?:move|lift|raise|feel|use|grip|hold|control))"
)
_DROOP = (
    r"(?:dro+p\w*|sag\w*|lopsided|crooked|uneven|twisted|slant\w*|skew\w*|"
    r"(?:fallen|fell|hanging|gone|slipped) down|(?:not|isnt|wont|doesnt|cant) mov\w*)"
)
_FACE = (
    r"(?:face|facial|mouth|lip|lips|smile|cheek|side of (?:my|his|her|the) face|"
    r"corner of (?:my|his|her|the) mouth)"
)
_HEADACHE = r"(?:headache|head pain|pain in (?:my|the|his|her) head|migraine)"
_SEVERE = (
    r"(?:severe|intense|excruciating|agoni[sz]ing|terrible|horrible|horrendous|blinding|"
    r"splitting|massive|crushing|extreme|unbearable|violent|awful|huge|explosive|worst|"
    r"really bad|very bad|so bad|incredible|insane|crazy|enormous|shocking)"
)
_THUNDER_ONSET = (
    r"\bsuddenly\b|\bsudden\b|\ball of a sudden\b|\bout of (?:nowhere|the blue)\b|"
    r"\b(?:in|within) (?:a few |a couple of |a |one )?seconds?\b|\bin a second\b|"
    r"\binstant\w*|\ball at once\b|\blike a (?:bolt|light switch|switch|thunder\w*)\b|"
    r"\bwithin (?:a |one )minute\b|\bwithout (?:any )?warning\b|\babrupt\w*"
)
_STROKE = (
    r"(?:stroke|tia|mini stroke|ministroke|brain (?:bleed|haemorrhage|hemorrhage|attack)|"
    r"bleed (?:on|in) the brain|transient isch(?:a)?emic attack)"
)
# "not responding to treatment" is about a drug; "not responding to me" is about a person.
_NOT_TO_A_DRUG = (
    r"(?! to (?!(?:me|us|him|her|them|my|his|our|their|anyone|anything|voices?|touch|pain|"
    r"name|questions|calls?|shouting|shaking|people)\b))"
)
_PERSON = (
    r"(?:he|she|they|it|baby|child|son|daughter|husband|wife|dad|mum|mom|father|mother|"
    r"grandma|grandpa|grandad|grandmother|grandfather|nan|partner|friend|brother|sister|"
    r"boyfriend|girlfriend|patient|man|woman)"
)


# ------------------------------------------------------------------- one-clause signs

#: Signs found in one clause, self-harm last.
SIGNS: tuple[Sign, ...] = (
    Sign(
        CANNOT_WALK,
        Kind.ACUTE,
        (r"\b(?:cant|couldnt|unable to) (?:stand|walk|get up)(?: up)? at all\b",),
        inside=False,
    ),
    Sign(
        EXPLICIT_EMERGENCY,
        Kind.ACUTE,
        (
            r"\b(?:need|needs|call|calling|called|get|send|phone|ring) (?:for )?(?:an |the )?"
            r"ambulance\b|\b(?:this|it) is an emergency\b|\bits an emergency\b|"
            r"\bmedical emergency\b",
        ),
        inside=False,
    ),
    Sign(
        PROLONGED_SEIZURE,
        Kind.WHEN_NEW,
        (
            r"\b(?:first|1st) (?:\w+ ){0,2}?(?:seizure|fit|convulsion)\b|"
            r"\b(?:seizure|fit|convulsion) for the (?:very )?first time\b",
        ),
    ),
    Sign(
        SUSPECTED_STROKE,
        Kind.ACUTE,
        (
            rf"\b(?:having|think(?:ing)? (?:\w+ ){{0,4}}?(?:having|had|has|is having)|"
            rf"(?:im|i am) (?:\w+ )?(?:having))(?: \w+)? (?:a |an )?(?:small |mini |minor |"
            rf"another |massive |big |second )?{_STROKE}\b",
        ),
    ),
    Sign(
        SUSPECTED_STROKE,
        Kind.WHEN_NEW,
        (
            rf"\b(?:had|has|suffered|suffering|just had)(?: \w+)? (?:a |an )?(?:small |mini |"
            rf"minor |another |massive |big |second )?{_STROKE}\b",
        ),
    ),
    Sign(
        FACE_DROOP,
        Kind.ACUTE,
        (
            rf"\b{_FACE}\b(?P<gap>(?: \w+){{0,4}}?) {_DROOP}",
            rf"\b(?:droo+p\w*|sag\w*|lopsided|crooked|uneven|twisted|slant\w*|skew\w*)"
            rf"(?P<gap>(?: \w+){{0,2}}?) {_FACE}\b",
            r"\bfacial (?:droop\w*|palsy|paralysis|weakness)\b",
            r"\b(?:cant|couldnt|unable to) (?:smile|close (?:his|her|my|one|their) eye)\b",
        ),
    ),
    Sign(
        ONE_SIDED_WEAKNESS,
        Kind.WHEN_NEW,
        (
            rf"\b{_BODY}\b(?P<gap>(?: \w+){{0,5}}?) {_WEAK}\b",
            rf"\b{_WEAK}(?P<gap>(?: \w+){{0,4}}?) {_BODY}\b",
            r"\bhemiplegi\w*|\bhemipares\w*",
        ),
    ),
    Sign(
        SPEECH_DIFFICULTY,
        Kind.ACUTE,
        (
            r"\bslur+(?:e?d|ing|s|y|red|ring)?\b",
            r"\b(?:garbled|jumbled|gibberish|incoherent)\b",
            r"\btalking (?:nonsense|rubbish|funny|weird|strange|drunk|gibberish)\b",
            r"\b(?:speech|speaking|talking|voice|words)\b(?P<gap>(?: \w+){0,3}?) "
            r"(?:slur\w*|weird|strange|funny|odd|wrong|off|gone|garbled|messed up|mumbled|unclear|"
            r"not right|isnt right|thick|drunk|jumbled|mixed up|muddled|backwards)\b",
            r"\b(?:lost|losing|loss of|lose) (?:my |his |her |the |their )?(?:speech|ability to "
            r"(?:speak|talk))\b",
            r"\b(?:mixing|mixed|muddling|muddled) up (?:my |his |her |their )?words\b",
        ),
    ),
    Sign(
        SPEECH_DIFFICULTY,
        Kind.WHEN_NEW,
        (
            r"\b(?:cant|couldnt|unable to|not able to|struggling to|struggle to|trouble|difficulty|"
            r"hard to|wont|cant really|barely) (?:speak|speaking|talk|talking|get (?:my |the |his |"
            r"her )?words out|say (?:a|any) words?|form words|make sense)\b(?! (?:to|with|about|"
            r"english|french|spanish|german|in public)\b)",
            r"\b(?:cant|couldnt|unable to|not able to|struggling to|struggle to|trouble|difficulty|"
            r"hard to) (?:find|get|remember|think of|finding|getting) (?:the |my |his |her )?"
            r"(?:right )?words?\b",
            r"\b(?:aphasia|dysphasia|dysarthria)\b",
        ),
        inside=False,
    ),
    Sign(
        VISION_LOSS,
        Kind.WHEN_NEW,
        (
            r"\b(?:lost|losing|lose|loss of|gone) (?P<gap>(?:\w+ ){0,2}?)(?:vision|sight|"
            r"eyesight)\b",
            r"\b(?:vision|sight|eyesight)\b(?P<gap>(?: \w+){0,3}?) (?:gone|went|go|goes|going|"
            r"turned|is|has|was) (?:\w+ )?(?:black|dark|dim|blank|grey|gray|out|off|white)\b",
            r"\b(?:went|gone|go|going|am|is|was) blind\b|\bblind in (?:one|my|the|his|her|left|"
            r"right)\b",
            r"\b(?:black|dark|grey|gray) (?:curtain|shade|shadow)\b|\bcurtain (?:came|coming|come|"
            r"fell|falling|over|across|down)\b",
            r"\bhalf (?:of )?(?:my |his |her |the )?(?:vision|visual field|sight)\b",
        ),
    ),
    Sign(
        VISION_LOSS,
        Kind.WHEN_NEW,
        (
            r"\b(?:cant|couldnt|unable to|not able to) see (?:out of|from|with|through|anything|"
            r"properly|clearly|at all|a thing|on (?:the|my|his|her) (?:left|right))\b",
        ),
        inside=False,
    ),
    Sign(
        DOUBLE_VISION,
        Kind.WHEN_NEW,
        (
            r"\b(?:double|doubled) (?:vision|sight|images?)\b",
            r"\bseeing (?:double|two of (?:everything|things)|2 of (?:everything|things)|"
            r"everything twice)\b|\bsee double\b|\bdiplopia\b|\beverything (?:looks|is|appears) "
            r"(?:double|doubled)\b",
        ),
    ),
    Sign(
        THUNDERCLAP_HEADACHE,
        Kind.ACUTE,
        (
            rf"\b(?:worst|most \w+|biggest|strongest|hardest) (?:\w+ ){{0,2}}?{_HEADACHE}"
            r"(?: \w+){0,4}? (?:(?:of|in) (?:my|his|her|their) (?:\w+ )?life|ever|imaginable|"
            r"possible)\b",
            rf"\bworst ever {_HEADACHE}\b",
            r"\bhead\w*(?: \w+){0,6}? worst pain\b|\bworst pain(?: \w+){0,8}? head\b",
            rf"\bnever (?:had|felt|experienced|known) (?:\w+ ){{0,3}}?{_HEADACHE}(?: \w+){{0,2}}? "
            rf"(?:like (?:this|it)|this (?:bad|severe|painful|intense)|so (?:bad|severe)|as bad)\b",
            r"\bthunder ?clap\b",
            rf"\b(?:{_HEADACHE}|head)\b(?: \w+){{0,6}}? like (?:\w+ ){{0,3}}?(?:hit|struck|kicked|"
            r"smacked|whacked|punched|shot|hammer\w*|bat|bomb|explo\w*|lightning|thunder|bolt|"
            r"gunshot|bullet|axe|brick)\b",
            r"\blike (?:being|been|getting|i was|i got|i had been|someone|something|a) (?:\w+"
            r" ){0,3}?"
            r"(?:hit|struck|kicked|smacked|whacked|punched|shot)\b(?: \w+){0,5}? (?:head|skull)\b",
            r"\b(?:head|skull|brain)\b(?: \w+){0,4}? explod\w*|\bexplo\w*(?: \w+){0,3}? (?:head|"
            r"skull|brain)\b",
        ),
        inside=False,
    ),
    Sign(
        UNRESPONSIVE,
        Kind.ACUTE,
        (
            r"\b(?:unconscious|unresponsive|unrousable|unarousable)\b",
            r"\bout cold\b",
        ),
    ),
    Sign(
        UNRESPONSIVE,
        Kind.ACUTE,
        (
            rf"\bnot (?:responding|responsive|waking|rousable|conscious|"
            rf"breathing)\b{_NOT_TO_A_DRUG}",
            r"\b(?:cant|couldnt|unable to) (?:wake|rouse|arouse) (?:him|her|them|my|up my|the)\b",
            rf"\b{_PERSON}\b(?: \w+){{0,4}}? (?:wont|isnt|doesnt|hasnt|cant|couldnt|cant be|"
            r"cannot be|still hasnt|still isnt|is still not|has not) (?:\w+ )?(?:wake|waking|"
            rf"woken|respond|responding|come round|coming round|come to|come"
            rf" around)\b{_NOT_TO_A_DRUG}",
            r"\b(?:stopped|isnt|no longer) breathing\b",
            r"\bpassed out and (?:\w+ ){0,2}?(?:wont|isnt|hasnt|not|cant|still)\b",
        ),
        inside=False,
    ),
    Sign(
        SUDDEN_CONFUSION,
        Kind.WHEN_NEW,
        (
            r"\b(?:confused|confusion|disorient\w*|muddled|bewildered|delirious|delirium)\b(?! "
            r"(?:about|by|with|as to|whether|why|what|how|if|on|regarding|over|between|at|when)\b)",
        ),
    ),
    Sign(
        SUDDEN_CONFUSION,
        Kind.WHEN_NEW,
        (
            r"\b(?:doesnt|dont|didnt) (?:know|recogni[sz]e) (?:where (?:he|she|they|i) (?:is|am|"
            r"are|was|were)|me|us|his|her|my|their|anyone|who|what day|what year)\b",
            r"\b(?:not|isnt|arent|wasnt|werent) making (?:any )?sense\b|\bmaking no sense\b",
        ),
        inside=False,
    ),
    Sign(
        CANNOT_WALK,
        Kind.WHEN_NEW,
        (
            r"\b(?:cant|couldnt|unable to|not able to|can no longer|could no longer|can barely|"
            r"couldnt even) (?:walk|stand|stand up|bear weight|put weight|get up (?:off|from) the "
            r"floor)\b(?! (?:the|it|this|that|him|her|them|being|people|my|when|how|noise|"
            r"light)\b)",
            r"\blegs? (?:\w+ ){0,2}?(?:gave way|gave out|give way|giving way|collapsed|buckled|"
            r"went from under|stopped working|wont (?:work|hold))\b",
        ),
        inside=False,
    ),
    Sign(
        COLLAPSE,
        Kind.ACUTE,
        (
            rf"\b(?:{_PERSON}|i|just|suddenly)\b(?P<gap>(?: \w+){{0,2}}?) collaps\w*\b"
            r"(?! (?:on|onto|into|in) (?:the |my |a )?(?:sofa|couch|bed|chair|armchair)\b"
            r"| (?:laughing|with laughter|in (?:fits of )?(?:laughter|giggles))\b)",
        ),
    ),
    # Self-harm: never discounted as past, chronic or hypothetical.
    Sign(
        SUICIDAL_THOUGHTS,
        Kind.SELF_HARM,
        (
            r"\bsui?c[iy]?d(?:e|es|al|el|ality|ial)\b",
            r"\b(?:kill|killing|kil|end|ending|take|taking|took) (?:myself|my own life|my life)\b"
            r"(?! (?:laughing|with laughter|at (?:the )?(?:gym|work)|working|over|trying|to|"
            r"back)\b)",
            r"\bkms\b|\bunalive\w*",
            r"\b(?:want|wanted|wanting|wish|wished|like|ready|plan|planning|longing) (?:\w+ ){0,2}?"
            r"(?:to )?die\b",
            r"\bwish (?:i was|i were|id|i could be|to be|i had) (?:dead|never been born)\b",
            r"\bbetter off (?:dead|without me)\b|\b(?:easier|happier) (?:off )?without me\b",
            r"\bend(?:ing)? it all\b|\bend everything\b",
        ),
    ),
    Sign(
        SUICIDAL_THOUGHTS,
        Kind.SELF_HARM,
        (
            r"\b(?:dont|didnt|do not) want to (?:live|be alive|be here any ?more|go on|exist|wake"
            r" up)"
            r"\b",
            r"\b(?:no|not any|isnt a|dont see a|cant see a|cant see any) (?:reason|point) (?:in |"
            r"to )?"
            r"(?:living|live|going on|being alive|carry on|carrying on)\b",
            r"\b(?:life|living) (?:is |isnt |is not |is no longer |aint )?(?:not )?worth "
            r"(?:living|it anymore|it any more)\b|\bnot worth living\b",
        ),
        inside=False,
    ),
    Sign(
        SUICIDAL_THOUGHTS,
        Kind.SELF_HARM,
        (
            r"\bbetter off (?:\w+ ){0,2}?without me\b",
            r"\b(?:feel like|thinking (?:of|about)|want to|going to|ready to|might|about to) "
            r"(?:just )?end(?:ing)? it\b(?! (?:with|between)\b)",
            r"\b(?:whats|what is) the point (?:of|in) (?:living|life|going on|being alive|"
            r"carrying on)\b",
            r"\b(?:go to sleep|fall asleep|sleep|close my eyes) and (?:never|not) wake (?:up)?\b",
            r"\bcant (?:go on|carry on) (?:like this|any ?more)\b(?! with\b)",
            r"\bwant (?:it|this|everything|the pain)(?: all)? to (?:stop|end) for good\b",
            r"\b(?:written|wrote|writing|write|left) (?:\w+ ){0,2}?(?:goodbye|suicide|farewell) "
            r"(?:letters?|notes?|messages?)\b",
        ),
        inside=False,
    ),
    Sign(
        SUICIDAL_THOUGHTS,
        Kind.SELF_HARM,
        (
            r"\b(?:want|wanted|wish|wishing) to disappear (?:forever|for good|and never come"
            r" back)\b",
            r"\b(?:no one|nobody|noone) would (?:care|notice|miss me) if i (?:was|were|am) gone\b",
            r"\b(?:might|going to|will|could|want to|scared i (?:will|might|could)) do something "
            r"(?:stupid |bad )?to myself\b",
        ),
        inside=False,
    ),
    Sign(
        SELF_INJURY,
        Kind.SELF_HARM,
        (
            r"\bself ?harm\w*|\bself ?injur\w*|\bharm(?:ing)? myself\b",
            r"\b(?:want|wanted|urge|urges|tempted|thinking|thoughts|thought|think|going to|plan|"
            r"like|keep|kept|been|started|start|might|will|could|cant stop|should|need to|feel "
            r"like) (?:\w+ ){0,3}?(?:hurt|hurting|cut|cutting|burn|burning|punish|punishing|"
            r"starve|starving) myself\b",
            r"\b(?:hurt|cut|burn|burnt|burned) myself (?:on purpose|deliberately|intentionally)\b",
        ),
    ),
    Sign(
        OVERDOSE,
        Kind.SELF_HARM,
        (
            r"\b(?:want|going to|thinking|thought|thoughts|plan|planning|tempted|urge|might|will) "
            r"(?:\w+ ){0,3}?(?:overdos\w*|od)\b",
            r"\b(?:take|taking|took|swallow|swallowed|swallowing|taken) (?:all|every one|the whole|"
            r"a whole|the rest|loads|lots|handfuls?|a handful) (?:of )?(?:my |the |these |those |"
            r"his |her )?(?:pills|tablets|meds|medication|medicine|bottle|packet|box)\b",
            r"\b(?:saved|saving|stockpiled|stockpiling|hoarded|hoarding|collected|collecting) "
            r"(?:up )?(?:\w+ )?(?:pills|tablets|meds|medication|painkillers)\b|"
            r"\b(?:pills|tablets|meds|painkillers) (?:saved|stockpiled|hoarded) up\b",
            r"\b(?:took|taken|take|taking|just took|swallowed) (?:an |a )?(?:deliberate )?"
            r"(?:overdose|od)\b(?!(?: \w+){0,4} (?:by mistake|by accident|accidentally)\b)",
        ),
    ),
)


# ------------------------------------------------------------------------ combined signs

# Parts of the combined signs.
_SEIZURE = (
    r"\bseizures?\b|\bseizing\b|\bconvuls\w*|\bstatus epilepticus\b|\bepileptic fit\b|"
    r"\b(?:a|the|another|this|his|her|having|had|in a|big|bad|tonic clonic) fits?\b|"
    r"\bfits? (?:for|over|since|that|which)\b|\b(?:still|been|is|keeps?|was) fitting\b|"
    r"\bfitting (?:for|since|now|non ?stop|again|still)\b|\b(?:shaking|jerking)\b"
)
_SEIZURE_GOES_ON = (
    r"\b(?:wont|doesnt|isnt|not|hasnt|havent|didnt|wouldnt|never) (?:\w+ )?(?:stop|stopping|"
    r"stopped|end|ending|ended|ease|settle|settling)\b|"
    r"\b(?:still|keeps?|keep on|kept|continu\w*|constant\w*|non ?stop|nonstop|ongoing|been going|"
    r"going on)(?: \w+){0,2}? (?:seiz\w*|fitting|fits?|convuls\w*|shaking|jerking|going|"
    r"happening|having (?:them|seizures|fits))\b|"
    r"\bone after (?:another|the other|the next)\b|\bback to back\b|\bin a row\b|"
    # a seizure happening now: "is having a seizure", "hes seizing right now"
    r"\b(?:is|are|am|hes|shes|theyre|im) (?:having|in the middle of) (?:a|an) "
    r"(?:seizure|fit|convulsion)\b|\b(?:is|are|hes|shes) (?:seizing|fitting|convulsing)\b|"
    r"\bcluster\w*|\bstatus epilepticus\b|"
    r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|another|\d+|two|three|four|several|"
    r"multiple|many) (?:seizures?|fits?) (?:today|tonight|in (?:an|the last|one|\d+|a few) "
    r"(?:hour|hours)|this (?:morning|afternoon|evening)|without|before)\b"
)
_NOT_WAKING = (
    r"\b(?:not|hasnt|hadnt|isnt|wont|cant|couldnt|didnt|doesnt|havent|never|still not) "
    r"(?:\w+ ){0,2}?(?:woken|woke|wake|waking|come round|came round|coming round|come to|"
    r"came to|come around|regained|responding|respond)\b"
)
_HEAD_TRAUMA = (
    r"\b(?:hit|hits|hitting|banged|bang|bumped|bump|smacked|smashed|struck|knocked|whacked|"
    r"cracked|injured|hurt|slammed) (?:\w+ ){0,2}?(?:head|skull)\b|"
    r"\b(?:hit|struck|punched|kicked|knocked|whacked|smacked) (?:\w+ ){0,3}?(?:on|in|to) "
    r"(?:the|his|her|my|their) head\b|"
    r"\bhead (?:injury|injuries|trauma|knock|bump|wound|first)\b|"
    r"\b(?:car|road|traffic|bike|motorbike|motorcycle|cycling|skiing) (?:accident|crash|"
    r"collision)\b|"
    r"\bblow (?:to|on) (?:the|his|her|my|their) head\b|\bconcuss\w*|"
    r"\bfell (?:\w+ ){0,3}?(?:on|onto) (?:his|her|my|their|the) head\b|"
    r"\bhead (?:hit|hitting|struck|smashed|slammed|banged)\b|"
    r"\b(?:i|he|she|they|we|got|get|gets|was|were|been|being) (?:\w+ )?knocked "
    r"(?:out|unconscious)\b"
)
_HEAD_COMPANION = (
    r"\bdrows\w*|\bsleepy\b|\bsleepiness\b|\bcant (?:stay|keep (?:his |her |my )?eyes) "
    r"(?:awake|open)\b|\bhard to (?:keep|stay) awake\b|\bkeeps? (?:falling|nodding) "
    r"(?:asleep|off)\b|\bvomm?it\w*|\bthrow\w* up\b|\bthrew up\b|\bpuk\w*|"
    r"\b(?:being|been|was|is) sick\b|\bsick (?:twice|again|several|three|\d+)\b|"
    r"\bconfus(?:ed|ion)\b(?! (?:about|by|with|as to|whether)\b)|\bdisorient\w*|"
    r"\bnot making sense\b|\b(?:doesnt|dont) know where\b|\bunconscious\b|"
    r"\bknocked (?:out|unconscious)\b|\bpassed out\b|\bblacked out\b|\bblack out\b|"
    r"\b(?:lost|losing|loss of) consciousness\b|\bout cold\b|\bfainted\b|\bseizures?\b|"
    r"\bfit\b|\bslurr?\w*|\bdazed\b|\bgroggy\b|\bwont wake\b"
)
_FEVER = (
    r"\bfever\w*|\bhigh (?:temperature|temp)\b|\b(?:a|running a|got a|has a|have a) "
    r"(?:temperature|temp)\b|\b(?:temperature|temp) of\b|\bburning up\b|"
    r"\b(?:3[89]|40)(?: \d)? ?(?:c|degrees)\b|\b10[0-4](?: \d)? ?(?:f|degrees)\b|"
    r"\bhot and shiver\w*|\bchills\b|\brigors\b|\bfeel\w* (?:very |really |so )?(?:hot|feverish)\b"
)
_STIFF_NECK = (
    r"\bstiff\w* (?:\w+ )?neck\b|\bneck\b(?P<gap>(?: \w+){0,3}?) stiff\w*|\bneck stiffness\b|"
    r"\b(?:cant|unable to|hurts to|painful to) (?:bend|move|turn|touch|lower|tilt|put) "
    r"(?:\w+ ){0,3}?(?:neck|chin|head) (?:forward|down|to (?:my|his|her|the) chest)\b|"
    r"\bchin to (?:my|his|her|the) chest\b"
)
# With fever and a stiff neck: a headache, a rash or light hurting the eyes.
_MENINGITIS_THIRD = (
    rf"\b{_HEADACHE}\b|\bhead (?:hurts|is pounding|pounding|is killing|is splitting|pain)\b|"
    r"\brash\b|\b(?:purple|red|dark) (?:spots|blotches|marks|dots)\b|\bphotophobi\w*|"
    r"\blight (?:\w+ )?(?:hurts|hurting|bothers|painful)\b|"
    r"\b(?:cant|couldnt) (?:stand|bear|look at) (?:the |bright )?lights?\b"
)
_SEVERE_HEADACHE = (
    rf"\b{_SEVERE}(?: \w+){{0,2}}? {_HEADACHE}\b|\b{_HEADACHE}\b(?: \w+){{0,3}}? {_SEVERE}\b"
)
_LIMB_WEAKNESS = (
    # Not tingling or numbness: with breathlessness they are as often a panic attack.
    r"\b(?:weak|weakness|weaker|weakened|paraly[sz]\w*|floppy|heavy|"
    r"(?:cant|couldnt) (?:walk|stand|lift|move))\b"
)
_SPREADING = (
    r"\b(?:legs?|arms?|limbs?|body|feet|foot|hands?|face|thighs?|knees?|spread\w*|moving up|"
    r"moved up|creep\w*|climb\w*|ascend\w*|getting worse|worse|progress\w*|weaker)\b"
)
_BREATH_SWALLOW = (
    r"\b(?:trouble|difficulty|difficulties|problems?|struggl\w*|hard|harder|hard time|cant|"
    r"couldnt|unable to|not able to|can barely|barely|labou?red) (?:\w+ ){0,2}?(?:breath\w*|"
    r"swallow\w*)\b|\bshort(?:ness)? of breath\b|\bbreathless\w*|\bchoking\b|"
    r"\bcant catch (?:my|his|her) breath\b"
)
_BACK = (
    r"\bback ?pain\b|\bbackache\b|\bback ache\b|\bback (?:\w+ )?(?:hurts|hurting|pain|"
    r"problems?|injury|is agony|agony|spasm)\b|\blower back\b|\blumbar\b|\bsciatica\b|"
    r"\b(?:slipped|herniated|bulging|prolapsed) disc\b|\bdisc (?:prolapse|bulge|herniation)\b|"
    r"\bbad back\b|\b(?:my|his|her) back\b"
)
_CONTINENCE = (
    r"\b(?:lost|losing|loss of|lose|no|cant|couldnt) (?:\w+ ){0,2}?control (?:of|over) "
    r"(?:my |his |her |the )?(?:bladder|bowels?|pee|wee|urine|toilet)\b|"
    r"\b(?:cant|couldnt|unable to|not able to) control (?:my |his |her )?(?:bladder|bowels?|"
    r"pee|wee|urine)\b|\b(?:bladder|bowel|urinary|faecal|fecal) (?:incontinence|accidents?)\b|"
    r"\bincontinen\w*|\b(?:wet|peed|pissed|weed|soiled|pooed|pooped|messed) (?:myself|himself|"
    r"herself|themselves|my pants|my trousers|the bed|his pants|her pants)\b|"
    r"\b(?:cant|couldnt|unable to|not able to) (?:pee|wee|urinate|pass urine|empty (?:my|his|"
    r"her) bladder)\b|\bhavent (?:peed|weed|urinated|passed urine)\b|\burinary retention\b"
)
_LEGS_GONE = (
    r"\b(?:cant|couldnt|unable to|not able to) (?:feel|move|lift) (?:\w+ ){0,2}?legs?\b|"
    r"\blegs? (?:went|gone|have gone|are|is|going) (?:numb|dead|limp|floppy)\b"
)
_SADDLE_AREA = (
    r"(?:groin|genitals?|bottom|buttocks?|bum|butt|between (?:my|his|her) legs|inner thighs?|"
    r"private parts?|privates|back passage|anus|perineum|saddle(?: area)?|crotch)"
)
_SADDLE = (
    r"\bsaddle\b(?P<gap1>(?: \w+){0,2}?) (?:numb\w*|anaesthesia|anesthesia|tingl\w*)\b|"
    rf"\bnumb\w*(?P<gap2>(?: \w+){{0,4}}?) {_SADDLE_AREA}\b|"
    rf"\b{_SADDLE_AREA}\b(?P<gap3>(?: \w+){{0,3}}?) (?:numb\w*|no feeling|tingl\w*)\b|"
    r"\bcant feel (?:\w+ ){0,3}?(?:groin|genitals?|bottom|bum|private|toilet paper|"
    r"when i wipe|wiping)\b"
)


#: Signs made of parts.
COMBINATIONS: tuple[Combination, ...] = (
    # A seizure that goes on, comes in a cluster, or after which the person does not wake.
    Combination(
        PROLONGED_SEIZURE,
        ((Words(_SEIZURE),), (Lasting(5), Words(_SEIZURE_GOES_ON, inside=False))),
        same_sentence=True,
    ),
    Combination(
        UNRESPONSIVE,
        ((Words(_SEIZURE),), (Words(_NOT_WAKING, inside=False),)),
        same_sentence=True,
    ),
    Combination(
        HEAD_INJURY,
        ((Words(_HEAD_TRAUMA),), (Words(_HEAD_COMPANION, inside=False),)),
    ),
    # Fever and a stiff neck with a headache, a rash or light hurting the eyes.
    Combination(
        MENINGITIS_SIGNS,
        ((Words(_MENINGITIS_THIRD),), (Words(_FEVER),), (Words(_STIFF_NECK),)),
    ),
    Combination(
        SPREADING_WEAKNESS,
        (
            (Words(_LIMB_WEAKNESS, within=_SPREADING),),
            (Words(_BREATH_SWALLOW, inside=False),),
        ),
    ),
    # Back trouble of any age, or legs gone, with new loss of bladder control or saddle
    # numbness.
    Combination(
        CAUDA_EQUINA,
        (
            (Words(_BACK, live=False), Words(_LEGS_GONE, inside=False)),
            (Words(_CONTINENCE, inside=False), Words(_SADDLE)),
        ),
    ),
    # A severe headache that came on suddenly, in the same sentence.
    Combination(
        THUNDERCLAP_HEADACHE,
        ((Words(_SEVERE_HEADACHE),), (Onset(_THUNDER_ONSET, live=False),)),
        same_sentence=True,
    ),
)
