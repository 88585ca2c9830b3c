"""Generate a synthetic study: N DOCX interview summaries over many cities, plus a register.

    python benchmarks/generate_study.py --n 1000 --seed 1 --out benchmarks/_work/study1000

Every later benchmark runs on what this writes. The transcripts look like the study's
summaries: a two-column metadata table at the top, the interviewee's guide sections as
Heading 1, the guide's questions in bold, answers as paragraphs, bullet lists and one
table. Sentences come from a phrase grammar (existing, planned, negated and wished-for
initiatives, partnerships, challenges, trends) so texts differ and exercise the coder.

The same seed gives byte-identical transcripts and register (the store that `init`
creates is not part of that promise). Each interview draws from its own random stream
(seed and index), so the output does not depend on how many processes write it. The
DOCX parts are written directly (python-docx's default template, trimmed to the styles
used) because building 5,000 documents through python-docx's object model is slow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import posixpath
import random
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.ingest.guides import Guide, default_guides_dir, load_guides
from pipeline.ingest.register import write_register
from pipeline.init_study import init_study
from pipeline.vocabulary import guide_for_category
from pipeline.xlsx_determinism import write_ooxml_zip

CATEGORY_CODES = {"policy_maker": "PM", "practitioner": "PR", "business": "BU",
                  "civil_society": "CS", "international_organization": "IO"}
# Interviewees per category in the study (Table 4): 13, 7, 16, 13, 7 of 56.
CATEGORY_WEIGHTS = {"policy_maker": 13, "practitioner": 7, "business": 16,
                    "civil_society": 13, "international_organization": 7}
# Contacts per interview by outcome, from the study's totals (Table 3: 160 contacted,
# 56 interviewed, 17 declined, 62 without reply, 98 replies).
OTHER_OUTCOMES = {"no_reply": 62 / 56, "declined": 17 / 56, "replied_not_interviewed": 25 / 56}

# Real cities first (name, country, language, code); more are invented when N needs them.
REAL_CITIES = [tuple(line.split("|")) for line in """
Auckland|New Zealand|English|AKL
Buenos Aires|Argentina|Spanish|BUE
Chicago|United States|English|CHI
Kuala Lumpur|Malaysia|English|KUL
Lisbon|Portugal|Portuguese|LIS
Nairobi|Kenya|English|NBO
Rotterdam|Netherlands|Dutch|RTM
São Paulo|Brazil|Portuguese|SAO
Málaga|Spain|Spanish|AGP
Porto|Portugal|Portuguese|OPO
Amsterdam|Netherlands|Dutch|AMS
Madrid|Spain|Spanish|MAD
Barcelona|Spain|Spanish|BCN
Toronto|Canada|English|YTO
Montréal|Canada|French|YMQ
Lyon|France|French|LYS
Marseille|France|French|MRS
Berlin|Germany|German|BER
München|Germany|German|MUC
Köln|Germany|German|CGN
Wien|Austria|German|VIE
Zürich|Switzerland|German|ZRH
Göteborg|Sweden|Swedish|GOT
Malmö|Sweden|Swedish|MMX
Oslo|Norway|Norwegian|OSL
København|Denmark|Danish|CPH
Helsinki|Finland|Finnish|HEL
Dublin|Ireland|English|DUB
Manchester|United Kingdom|English|MAN
Glasgow|United Kingdom|English|GLA
Bogotá|Colombia|Spanish|BOG
Medellín|Colombia|Spanish|MDE
Lima|Peru|Spanish|LIM
Santiago|Chile|Spanish|SCL
Ciudad de México|Mexico|Spanish|MEX
Quito|Ecuador|Spanish|UIO
Montevideo|Uruguay|Spanish|MVD
Rio de Janeiro|Brazil|Portuguese|RIO
Johannesburg|South Africa|English|JNB
Cape Town|South Africa|English|CPT
Kampala|Uganda|English|KLA
Accra|Ghana|English|ACC
Dakar|Senegal|French|DKR
Casablanca|Morocco|French|CAS
Amman|Jordan|English|AMM
Beirut|Lebanon|English|BEY
İstanbul|Türkiye|Turkish|IST
Gaziantep|Türkiye|Turkish|GZT
Athína|Greece|Greek|ATH
Thessaloníki|Greece|Greek|SKG
Milano|Italy|Italian|MIL
Torino|Italy|Italian|TRN
Bangkok|Thailand|English|BKK
Jakarta|Indonesia|English|JKT
Manila|Philippines|English|MNL
Melbourne|Australia|English|MEL
Sydney|Australia|English|SYD
Vancouver|Canada|English|YVR
Los Angeles|United States|English|LAX
Houston|United States|English|HOU
""".strip().splitlines()]
INVENTED_COUNTRIES = [("Norland", "English"), ("Esteria", "Spanish"), ("Lusania", "Portuguese"),
                      ("Valdoria", "French"), ("Ostmark", "German"), ("Meridia", "English")]
SYLLABLES = ["ka", "lo", "ma", "ri", "sa", "ven", "dor", "ta", "ne", "bel", "cas", "mi", "ro",
             "lan", "tur", "gi", "za", "por", "el", "va", "qui", "sel", "an", "mon", "ber"]
SUFFIXES = ["", "", " Norte", " Sur", "burg", "ville", "polis", " Bay", "stad", "haven"]

ORIGINS = ["Syria", "Venezuela", "Ukraine", "Afghanistan", "Eritrea", "Somalia", "Brazil",
           "Cape Verde", "Angola", "Morocco", "Senegal", "Nigeria", "Colombia", "Bolivia",
           "Paraguay", "Haiti", "the Philippines", "Myanmar", "India", "Pakistan", "China",
           "Bangladesh", "South Sudan", "the Democratic Republic of the Congo", "Iraq", "Peru"]
GROUPS = ["refugees", "asylum seekers", "newly arrived migrants", "migrant women",
          "unaccompanied minors", "young migrants", "undocumented migrants",
          "refugee families", "highly skilled migrants", "migrant workers", "elderly migrants",
          "second-generation youth", "resettled refugees", "international students",
          "expatriate employees", "migrant entrepreneurs"]
DISTRICTS = ["the northern districts", "the old town", "the port area", "the eastern suburbs",
             "the city centre", "two peripheral neighbourhoods", "the industrial belt",
             "the southern boroughs", "social housing estates", "the riverside quarter"]

SERVICES = {
    "social": ["temporary housing", "rent support", "access to health care",
               "psychosocial support", "a one-stop welcome desk", "after-school tutoring",
               "anti-discrimination training", "family reunification support",
               "a mentoring scheme", "community health mediators", "emergency shelter",
               "school enrolment support"],
    "cultural_religious": ["free language courses", "intercultural festivals",
                           "interfaith dialogue meetings", "mother-tongue classes",
                           "cultural orientation sessions", "a multicultural library service",
                           "community radio programmes", "sports clubs for newcomers",
                           "intercultural mediation"],
    "economic": ["job placement", "vocational training", "entrepreneurship training",
                 "recognition of foreign qualifications", "microcredit for start-ups",
                 "internships with local employers", "diversity management training",
                 "CV and interview workshops", "a relocation package for new staff",
                 "on-the-job language coaching", "apprenticeships"],
    "political": ["a migrant advisory council", "public consultations with migrant groups",
                  "voter registration drives", "a municipal plan for integration",
                  "participatory budgeting sessions", "a diversity officer in each department",
                  "an interdepartmental integration committee"],
    "legal": ["free legal advice", "help with residence permits",
              "support with regularisation procedures", "translation of official documents",
              "information sessions on rights and duties", "legal aid for asylum claims",
              "help with documentation and registration"],
}
PROGRAMME_WORDS_A = ["Welcome", "Bridges", "New Neighbours", "Open Doors", "Together",
                     "First Steps", "Horizons", "Roots", "Common Ground", "Pathways",
                     "Connect", "Future", "Our City", "Kompas", "Mosaic", "Lighthouse"]
PROGRAMME_WORDS_B = ["programme", "project", "initiative", "network", "desk", "centre",
                     "plan", "platform", "scheme", "strategy"]
NGO_NAMES = ["the Red Cross", "Caritas", "the Jesuit Refugee Service", "a local food bank",
             "the Refugee Council", "a migrant women's association", "a neighbourhood association",
             "the Salvation Army", "a parish centre", "an Islamic cultural centre",
             "a diaspora association", "a volunteer tutoring network", "a legal clinic",
             "a trade union", "a human rights NGO"]
IO_NAMES = ["UNHCR", "IOM", "the ILO", "UNICEF", "the European Commission", "UNDP",
            "the World Bank", "UN-Habitat"]
COMPANY_KINDS = ["a logistics company", "a hotel chain", "a relocation agency",
                 "a supermarket chain", "a construction firm", "a bank", "an IT company",
                 "a cleaning company", "a staffing agency", "a car manufacturer",
                 "a telecom operator", "the chamber of commerce"]
PUBLIC_UNITS = ["the city council", "the social affairs department", "the mayor's office",
                "the municipal employment office", "the education department",
                "the housing department", "the health department", "the national government",
                "the regional government", "the district councils"]
CHALLENGES = ["the shortage of affordable housing", "long waiting times for documents",
              "discrimination in the labour market", "the language barrier",
              "the lack of coordination between agencies", "short-term project funding",
              "limited access to health care", "the non-recognition of diplomas",
              "xenophobic attitudes in some neighbourhoods", "bureaucratic barriers",
              "low awareness of existing services", "overcrowded reception centres",
              "the informal economy", "high staff turnover in NGOs"]
CONTRIBUTIONS = ["funding", "volunteers", "meeting rooms", "trainers", "job offers",
                 "legal expertise", "data on arrivals", "interpreters", "outreach workers"]
PARTNERSHIP_FORMS = ["a service contract", "a funding agreement", "a memorandum of understanding",
                     "an informal agreement", "a joint working group", "a co-financing deal"]
SURNAMES = ["Silva", "García", "de Vries", "Okafor", "Tan", "Kowalski", "Haddad", "Nguyen",
            "Müller", "Rossi", "Costa", "Mensah", "Ferreira", "Jansen", "Ortega", "Kaya",
            "Abdi", "Lopes", "Novak", "Santos", "Bakker", "Ramírez", "Chen", "Otieno"]
FIRST_NAMES = ["Ana", "João", "Marta", "Pedro", "Sofia", "Lucas", "Inês", "Daan", "Fatima",
               "Omar", "Grace", "Kwame", "Mei", "Carlos", "Laura", "Yusuf", "Eva", "Tomás"]

POSITIONS = {
    "policy_maker": ["City councillor for social affairs", "Deputy mayor",
                     "Head of the integration department", "Senior policy adviser",
                     "Director of social services", "Alderman for diversity"],
    "practitioner": ["Programme coordinator", "Social worker", "Case manager",
                     "Head of the welcome desk", "Employment counsellor", "Project officer"],
    "business": ["Human resources manager", "Chief executive", "Diversity manager",
                 "Corporate social responsibility officer", "Relocation consultant",
                 "Managing director"],
    "civil_society": ["Director", "Volunteer coordinator", "President of the association",
                      "Legal adviser", "Programme manager", "Community organiser"],
    "international_organization": ["Head of office", "Protection officer",
                                   "Livelihoods officer", "Programme officer",
                                   "Senior field coordinator"],
}
CATEGORY_LABELS = {
    "policy_maker": ["Policy maker", "Local policy maker", "Policy maker (municipality)",
                     "policy_maker"],
    "practitioner": ["Practitioner", "Service provider", "practitioner"],
    "business": ["Business", "Private sector / business", "Company"],
    "civil_society": ["Civil society", "NGO / civil society", "Third actor – NGO",
                      "Community organisation", "Migrant association"],
    "international_organization": ["International organisation", "UN agency",
                                   "Third actor – international organisation"],
}
MODE_WORDINGS = {"video": ["Skype", "video call", "Zoom", "Skype"],
                 "telephone": ["telephone", "phone", "Telephone"],
                 "face_to_face": ["face-to-face", "in person", "Face to face"],
                 "email": ["e-mail", "email"]}
MODE_WEIGHTS = {"video": 45, "telephone": 30, "face_to_face": 20, "email": 5}
MONITORING = ["quarterly reports", "participant surveys", "an external audit", "case files"]
COORDINATORS = ["human resources", "the board", "a small team", "the diversity office"]
INTERVIEWERS = ["A. Ferreira", "B. Jansen", "C. Ortega", "D. Mensah", "E. Novak"]


# --- the phrase grammar ---------------------------------------------------------------------------

class Grammar:
    """Sentence makers over one interview's random stream and its city."""

    def __init__(self, rng: random.Random, city: str, organisation: str):
        self.rng = rng
        self.city = city
        self.organisation = organisation
        self.programmes = [self.programme_name() for _ in range(rng.randint(3, 5))]

    def pick(self, items):
        return items[self.rng.randrange(len(items))]

    def year(self, low=2005, high=2013):
        return self.rng.randint(low, high)

    def dimension(self) -> str:
        return self.pick(list(SERVICES))

    def service(self, dimension=None) -> str:
        return self.pick(SERVICES[dimension or self.dimension()])

    def programme_name(self) -> str:
        rng = self.rng
        form = rng.randrange(3)
        if form == 0:
            return f"{self.pick(PROGRAMME_WORDS_A)} {self.pick(PROGRAMME_WORDS_B)}"
        if form == 1:
            return f"{self.city} {self.pick(PROGRAMME_WORDS_A)} {self.pick(PROGRAMME_WORDS_B)}"
        return f"the {self.pick(PROGRAMME_WORDS_A)} {self.pick(PROGRAMME_WORDS_B)}"

    def programme(self) -> str:
        return self.pick(self.programmes)

    def actor(self) -> str:
        kind = self.rng.randrange(4)
        return self.pick((PUBLIC_UNITS, NGO_NAMES, COMPANY_KINDS, IO_NAMES)[kind])

    def group(self) -> str:
        return self.pick(GROUPS)

    def existing(self) -> str:
        p, a, g, s = self.programme(), self.actor(), self.group(), self.service()
        return self.pick([
            f"{cap(p)} offers {s} to {g} in {self.pick(DISTRICTS)}.",
            f"Since {self.year()}, {a} has provided {s} for {g}.",
            f"The organisation runs {p}, which gives {g} {s}.",
            f"{cap(a)} funds {s} through {p}.",
            f"Every year about {self.rng.randint(40, 3000)} {g} take part in {p}.",
            f"{cap(p)} started in {self.year()} and now includes {s} and {self.service()}.",
            f"In {self.pick(DISTRICTS)} there is {s} run by {a}.",
            f"The city supports {g} with {s}, delivered by {a}.",
        ])

    def partnership(self) -> str:
        a, b = self.actor(), self.actor()
        return self.pick([
            f"{cap(self.programme())} is delivered in partnership with {b}, which contributes "
            f"{self.pick(CONTRIBUTIONS)}.",
            f"In {self.year(2008, 2013)} {a} signed {self.pick(PARTNERSHIP_FORMS)} with {b}.",
            f"The organisation works together with {b} on {self.service()}.",
            f"{cap(a)} and {b} jointly run {self.programme()}.",
            f"There is {self.pick(PARTNERSHIP_FORMS)} between {a} and {b} covering "
            f"{self.service()}.",
            f"{cap(b)} refers {self.group()} to {self.programme()}.",
        ])

    def negated(self) -> str:
        s, g = self.service(), self.group()
        return self.pick([
            f"There is no {s} for {g} in {self.city}.",
            f"The city lacks {s}.",
            f"{cap(self.actor())} does not offer {s}.",
            f"There are no partnerships with {self.pick(COMPANY_KINDS)} at the moment.",
            f"No evaluation of {self.programme()} has been carried out so far.",
            f"{cap(g)} have no access to {s}.",
        ])

    def planned(self) -> str:
        a, s, g = self.actor(), self.service(), self.group()
        return self.pick([
            f"{cap(a)} plans to launch {s} for {g} next year.",
            f"A new {self.pick(PROGRAMME_WORDS_B)} on {s} is planned for {self.year(2014, 2016)}.",
            f"The municipality will open {s} in {self.pick(DISTRICTS)} in "
            f"{self.year(2014, 2015)}.",
            f"{cap(a)} is preparing {s} together with {self.actor()}.",
        ])

    def wish(self) -> str:
        s, g = self.service(), self.group()
        return self.pick([
            f"The city should invest more in {s}.",
            f"It would be useful to offer {s} to {g}.",
            f"The interviewee would like to see {s} in every district.",
            f"{cap(self.actor())} is considering {s}, but nothing has been decided.",
            f"If funding were available, {self.organisation} could extend {s} to {g}.",
            f"The national government ought to simplify {self.pick(SERVICES['legal'])}.",
        ])

    def challenge(self) -> str:
        c, g = self.pick(CHALLENGES), self.group()
        return self.pick([
            f"The main challenge is {c}.",
            f"{cap(g)} face {c}.",
            f"According to the interviewee, {c} limits what the organisation can do.",
            f"The problem of {c} persists for {g}.",
            f"Another difficulty is {c}, especially for {g}.",
        ])

    def trend(self) -> str:
        return self.pick([
            "Most newcomers arrive from {} and {}.".format(*self.rng.sample(ORIGINS, 2)),
            f"The number of {self.group()} has grown since {self.year(2008, 2012)}.",
            f"About {self.rng.randint(3, 35)} per cent of the population of {self.city} was "
            "born abroad.",
            f"In recent years many {self.group()} from {self.pick(ORIGINS)} have settled in "
            f"{self.pick(DISTRICTS)}.",
            f"Integration is seen as {self.pick(['a high', 'a growing', 'a moderate', 'a low'])} "
            f"priority in {self.city}.",
        ])

    def evaluation(self) -> str:
        return self.pick([
            f"An evaluation in {self.year(2010, 2013)} showed that {self.rng.randint(20, 90)} per "
            f"cent of participants found work within a year.",
            f"The annual budget is about {self.rng.randint(1, 90) * 10000:,} euros, "
            f"{self.pick(['less', 'more', 'roughly the same'])} than in {self.year(2009, 2012)}.",
            f"Results are monitored through {self.pick(MONITORING)}.",
            f"{cap(self.programme())} reaches around {self.rng.randint(50, 5000)} people a year.",
        ])

    def institution(self) -> str:
        return self.pick([
            f"{cap(self.pick(PUBLIC_UNITS))} is responsible for {self.service()}.",
            f"Competences for {self.pick(['housing', 'education', 'health', 'employment'])} lie "
            f"with {self.pick(PUBLIC_UNITS)}.",
            f"Decentralisation gave the municipality more room to organise {self.service()}.",
            f"Within {self.organisation}, {self.pick(COORDINATORS)} coordinates this work.",
        ])

    def closing(self) -> str:
        return self.pick([
            f"The interviewee recommended contacting {self.actor()} and {self.actor()}.",
            f"{self.pick(FIRST_NAMES)} {self.pick(SURNAMES)} at {self.actor()} could be "
            "interviewed next.",
            "No further remarks were added.",
            f"The interviewee stressed again that {self.pick(CHALLENGES)} needs attention.",
        ])


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# Which sentence makers each section draws from, with weights.
SECTION_MIX = {
    "Introduction": {"trend": 5, "challenge": 2, "existing": 1},
    "Institutional": {"institution": 5, "existing": 2, "negated": 1, "challenge": 1},
    "Policies and programmes": {"existing": 6, "evaluation": 2, "planned": 1, "negated": 1,
                                "partnership": 1, "challenge": 1},
    "Policy/Programme/Service": {"existing": 6, "evaluation": 3, "planned": 1, "negated": 1,
                                 "challenge": 1},
    "Services": {"existing": 6, "evaluation": 2, "planned": 1, "negated": 1, "wish": 1},
    "Partnerships": {"partnership": 6, "existing": 1, "negated": 1, "wish": 1, "planned": 1},
    "Businesses": {"partnership": 2, "existing": 3, "negated": 2, "wish": 1},
    "Cities": {"existing": 3, "partnership": 2, "negated": 2, "wish": 1},
    "Future perspectives": {"wish": 4, "planned": 3, "challenge": 3, "negated": 1},
    "Closure": {"closing": 4, "wish": 1},
}
LIST_SECTIONS = ("Policies and programmes", "Policy/Programme/Service", "Services",
                 "Partnerships")


