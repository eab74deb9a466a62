"""Personal details out of patients' text before the review queue stores or shows it.

Seven kinds are redacted, each found by one row of :data:`FINDERS`:

* **phone numbers**: Google's libphonenumber (the ``phonenumbers`` package) finds numbers
  written in the ways of several countries (:data:`PHONE_REGIONS`, and any number
  starting with ``+``); a match needs at least 7 digits, so doses, blood pressures,
  ages and years are left alone;
* **e-mail addresses**: a pattern of the address syntax, and addresses spelled out to
  dodge filters ("anna dot k at example dot com", "anna(at)example(dot)com");
* **identity numbers**: one row of :data:`ID_NUMBERS` per kind (Taiwan's national ID,
  a US social security number, a UK NHS number, a Chinese resident ID, a number after
  "ID", "passport", "MRN", "身分證" ...); ``python-stdnum`` checks the digits where the
  shape alone is also a phone number's;
* **postal addresses**: a house number and a street ("221B Baker Street", "1600
  Pennsylvania Ave NW") with its town and postcode, a UK postcode, a Taiwanese or Chinese
  address down to the house number (路/街 ... 號), and what follows "I live at" or
  "地址" when it holds a number;
* **dates of birth**: any full date (day, month and year, in figures or with the month's
  name), and a year or date after a birth cue ("born in 1984", "DOB: 1984-03-02"). A month
  and year ("since March 2021") is onset, which a doctor needs, and is kept;
* **names**: the places where patients write a name (:data:`NAME_CUES`): after an
  introduction ("my name is", "I'm Anna,", "I am John Smith from ...", "我叫王小明"), a
  title (Mr, Dr ...), a relative ("my son Tom"), "the patient is", before "here" ("John
  Smith here"), a closing ("Thanks, Anna"), and the values of a button payload
  (``/feedback{"record_id": "John Smith"}``). A capitalised word elsewhere is not taken
  for a name, and where the cue is weak ("I am ...", "我是 ...") the words must look like
  a name: a known given name (:data:`GIVEN_NAMES`), or two capitalised words none of
  which is an eponym or a medical word, or a Chinese surname (:data:`CHINESE_SURNAMES`)
  and one or two characters. Eponyms (Parkinson, Bell's palsy, Guillain-Barré) stay
  readable.

No library found names or addresses reliably here: Presidio and scrubadub need a spaCy
or NLTK model that cannot be downloaded at run time (spaCy's models are not on PyPI),
``pyap`` misses "Ave NW" and has had no release since 2020, and ``usaddress`` labels a
string already known to be an address. Redaction errs towards hiding: a doctor reading
"[name]" loses little.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum.gb import nhs
from stdnum.us import ssn

#: What a redacted span becomes, by kind.
PLACEHOLDERS = {
    "phone": "[phone]",
    "email": "[email]",
    "id": "[id number]",
    "address": "[address]",
    "birth_date": "[date of birth]",
    "name": "[name]",
}
#: Countries whose national number formats are recognised without a ``+`` prefix.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "TW")
#: Fewer digits than this are not a phone number (a dose, an age, a year).
MIN_PHONE_DIGITS = 7


@dataclass(frozen=True)
class Span:
    """One personal detail found in a text.

    Attributes:
        kind: One of :data:`PLACEHOLDERS`.
        start: Offset of its first character.
        end: Offset after its last character.
    """

    kind: str
    start: int
    end: int


# A run of digits with the separators phone numbers are written with; a run of
# MIN_PHONE_DIGITS or more digits is what a phone finder must look at.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]{0,3}\d){" + str(MIN_PHONE_DIGITS - 1) + ",}")


def find_phones(text: str) -> Iterator[Span]:
    """Phone numbers, national formats of :data:`PHONE_REGIONS` or international.

    The regions are tried in turn until every run of :data:`MIN_PHONE_DIGITS` or more
    digits is covered (one or two passes for most texts, not six).
    """
    runs = [m.span() for m in _DIGIT_RUN.finditer(text)]
    if not runs:
        return
    found: list[Span] = []
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            if sum(c.isdigit() for c in match.raw_string) >= MIN_PHONE_DIGITS:
                found.append(Span("phone", match.start, match.end))
        if all(any(f.start <= a and b <= f.end for f in found) for a, b in runs):
            break
    yield from found


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


# Spelled out: "anna dot k at example dot com", "anna(at)example(dot)com", "anna [at] x.org".
_SPELLED_AT = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s*@\s*)"
_SPELLED_DOT = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\.)"
_TOP_DOMAINS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|me|app|co|uk|us|ca|au|nz|ie|in|tw|cn|hk|jp|kr|"
    "sg|my|de|fr|nl|be|ch|at|es|pt|it|se|no|dk|fi|pl|ru|br|mx"
)
_SPELLED_EMAIL = re.compile(
    rf"\b[a-z0-9_%+-]+(?:{_SPELLED_DOT}[a-z0-9_%+-]+)*{_SPELLED_AT}"
    rf"[a-z0-9-]+(?:{_SPELLED_DOT}[a-z0-9-]+)*{_SPELLED_DOT}(?:{_TOP_DOMAINS})\b",
    re.IGNORECASE,
)
_SPELLED_WORD = re.compile(r"[(\[{<]\s*(?:at|dot)\s*[)\]}>]|\s(?:at|dot)\s", re.IGNORECASE)


def find_emails(text: str) -> Iterator[Span]:
    """E-mail addresses, written or spelled out."""
    for match in _EMAIL.finditer(text):
        yield Span("email", match.start(), match.end())
    for match in _SPELLED_EMAIL.finditer(text):
        if _SPELLED_WORD.search(match.group()):
            yield Span("email", match.start(), match.end())


@dataclass(frozen=True)
class IdNumber:
    """One kind of identity number.

    Attributes:
        name: What it is, for people reading the table.
        pattern: Where it may be written.
        is_valid: Whether a match is one (its check digits), where the shape alone is
            also a phone number's; ``None`` takes every match.
    """

    name: str
    pattern: re.Pattern[str]
    is_valid: Callable[[str], bool] | None = None


#: One row per kind of identity number; a match becomes ``[id number]``.
ID_NUMBERS = (
    IdNumber(
        "Taiwan national ID or resident certificate (A123456789, AC12345678)",
        re.compile(r"(?<![A-Za-z0-9])[A-Z](?:[1289]\d|[A-D]\d)\d{7}(?![A-Za-z0-9])", re.I),
    ),
    IdNumber("US social security number (123-45-6789)", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    IdNumber(
        "US social security number without dashes, if its groups are valid",
        re.compile(r"(?<![\d-])\d{3} ?\d{2} ?\d{4}(?![\d-])"),
        ssn.is_valid,
    ),
    IdNumber(
        "UK NHS number (943 476 5919, written with spaces), if its check digit is right",
        re.compile(r"(?<![\d-])\d{3} ?\d{3} ?\d{4}(?![\d-])"),
        nhs.is_valid,
    ),
    IdNumber(
        "Chinese resident ID (18 digits, the last may be X)",
        re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])"),
    ),
    IdNumber(
        "a number after an ID cue (ID, passport, MRN, NHS no., 身分證, 病歷號 ...)",
        re.compile(
            r"(?:\b(?:national\s+id|id(?:\s+(?:card|no\.?|number))?|identity\s+(?:card|number)|"
            r"passport(?:\s+(?:no\.?|number))?|mrn|medical\s+record\s+(?:no\.?|number)|"
            r"hospital\s+(?:no\.?|number)|nhs\s+(?:no\.?|number)|ssn|social\s+security"
            r"(?:\s+(?:no\.?|number))?|insurance\s+(?:no\.?|number))\b|"
            r"身[分份]證(?:字號|號碼?)?|身份证(?:号码?)?|病[歷历]號|病[历歷]号|健保卡號?|護照號碼?|"
            r"护照号码?)\s*(?:is|:|：|#|是|为|為)?\s*"
            r"(?P<number>[A-Z]{0,3}[\s-]?\d[\d\s-]{3,}\d[A-Z]?)",
            re.I,
        ),
    ),
)


def find_id_numbers(text: str) -> Iterator[Span]:
    """Identity numbers, one row of :data:`ID_NUMBERS` per kind."""
    for row in ID_NUMBERS:
        for match in row.pattern.finditer(text):
            group = "number" if "number" in row.pattern.groupindex else 0
            if row.is_valid is None or row.is_valid(match.group(group)):
                yield Span("id", match.start(group), match.end(group))


_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Boulevard|Blvd|Court|Ct|Way|Place|Pl|"
    "Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq|Gardens|Mews|Alley|Row"
)
_UK_POSTCODE = r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b"
_STREET_ADDRESS = re.compile(
    # 221B Baker Street / 1600 Pennsylvania Ave NW / flat 3, 12 Elm Road
    rf"\b\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?,?\s+(?:[A-Z][a-z]+\.?\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat|Fl)\.?\s*#?\w+)?"
    # , London NW1 6XE / , Washington, DC 20500 / , Springfield IL 62704
    rf"(?:,?\s*(?:[A-Z][a-z]+\s?){{1,3}}(?=,|\s+[A-Z]{{2}}\b|\s*{_UK_POSTCODE}))?"
    rf"(?:,?\s*[A-Z]{{2}},?\s+\d{{5}}(?:-\d{{4}})?\b|,?\s*{_UK_POSTCODE})?"
)
# Typed in lower case: a number, one or two words, and a street word spelled out.
_LOWER_STREET = re.compile(
    r"\b\d{1,5}[a-z]?\s+(?!(?:the|a|an|my|of|to|on|in|at|down|up|times?|days?|weeks?|"
    r"months?|years?|hours?|minutes?|mg|ml|km|miles?|blocks?)\b)[a-z]+(?:\s+[a-z]+)?\s+"
    r"(?:street|avenue|road|lane|boulevard|drive)\b",
    re.IGNORECASE,
)
_POSTCODE = re.compile(_UK_POSTCODE)
# 台北市中正區重慶南路一段122號5樓 / 上海市浦东新区世纪大道100号
_CHINESE_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fff]{1,3}[省市縣县])?(?:[\u4e00-\u9fff]{1,3}[區区鄉乡鎮镇市])?"
    r"[\u4e00-\u9fff]{1,5}(?:路|街|大道)(?:[一二三四五六七八九十\d]+段)?"
    r"(?:[\d一二三四五六七八九十]+[巷弄])*[\d一二三四五六七八九十]+(?:之\d+)?[號号]"
    r"(?:[\d一二三四五六七八九十]+[樓楼Ff])?(?:之\d+)?(?:\d+室)?"
)
# I live at 12 elm street / my address is ... / 地址是 ... / 住在 ... (kept when no digit)
_ADDRESS_CUE = re.compile(
    r"(?:\b(?:i\s+live\s+(?:at|on)|my\s+address\s+is|address\s*:|lives?\s+at)\s+|"
    r"(?:地址|住址)\s*(?:是|:|：)?\s*|住在)"
    r"(?P<address>[^.;!?\n。；！？]*?)(?=\s*(?:,?\s+(?:and|but|since|because|with)\b|[.;!?\n。；！？，]|$))",
    re.IGNORECASE,
)


def find_addresses(text: str) -> Iterator[Span]:
    """Postal addresses: streets with a house number, postcodes, Chinese addresses."""
    for pattern in (_STREET_ADDRESS, _LOWER_STREET, _POSTCODE, _CHINESE_ADDRESS):
        for match in pattern.finditer(text):
            yield Span("address", match.start(), match.end())
    for match in _ADDRESS_CUE.finditer(text):
        if any(c.isdigit() for c in match.group("address")):
            yield Span("address", match.start("address"), match.end("address"))


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_FULL_DATE = re.compile(
    "|".join(
        (
            rf"\b{_DAY}[./-](?:1[0-2]|0?[1-9])[./-](?:{_YEAR}|\d{{2}})\b",  # 02/03/1984
            rf"\b(?:1[0-2]|0?[1-9])[./-]{_DAY}[./-]{_YEAR}\b",  # 03/22/1984
            rf"\b{_YEAR}[./-](?:1[0-2]|0?[1-9])[./-]{_DAY}\b",  # 1984-03-02
            rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b",  # 2nd of March 1984
            rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b",  # March 2, 1984
        )
    ),
    re.IGNORECASE,
)
_BIRTH_CUE = re.compile(
    r"\b(?:born|birth(?:day|date)?|d\.?o\.?b\.?|date of birth)\b[\s:,-]*(?:(?:on|in|is|was)\s+)*",
    re.IGNORECASE,
)
_PARTIAL_DATE = re.compile(
    rf"(?:{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+{_DAY}|{_MONTH})?,?\s*{_YEAR}\b|{_DAY}\s+(?:of\s+)?{_MONTH}\b|{_MONTH}\s+{_DAY}\b",
    re.IGNORECASE,
)


def find_birth_dates(text: str) -> Iterator[Span]:
    """Full dates, and a year or date that follows a birth cue."""
    for match in _FULL_DATE.finditer(text):
        yield Span("birth_date", match.start(), match.end())
    for cue in _BIRTH_CUE.finditer(text):
        after = _PARTIAL_DATE.match(text, cue.end())
        if after and after.group().strip():
            yield Span("birth_date", after.start(), after.end())


# A name: one to three capitalised words (Anna, O'Neill, Jean-Luc, van der Berg is cut).
_WORD = r"[A-Z][a-zà-ÿ]*(?:['’-][A-Z]?[a-zà-ÿ]+)*"
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,2}}"
# After "my name is", people type in lower case too: one or two words of letters.
_TYPED_NAME = r"[A-Za-zà-ÿ'’-]+(?:\s+(?!(?:and|i|im|from|but|age|aged)\b)[A-Za-zà-ÿ'’-]+)?"
_RELATIVE = (
    r"(?:son|daughter|husband|wife|partner|mother|mom|mum|father|dad|brother|sister|"
    r"friend|boyfriend|girlfriend|fiancée?|grand(?:mother|father|son|daughter|ma|pa)|"
    r"child|baby|aunt|uncle|cousin|nephew|niece|neighbou?r|colleague|boss)"
)
#: Words that follow the cues without being names (compared in lower case).
_NOT_NAME_WORDS = (
    "i im i'm the a an and but so not very really just also still now today yesterday "
    "worried scared sorry afraid tired sick fine ok okay here there doctor dr has had is "
    "was who which that this it he she they we can could would should will do does did "
    "sir madam mr mrs ms miss please having getting feeling suffering on at in back when "
    "if after before tomorrow later soon taking using trying going being with for of to "
    "from my your his her our their years year old male female age aged about patient "
    "mother father wife husband son daughter new"
)
NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
#: Surnames of eponyms: a word of these (or a possessive of one) is never taken for a name
#: where the cue is weak ("I am Parkinson's patient").
EPONYMS = frozenset(
    """
    addison alzheimer angelman asperger babinski balint barre barré batten becker behcet
    bell bickerstaff broca brown-sequard canavan charcot chiari creutzfeldt crohn cushing
    dandy devic dravet duchenne epley fabry friedreich gaucher gehrig gerstmann graves
    guillain guillain-barre guillain-barré hallpike hashimoto horner huntington jakob
    kawasaki kearns korsakoff krabbe lambert-eaton lennox lewy lhermitte lyme meniere
    menière ménière moyamoya munchausen parkinson raynaud rett reye romberg sjogren sjögren
    sydenham tay-sachs todd tourette uhthoff wallenberg wernicke wilson
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words of illness and treatment that a capitalised pair after a weak cue may hold
#: ("Multiple Sclerosis here", "I am Migraine Sufferer") without being a name.
MEDICAL_WORDS = frozenset(
    """
    multiple sclerosis disease syndrome palsy migraine headache headaches epilepsy seizure
    seizures stroke dementia tremor tremors neuropathy neuralgia vertigo dizziness pain
    chronic acute cluster tension essential restless legs lupus lyme mg ms als
    sufferer survivor patient patients carer caregiver type diabetic diabetes cancer
    tumour tumor injury concussion insomnia anxiety depression adhd autism ocd ptsd
    lyrica keppra gabapentin pregabalin topiramate sumatriptan levodopa botox aspirin
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Given names common among the patients; after a weak cue ("i am john smith", "John
#: Smith here") the first word must be one. Names that are also ordinary or medical words
#: (May, Will, Grace, Bell, Gene, Max) are left out on purpose.
GIVEN_NAMES = frozenset(
    """
    aaron adam adrian ahmed aisha alan albert alex alexander alexandra alice alicia alison
    amanda amber amelia amy ana andrea andrew angela anita ann anna anne annie anthony
    antonio ashley barbara ben benjamin beth brian bruce carl carla carlos carmen carol
    caroline catherine charles charlotte chen chloe chris christina christine christopher
    claire colin craig daniel david deborah dennis diana diane donna doris dorothy douglas
    edward eileen elena elizabeth ellen emily emma eric erin esther eugene evelyn fatima
    fiona frances francis frank gary george gloria gordon greg gregory hannah harold harry
    heather helen henry ian irene isabel isabella jack jacob james jane janet jason jean
    jeff jennifer jenny jeremy jessica jim joan joe john jonathan jose joseph joshua joyce
    juan judith judy julia julie justin karen kate katherine kathleen kathy keith kelly ken
    kenneth kevin kim laura lauren lena leo li linda lisa liz lois louise lucy luis lynn
    maria marie marilyn martha martin mary matthew megan melissa michael michelle mike
    ming mohammed muhammad nancy natalie nathan nicholas nicole noah norma olivia oliver
    pamela patricia paul peter philip rachel ralph raymond rebecca richard robert robin
    roger ronald ruth ryan sam samantha samuel sandra sara sarah scott sean sharon shirley
    sophia sophie stephanie stephen steven susan teresa thomas timothy tom tony tyler
    victoria vincent walter wang wei william xiaoming yan yi ying yuki zhang
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Common Chinese surnames; after 我是 or 本人 a name starts with one.
CHINESE_SURNAMES = frozenset(
    "王李張张劉刘陳陈楊杨黃黄趙赵吳吴周徐孫孙馬马朱胡郭何林高羅罗鄭郑梁謝谢宋唐許许韓韩馮冯鄧邓"
    "曹彭曾蕭萧田董潘袁蔡蔣蒋余于杜葉叶程魏蘇苏呂吕丁任盧卢姚沈鍾钟姜崔譚谭陸陆范汪廖石金韋韦"
    "賈贾夏付方鄒邹熊白孟秦邱侯江尹薛閻阎段雷黎史龍龙陶賀贺顧顾毛郝龔龚邵萬万錢钱嚴严覃武戴莫孔"
    "向湯汤柯賴赖洪翁詹游簡简"
)
#: Words a Chinese surname character starts without being a name (我是高血壓患者).
CHINESE_NOT_NAMES = (
    "高血壓",
    "高血压",
    "高燒",
    "高烧",
    "高齡",
    "高龄",
    "黃疸",
    "黄疸",
    "白內障",
    "白内障",
    "方便",
    "馬上",
    "马上",
    "毛病",
    "金屬",
    "金属",
    "石頭",
    "石头",
    "周圍",
    "周围",
    "周邊",
    "周边",
    "夏天",
    "向來",
    "向来",
    "任何",
    "何時",
    "何时",
    "林口",
)


@dataclass(frozen=True)
class NameCue:
    """One place where patients write a name.

    Attributes:
        pattern: Where; its group ``name`` holds the name's words.
        weak: Whether the words must also look like a name (the cue alone does not say
            so: "I am John Smith" but "I am Parkinson's patient").
    """

    pattern: re.Pattern[str]
    weak: bool = False


#: One row per place where a name is written.
NAME_CUES = (
    # my name is Anna / my name's anna smith / I am called Anna / call me Anna
    NameCue(
        re.compile(
            r"\b(?:my\s+name\s+is|my\s+name's|name's|i\s+am\s+called|i'm\s+called|call\s+me|"
            rf"the\s+patient's\s+name\s+is)\s+(?P<name>{_TYPED_NAME})",
            re.IGNORECASE,
        )
    ),
    # I'm Anna, 34 / I am Anna and ... / this is Anna.
    NameCue(
        re.compile(
            rf"\b(?:[Ii]'m|[Ii]\s+am|[Tt]his\s+is|[Ii]m)\s+(?P<name>{_NAME})"
            r"(?=\s*(?:,|\.|!|\band\b|\d|$))"
        ),
        weak=True,
    ),
    # I am John Smith from Taipei / i am john smith / The patient is Mary Jones
    NameCue(
        re.compile(
            r"\b(?:i\s*am|i['’]m|im|this\s+is|it['’]s|the\s+patient\s+is|patient\s*:|"
            rf"name\s*:)\s+(?P<name>{_TYPED_NAME}(?:\s+{_TYPED_NAME})?)",
            re.IGNORECASE,
        ),
        weak=True,
    ),
    # John Smith here / Anna here,
    NameCue(re.compile(rf"(?:^|(?<=[\s,.!]))(?P<name>{_NAME})\s+here\b"), weak=True),
    # Mr Smith / Dr. Anna Jones / Mrs O'Neill
    NameCue(
        re.compile(
            rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Sister|Nurse)\.?\s+(?P<name>{_NAME})"
        )
    ),
    # my son Tom / my husband, John, ... / my daughter's name is Lily
    NameCue(
        re.compile(
            rf"\b(?i:my|our)\s+(?i:{_RELATIVE})(?:'s\s+(?i:name\s+is))?,?\s+(?P<name>{_NAME})"
        )
    ),
    # Thanks, Anna / Regards,\nJohn Smith / Best wishes - Anna (at the end of the text)
    NameCue(
        re.compile(
            rf"\b(?i:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+wishes|best|"
            rf"cheers|sincerely|yours(?:\s+sincerely|\s+truly)?|love)\s*[,!.:-]?\s*"
            rf"(?P<name>{_NAME})\s*[.!]?\s*$"
        )
    ),
    # a last line that is only a name: "...\nAnna" / "- John Smith"
    NameCue(re.compile(rf"\n\s*[-–—]?\s*(?P<name>{_NAME})\s*[.!]?\s*$")),
    # 我叫王小明 / 名字是王小明 / 叫我小明 / 姓名：王小明
    NameCue(
        re.compile(
            r"(?:我叫|我的名字[是叫]|名字[是叫]|叫我|姓名\s*[:：是]?)\s*"
            r"(?P<name>[\u4e00-\u9fff]{1,3}?(?=[今来來住是的有我在从從，,。.!！\s]|$)|[\u4e00-\u9fff]{2,3})"
        )
    ),
    # 我是王小明 / 本人王小明 (a surname, then one or two characters, then a pause)
    NameCue(
        re.compile(
            r"(?:我是|本人(?:是)?)\s*(?P<name>[\u4e00-\u9fff]{2,3})"
            r"(?=[，,。.!！？?\s、；;：:]|$|今年|來自|来自|住在|從|从)"
        ),
        weak=True,
    ),
)