# --- DOCX parts -----------------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
KEEP_STYLES = ("Normal", "Title", "Heading1", "Heading2", "ListBullet", "TableGrid",
               "DefaultParagraphFont", "TableNormal", "NoList")
DROP_PARTS = ("docProps/thumbnail.jpeg", "word/stylesWithEffects.xml", "customXml/")


def _docx_template() -> tuple[dict[str, bytes], str, str]:
    """python-docx's default package trimmed to what the transcripts use:
    (static parts, document.xml opening up to <w:body>, the closing sectPr and tags)."""
    import docx
    from lxml import etree

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts = {n: b for n, b in parts.items() if not n.startswith(DROP_PARTS)}

    def strip_relationships(name: str, base: str) -> None:
        tree = etree.fromstring(parts[name])
        for rel in list(tree):
            target = rel.get("Target", "")
            resolved = (target.lstrip("/") if target.startswith("/")
                        else posixpath.normpath(posixpath.join(base, target)))
            if resolved.startswith(DROP_PARTS):
                tree.remove(rel)
        parts[name] = etree.tostring(tree, xml_declaration=True, encoding="UTF-8",
                                     standalone=True)

    strip_relationships("_rels/.rels", "")
    strip_relationships("word/_rels/document.xml.rels", "word")
    types = etree.fromstring(parts["[Content_Types].xml"])
    for override in list(types):
        if override.get("PartName", "").lstrip("/").startswith(DROP_PARTS):
            types.remove(override)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True,
                                                  encoding="UTF-8", standalone=True)

    styles = etree.fromstring(parts["word/styles.xml"])
    wanted = set(KEEP_STYLES)
    by_id = {s.get(f"{{{W_NS}}}styleId"): s for s in styles.iter(f"{{{W_NS}}}style")}
    queue = list(wanted)
    while queue:  # keep what the kept styles are based on, link to or continue with
        style = by_id.get(queue.pop())
        if style is None:
            continue
        for tag in ("basedOn", "link", "next"):
            ref = style.find(f"{{{W_NS}}}{tag}")
            if ref is not None and ref.get(f"{{{W_NS}}}val") not in wanted:
                wanted.add(ref.get(f"{{{W_NS}}}val"))
                queue.append(ref.get(f"{{{W_NS}}}val"))
    for child in list(styles):
        if child.tag == f"{{{W_NS}}}latentStyles" or (
                child.tag == f"{{{W_NS}}}style" and child.get(f"{{{W_NS}}}styleId") not in wanted):
            styles.remove(child)
    parts["word/styles.xml"] = etree.tostring(styles, xml_declaration=True, encoding="UTF-8",
                                              standalone=True)

    document = parts.pop("word/document.xml").decode("utf-8")
    head, rest = document.split("<w:body>", 1)
    sect = rest[rest.index("<w:sectPr"):]
    return parts, head + "<w:body>", sect


def _run(text: str, bold: bool = False) -> str:
    props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _para(text: str, style: str | None = None, bold: bool = False) -> str:
    props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{props}{_run(text, bold)}</w:p>"


def _table(rows: list[list[str]], widths: list[int], header_bold: bool = False) -> str:
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    out = [f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
           f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"]
    for index, row in enumerate(rows):
        cells = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/></w:tcPr>'
            f"{_para(text, bold=header_bold and index == 0)}</w:tc>"
            for text, w in zip(row, widths, strict=True))
        out.append(f"<w:tr>{cells}</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _core_xml(title: str, subject: str, keywords: str, comments: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms='
        '"http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:subject>{escape(subject)}</dc:subject>"
        "<dc:creator>cityqda synthetic study</dc:creator>"
        f"<cp:keywords>{escape(keywords)}</cp:keywords>"
        f"<dc:description>{escape(comments)}</dc:description>"
        "<cp:lastModifiedBy>cityqda</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
        "</cp:coreProperties>").encode()


# --- the study ------------------------------------------------------------------------------

@dataclass
class CityInfo:
    name: str
    country: str
    language: str
    code: str
    aliases: tuple[str, ...]
    round: int


@dataclass
class Interview:
    index: int
    file_name: str
    city: CityInfo
    category: str
    organisation: str
    position: str
    interview_date: dt.date
    contact_date: dt.date
    mode: str
    mode_written: str
    language: str
    interviewer: str
    pseudonym: str


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def make_cities(count: int, rng: random.Random) -> list[CityInfo]:
    """`count` cities: the real list first, then invented names; codes unique."""
    cities, codes, names = [], set(), set()
    for position in range(count):
        if position < len(REAL_CITIES):
            name, country, language, code = REAL_CITIES[position]
        else:
            while True:
                stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
                name = stem.capitalize() + rng.choice(SUFFIXES)
                if name.casefold() not in names:
                    break
            country, language = rng.choice(INVENTED_COUNTRIES)
            letters = [c for c in _ascii(name).upper() if c.isalpha()]
            code = "".join(letters[:3])
            candidates = [code] + ["".join((letters[0], a, b)) for a in letters[1:]
                                   for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
            code = next((c for c in candidates if c not in codes), None)
            while code is None or code in codes:
                code = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        names.add(name.casefold())
        codes.add(code)
        ascii_name = _ascii(name)
        aliases = (ascii_name,) if ascii_name != name else ()
        cities.append(CityInfo(name, country, language, code, aliases,
                               round=1 if position < max(1, (2 * count) // 3) else 2))
    return cities


def _organisation(category: str, city: CityInfo, rng: random.Random) -> str:
    pick = rng.choice
    if category == "policy_maker":
        return pick([f"City Council of {city.name}", f"Municipality of {city.name}",
                     f"{city.name} Mayor's Office for Immigrant Affairs",
                     f"{city.name} Department of Social Affairs"])
    if category == "practitioner":
        return pick([f"{city.name} Migrant Support Centre", f"{city.name} Welcome Desk",
                     f"Municipal Employment Office of {city.name}",
                     f"{city.name} Language School for Adults"])
    if category == "business":
        return pick([f"{pick(SURNAMES)} Relocation Services", f"{pick(SURNAMES)} Logistics",
                     f"{city.name} Hotels Group", f"{pick(SURNAMES)} & {pick(SURNAMES)} Ltd",
                     f"{city.name} Chamber of Commerce", f"{pick(SURNAMES)} Construction"])
    if category == "civil_society":
        return pick([f"{city.name} Refugee Council", f"Caritas {city.name}",
                     f"{pick(ORIGINS).replace('the ', '').title()} Community Association",
                     f"Red Cross {city.name} branch", f"{city.name} Solidarity Network"])
    return pick([f"UNHCR {city.country} office", f"IOM {city.name} office",
                 f"ILO office for {city.country}", f"UNICEF {city.name} field office"])


def plan_study(n: int, seed: int, city_count: int | None = None
               ) -> tuple[list[CityInfo], list[Interview], list[dict]]:
    """Who is interviewed where and when, and every contact for the register."""
    rng = random.Random(f"cityqda-study/{seed}")
    cities = make_cities(city_count or max(2, n // 6), rng)
    categories = list(CATEGORY_WEIGHTS)
    weights = [CATEGORY_WEIGHTS[c] for c in categories]
    modes = list(MODE_WEIGHTS)
    counters: dict[tuple[str, str], int] = {}
    interviews = []
    for index in range(n):
        city = cities[index % len(cities)]
        category = categories[index] if index < len(categories) else rng.choices(
            categories, weights)[0]
        key = (city.code, CATEGORY_CODES[category])
        counters[key] = counters.get(key, 0) + 1
        pseudonym = f"{city.code}-{CATEGORY_CODES[category]}-{counters[key]:02d}"
        year = 2013 if city.round == 1 else 2014
        date = dt.date(year, 6, 1) + dt.timedelta(days=rng.randrange(150))
        mode = rng.choices(modes, [MODE_WEIGHTS[m] for m in modes])[0]
        language = city.language if rng.random() < 0.5 else "English"
        interviews.append(Interview(
            index=index, file_name=f"{pseudonym}.docx", city=city, category=category,
            organisation=_organisation(category, city, rng),
            position=rng.choice(POSITIONS[category]), interview_date=date,
            contact_date=date - dt.timedelta(days=rng.randint(7, 40)), mode=mode,
            mode_written=rng.choice(MODE_WORDINGS[mode]), language=language,
            interviewer=rng.choice(INTERVIEWERS), pseudonym=pseudonym))

    rows = []
    for interview in interviews:
        rows.append(dict(
            round=interview.city.round, city=interview.city.name, country=interview.city.country,
            organisation=interview.organisation, position=interview.position,
            category=rng.choice(CATEGORY_LABELS[interview.category]),
            contact_date=interview.contact_date, outcome="interviewed",
            transcript_file=interview.file_name, interview_date=interview.interview_date,
            mode=interview.mode_written, language=interview.language,
            interviewer=interview.interviewer, pseudonym=interview.pseudonym))
        for outcome, per_interview in OTHER_OUTCOMES.items():
            extra = int(per_interview) + (rng.random() < per_interview % 1)
            for _ in range(extra):
                category = rng.choices(categories, weights)[0]
                year = 2013 if interview.city.round == 1 else 2014
                rows.append(dict(
                    round=interview.city.round, city=interview.city.name,
                    country=interview.city.country,
                    organisation=_organisation(category, interview.city, rng),
                    position=rng.choice(POSITIONS[category]),
                    category=rng.choice(CATEGORY_LABELS[category]),
                    contact_date=dt.date(year, 5, 15) + dt.timedelta(days=rng.randrange(140)),
                    outcome=outcome,
                    notes=rng.choice(["", "followed up twice", "asked to call back later",
                                      "referred us to a colleague", "no time before October"])))
    rows.sort(key=lambda r: (r["round"], r["city"], r["contact_date"], r.get("organisation", "")))
    return cities, interviews, rows


def _mix_sentence(grammar: Grammar, mix: dict[str, int]) -> str:
    names = list(mix)
    name = grammar.rng.choices(names, [mix[k] for k in names])[0]
    return getattr(grammar, name)()


def transcript_body(interview: Interview, guide: Guide, words: int) -> tuple[str, int]:
    """document.xml body content for one interview, and its word count."""
    rng = random.Random(f"cityqda-transcript/{interview.index}/{interview.file_name}")
    grammar = Grammar(rng, interview.city.name, interview.organisation)
    date_text = rng.choice([interview.interview_date.isoformat(),
                            interview.interview_date.strftime("%d %B %Y"),
                            interview.interview_date.strftime("%d/%m/%Y")
                            if interview.interview_date.day > 12 else
                            interview.interview_date.isoformat()])
    metadata = [
        ("City", interview.city.name), ("Country", interview.city.country),
        (rng.choice(["Stakeholder category", "Stakeholder type", "Type of stakeholder"]),
         rng.choice(CATEGORY_LABELS[interview.category])),
        (rng.choice(["Organisation", "Organization", "Institution"]), interview.organisation),
        (rng.choice(["Position", "Interviewee position", "Role"]), interview.position),
        (rng.choice(["Date of interview", "Interview date", "Date"]), date_text),
        (rng.choice(["Interview mode", "Mode"]), interview.mode_written),
        ("Language", interview.language), ("Interviewer", interview.interviewer),
        ("Interview guide", guide.title),
    ]
    parts = [_table([list(pair) for pair in metadata], [2600, 6000]),
             _para(f"Summary of the interview with {interview.organisation}", "Title")]
    count = sum(len(value.split()) for _, value in metadata)
    questions = [(s, q) for s in guide.sections for q in s.questions]
    overhead = count + sum(len(q.text.split()) for _, q in questions) + 20
    per_question = max(20, (words - overhead) // max(1, len(questions)))
    table_section = next((s.title for s in guide.sections if s.title in LIST_SECTIONS),
                         guide.sections[-1].title)
    table_done = False
    for s_number, section in enumerate(guide.sections, start=1):
        heading = section.title
        if rng.random() < 0.25:
            heading = rng.choice([f"{s_number}. {section.title}", f"{section.title}:",
                                  section.title.upper()])
        parts.append(_para(heading, "Heading1"))
        mix = SECTION_MIX.get(section.title, {"existing": 2, "challenge": 1, "wish": 1})
        for q_number, question in enumerate(section.questions, start=1):
            asked = question.text
            if rng.random() < 0.15:
                asked = rng.choice([f"Q: {asked}", f"{s_number}.{q_number} {asked}"])
            parts.append(_para(asked, bold=True))
            budget = int(per_question * rng.uniform(0.7, 1.3))
            written = 0
            if section.title == table_section and not table_done:
                header = ["Programme", "Target group", "Since", "Partner"]
                rows = [header] + [[cap(p), grammar.group(), str(grammar.year()),
                                    cap(grammar.actor())] for p in grammar.programmes]
                parts.append(_table(rows, [2600, 2200, 1000, 2800], header_bold=True))
                written += sum(len(cell.split()) for row in rows for cell in row)
                table_done = True
            if section.title in LIST_SECTIONS and rng.random() < 0.3:
                for _ in range(rng.randint(3, 5)):
                    item = cap(grammar.service()) + rng.choice(
                        ["", f" for {grammar.group()}", f", run by {grammar.actor()}"])
                    parts.append(_para(item, "ListBullet"))
                    written += len(item.split())
            sentences: list[str] = []
            while written < budget - 6:
                sentence = _mix_sentence(grammar, mix)
                sentences.append(sentence)
                written += len(sentence.split())
            while sentences:
                size = rng.randint(2, 5)
                parts.append(_para(" ".join(sentences[:size])))
                del sentences[:size]
            count += written + len(asked.split())
        count += len(heading.split())
    return "".join(parts), count


def write_transcript(path: Path, interview: Interview, guide: Guide, words: int,
                     template) -> int:
    static, head, tail = template
    body, count = transcript_body(interview, guide, words)
    parts = dict(static)
    parts["word/document.xml"] = (head + body + tail).encode("utf-8")
    category_label = CATEGORY_LABELS[interview.category][0]
    parts["docProps/core.xml"] = _core_xml(
        title=f"Interview summary {interview.pseudonym}",
        subject=f"{interview.city.name}; {category_label}",
        keywords=f"{interview.city.name}, {interview.category}, {guide.id}",
        comments=f"City: {interview.city.name}; Country: {interview.city.country}; "
                 f"Interview date: {interview.interview_date.isoformat()}")
    write_ooxml_zip(path, parts)
    return count


def generate_study(out: str | Path, n: int, seed: int, words: int = 2000,
                   city_count: int | None = None) -> dict:
    """Create a study folder at `out` (which must not hold a study) and fill it."""
    started = time.perf_counter()
    root = init_study(out, name=f"synthetic-{n}-seed{seed}")
    guides = load_guides(default_guides_dir())
    cities, interviews, rows = plan_study(n, seed, city_count)
    template = _docx_template()
    transcripts = root / "transcripts"
    total_words = 0
    for interview in interviews:
        guide = guides[guide_for_category(interview.category)]
        total_words += write_transcript(transcripts / interview.file_name, interview, guide,
                                        words, template)
    write_register(root / "register.xlsx", rows,
                   [dict(city=c.name, country=c.country, code=c.code, aliases=list(c.aliases))
                    for c in cities])
    return {"folder": str(root), "transcripts": n, "cities": len(cities),
            "register_rows": len(rows), "words": total_words,
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, required=True, help="number of transcripts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="new study folder to create")
    parser.add_argument("--words", type=int, default=2000,
                        help="approximate words per transcript (default 2000)")
    parser.add_argument("--cities", type=int, default=None,
                        help="number of cities (default N/6, at least 2)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    summary = generate_study(args.out, args.n, args.seed, args.words, args.cities)
    print(f"{summary['transcripts']} transcripts ({summary['words']} words) over "
          f"{summary['cities']} cities, {summary['register_rows']} register rows in "
          f"{summary['seconds']} s -> {summary['folder']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