def _bare(word: str) -> str:
    """A word in lower case without its possessive and trailing punctuation."""
    return re.sub(r"['’]s$", "", word.lower().strip(",.!?;:"))


def _looks_like_name(words: list[str]) -> bool:
    """Whether words after a weak cue are a name rather than an illness or a state."""
    if not words:
        return False
    if all("\u4e00" <= w[0] <= "\u9fff" for w in words):
        name = "".join(words)
        return name[0] in CHINESE_SURNAMES and not name.startswith(CHINESE_NOT_NAMES)
    bare = [_bare(w) for w in words]
    if any(b in EPONYMS or b.split("-")[0] in EPONYMS or b in MEDICAL_WORDS for b in bare):
        return False
    if bare[0] in GIVEN_NAMES:
        return True
    return len(words) >= 2 and all(w[0].isupper() for w in words)


def _name_words(cue: NameCue, match: re.Match[str]) -> list[re.Match[str]]:
    """The words of a cue's match that belong to the name."""
    kept: list[re.Match[str]] = []
    for word in re.finditer(r"\S+", match.group("name")):
        if _bare(word.group()) in NOT_NAMES:
            break
        kept.append(word)
    if cue.weak:
        # After a given name in lower case ("i am john smith"), only a surname follows.
        while len(kept) > 1 and not _looks_like_name([w.group() for w in kept]):
            kept.pop()
        if not _looks_like_name([w.group() for w in kept]):
            return []
        if len(kept) > 2:
            kept = kept[:2]
    return kept


def find_names(text: str) -> Iterator[Span]:
    """Names where patients write them (introductions, titles, relatives, closings)."""
    for cue in NAME_CUES:
        for match in cue.pattern.finditer(text):
            offset = match.start("name")
            kept = _name_words(cue, match)
            if kept:
                yield Span("name", offset + kept[0].start(), offset + kept[-1].end())


# A button payload as Rasa reads it, and the string values inside it.
_PAYLOAD = re.compile(r"/[A-Za-z_][\w-]*(?P<entities>\{[^{}]*\})")
_PAYLOAD_VALUE = re.compile(r':\s*"(?P<value>(?:[^"\\]|\\.)*)"')
_FIELD_NAME = re.compile(rf"(?<![\w-])(?P<name>{_NAME})(?![\w-])")


def find_payload_names(text: str) -> Iterator[Span]:
    """Names inside the values of button payloads (``/intent{"key": "John Smith"}``).

    A value there is a field, not a sentence: capitalised words that look like a name
    (:func:`_looks_like_name`) are taken without a cue. Phone numbers, e-mails and the
    other kinds are found there by their own finders, which read the whole text.
    """
    for payload in _PAYLOAD.finditer(text):
        for value in _PAYLOAD_VALUE.finditer(text, *payload.span("entities")):
            for match in _FIELD_NAME.finditer(text, *value.span("value")):
                words = match.group("name").split()
                if _looks_like_name(words) or (words and _bare(words[0]) in GIVEN_NAMES):
                    yield Span("name", match.start(), match.end())


#: One row per kind of personal detail: adding a kind is a finder and a placeholder.
#: Where two finds start at the same place, the earlier row names the span (a date
#: such as 12.05.1990 also reads as a phone number, an NHS number as a phone number).
FINDERS: tuple[Callable[[str], Iterator[Span]], ...] = (
    find_emails,
    find_id_numbers,
    find_birth_dates,
    find_addresses,
    find_phones,
    find_names,
    find_payload_names,
)


def find(text: str) -> list[Span]:
    """Every personal detail found, sorted, overlapping spans merged (the first kind
    found at a place names the merged span)."""
    found = [(s, rank) for rank, finder in enumerate(FINDERS) for s in finder(text)]
    spans = [s for s, _ in sorted(found, key=lambda f: (f[0].start, f[1], -f[0].end))]
    merged: list[Span] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def redact(text: str) -> str:
    """The text with personal details replaced by placeholders (:data:`PLACEHOLDERS`).

    Args:
        text: What a patient wrote.

    Returns:
        The redacted text; text without personal details comes back unchanged.
    """
    out: list[str] = []
    at = 0
    for span in find(text):
        out.append(text[at : span.start])
        out.append(PLACEHOLDERS[span.kind])
        at = span.end
    out.append(text[at:])
    return "".join(out)
