"""The words suppliers use, as data: column and field names, status words, units, months.

Every table is keyed by language so that the words a text or a sheet uses also say which
number style it probably follows (a German sheet writes `1.000,50`). Column and field names are
compared after `text.label_key` (NFKC, case folded, letters and digits only): write them here as
a person would, `Bestell-Nr.` and `PO No.` included; the key of each is computed once.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.domain.documents import DocumentStatus, LineStatus


class Language(StrEnum):
    ENGLISH = "en"
    GERMAN = "de"
    CHINESE = "zh"


# Older systems write German without umlauts ("80 Stueck bestaetigt", "Gruesse"): every German
# word below is also read in that spelling (DIN 5007-2 replacement: ä -> ae, ö -> oe, ü -> ue,
# ß -> ss).
_UMLAUTS = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"),
            ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"))


def transliterated(word: str) -> str:
    for umlaut, spelled in _UMLAUTS:
        word = word.replace(umlaut, spelled)
    return word


def _both_spellings(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words as given, then their transliterations that differ."""
    extra = tuple(t for t in (transliterated(w) for w in words) if t not in words)
    return words + extra


def _either_spelling(pattern: str) -> str:
    """A regular expression over case-folded text that also matches the transliteration."""
    for umlaut, spelled in _UMLAUTS[:4]:
        pattern = pattern.replace(umlaut, f"(?:{umlaut}|{spelled})")
    return pattern


class Field(StrEnum):
    """What a column of a sheet, or a label in an email, holds."""

    ORDER_NUMBER = "order_number"
    ORDER_LINE = "order_line"
    ITEM = "item"
    BUYER_PART = "buyer_part"
    SUPPLIER_PART = "supplier_part"
    GTIN = "gtin"
    DESCRIPTION = "description"
    QUANTITY = "quantity"
    CONFIRMED_QUANTITY = "confirmed_quantity"
    ORDERED_QUANTITY = "ordered_quantity"
    UNIT = "unit"
    DELIVERY_DATE = "delivery_date"
    CONFIRMED_DATE = "confirmed_date"
    REQUESTED_DATE = "requested_date"
    PRICE = "price"
    CURRENCY = "currency"
    LINE_AMOUNT = "line_amount"
    STATUS = "status"
    REMARK = "remark"


F = Field
# A generic "Qty" or "Delivery date" is the supplier's answer unless the same sheet also has a
# "Confirmed qty" or "Confirmed date" column: then the generic one is the buyer's request.
FIELD_NAMES: dict[Language, dict[Field, tuple[str, ...]]] = {
    Language.ENGLISH: {
        F.ORDER_NUMBER: ("PO", "PO No.", "PO No", "PO Number", "PO #", "PO Nr", "PO ref",
                         "Purchase order", "Purchase order No.", "Purchase order number",
                         "Order", "Order No.", "Order number", "Order #", "Order ref",
                         "Your order", "Your PO", "Customer PO", "Customer order",
                         "Customer order No."),
        F.ORDER_LINE: ("Line", "Line No.", "Line number", "PO line", "PO item", "PO line No.",
                       "Order line", "Pos", "Pos.", "Pos No.", "Position", "Ln"),
        F.ITEM: ("Item", "Item number", "Material", "Material No.", "Material number", "Part",
                 "Part No.", "Part number", "Article", "Article No.", "SKU", "Product code"),
        F.BUYER_PART: ("Customer part", "Customer part No.", "Customer material",
                       "Your part No.", "Buyer part", "Buyer part No."),
        F.SUPPLIER_PART: ("Supplier part", "Supplier part No.", "Vendor part",
                          "Vendor part No.", "Our part No.", "Manufacturer part No."),
        F.GTIN: ("GTIN", "EAN", "EAN code", "UPC", "Barcode"),
        F.DESCRIPTION: ("Description", "Item description", "Material description", "Product",
                        "Product name", "Designation"),
        F.QUANTITY: ("Qty", "Quantity", "Qty.", "Pcs"),
        F.CONFIRMED_QUANTITY: ("Confirmed qty", "Confirmed quantity", "Conf. qty",
                               "Qty confirmed", "Quantity confirmed", "Promised qty",
                               "Available qty", "Delivery qty", "Delivery quantity"),
        F.ORDERED_QUANTITY: ("Ordered qty", "Ordered quantity", "Order qty", "Order quantity",
                             "PO qty", "PO quantity", "Requested qty", "Requested quantity"),
        F.UNIT: ("Unit", "UoM", "Unit of measure", "UM"),
        F.DELIVERY_DATE: ("Delivery date", "Ship date", "Shipping date", "Delivery",
                          "Dispatch date", "Despatch date", "ETA", "Date"),
        F.CONFIRMED_DATE: ("Confirmed date", "Confirmed delivery date", "Confirmed ship date",
                           "Promised date", "Promise date", "New delivery date", "Commit date",
                           "Committed date"),
        F.REQUESTED_DATE: ("Requested date", "Requested delivery date", "Required date",
                           "Need date", "Due date"),
        F.PRICE: ("Price", "Unit price", "Net price", "Price per unit", "Confirmed price"),
        F.CURRENCY: ("Currency", "Cur", "Curr", "Ccy"),
        F.LINE_AMOUNT: ("Amount", "Line total", "Net value", "Total price", "Value"),
        F.STATUS: ("Status", "Confirmation status", "Confirmation", "Response"),
        F.REMARK: ("Remark", "Remarks", "Comment", "Comments", "Note", "Notes"),
    },
    Language.GERMAN: {
        F.ORDER_NUMBER: ("Bestellnummer", "Bestell-Nr.", "Bestellnr.", "Bestellung",
                         "Bestellung Nr.", "Ihre Bestellung", "Ihre Bestellnummer",
                         "Auftragsnummer", "Auftrag", "Auftrags-Nr."),
        F.ORDER_LINE: ("Position", "Pos-Nr.", "Positionsnummer", "Zeile", "Bestellposition"),
        F.ITEM: ("Artikel", "Artikelnummer", "Artikel-Nr.", "Materialnummer", "Material-Nr.",
                 "Teilenummer", "Sachnummer"),
        F.BUYER_PART: ("Ihre Artikelnummer", "Kundenartikelnummer", "Kundenmaterial",
                       "Ihre Materialnummer"),
        F.SUPPLIER_PART: ("Unsere Artikelnummer", "Lieferantenartikelnummer",
                          "Herstellerartikelnummer"),
        F.DESCRIPTION: ("Bezeichnung", "Beschreibung", "Artikelbezeichnung", "Kurztext"),
        F.QUANTITY: ("Menge", "Anzahl", "Stückzahl"),
        F.CONFIRMED_QUANTITY: ("Bestätigte Menge", "Liefermenge", "Zugesagte Menge",
                               "Menge bestätigt"),
        F.ORDERED_QUANTITY: ("Bestellmenge", "Bestellte Menge", "Auftragsmenge"),
        F.UNIT: ("Einheit", "ME", "Mengeneinheit"),
        F.DELIVERY_DATE: ("Liefertermin", "Lieferdatum", "Liefertag", "Versanddatum",
                          "Versandtermin", "Termin", "Datum"),
        F.CONFIRMED_DATE: ("Bestätigter Liefertermin", "Bestätigtes Lieferdatum",
                           "Bestätigter Termin", "Neuer Liefertermin", "Zugesagter Termin"),
        F.REQUESTED_DATE: ("Wunschtermin", "Gewünschter Liefertermin", "Bedarfstermin",
                           "Solltermin"),
        F.PRICE: ("Preis", "Einzelpreis", "Stückpreis", "Nettopreis", "E-Preis"),
        F.CURRENCY: ("Währung", "Whg."),
        F.LINE_AMOUNT: ("Betrag", "Gesamtpreis", "Positionswert", "Gesamtbetrag", "Wert"),
        F.STATUS: ("Bestätigung",),
        F.REMARK: ("Bemerkung", "Bemerkungen", "Kommentar", "Hinweis", "Anmerkung"),
    },
    Language.CHINESE: {
        F.ORDER_NUMBER: ("采购订单号", "采购订单", "订单号", "订单编号", "PO号", "采购单号",
                         "订单", "客户订单号"),
        F.ORDER_LINE: ("行号", "行", "项次", "项目号", "行项目"),
        F.ITEM: ("物料号", "料号", "物料编码", "物料编号", "产品编号", "品号", "货号"),
        F.BUYER_PART: ("客户料号", "客户物料号"),
        F.SUPPLIER_PART: ("供应商料号", "供应商物料号"),
        F.GTIN: ("条码", "条形码"),
        F.DESCRIPTION: ("品名", "物料描述", "描述", "名称", "产品名称"),
        F.QUANTITY: ("数量",),
        F.CONFIRMED_QUANTITY: ("确认数量", "回复数量", "可交数量", "交货数量"),
        F.ORDERED_QUANTITY: ("订单数量", "订购数量", "采购数量", "需求数量"),
        F.UNIT: ("单位", "计量单位"),
        F.DELIVERY_DATE: ("交货日期", "交期", "交货期", "发货日期", "到货日期", "出货日期"),
        F.CONFIRMED_DATE: ("确认交期", "回复交期", "承诺交期", "确认交货日期"),
        F.REQUESTED_DATE: ("要求交期", "需求日期", "要求交货日期"),
        F.PRICE: ("单价", "价格", "含税单价", "未税单价"),
        F.CURRENCY: ("币种", "币别", "货币"),
        F.LINE_AMOUNT: ("金额", "总价", "总金额"),
        F.STATUS: ("状态", "确认状态"),
        F.REMARK: ("备注", "说明"),
    },
}

FIELD_NAMES[Language.GERMAN] = {field_: _both_spellings(names)
                                for field_, names in FIELD_NAMES[Language.GERMAN].items()}

# Words that mark a subtotal or total row, which is not an order line.
TOTAL_WORDS: tuple[str, ...] = ("Total", "Totals", "Grand total", "Subtotal", "Sum",
                                "Summe", "Gesamt", "Gesamtsumme", "Zwischensumme",
                                "合计", "总计", "小计", "总计金额")

# What a supplier says about a line or an order. Phrases are matched as whole words (Latin) or
# as substrings (Chinese); the first status in `STATUS_PRECEDENCE` whose phrase occurs wins, so
# "not confirmed" is pending although it contains "confirmed", and "不接受" is a rejection.
PENDING = "pending"
STATUS_WORDS: dict[str, dict[Language, tuple[str, ...]]] = {
    LineStatus.REJECTED: {
        Language.ENGLISH: ("rejected", "reject", "declined", "cancelled", "canceled",
                           "not available", "cannot deliver", "can't deliver", "can not deliver",
                           "cannot supply", "unable to deliver", "unable to supply",
                           "cannot be delivered", "can not be delivered", "can't be delivered",
                           "will not be delivered", "not be supplied", "out of stock",
                           "not deliverable", "discontinued", "no longer available"),
        Language.GERMAN: ("abgelehnt", "ablehnen", "storniert", "nicht lieferbar",
                          "kann nicht geliefert werden", "können nicht liefern",
                          "können wir nicht liefern", "nicht verfügbar", "entfällt"),
        Language.CHINESE: ("拒绝", "无法交货", "不能交货", "无法供货", "不能供货", "不接受",
                           "取消", "停产", "缺货"),
    },
    PENDING: {
        Language.ENGLISH: ("pending", "open", "not confirmed", "unconfirmed", "to be confirmed",
                           "tbc", "tbd", "in progress", "under review"),
        Language.GERMAN: ("offen", "nicht bestätigt", "unbestätigt", "in klärung",
                          "in prüfung", "in bearbeitung"),
        Language.CHINESE: ("未确认", "待确认", "待定", "处理中", "待回复"),
    },
    LineStatus.CHANGED: {
        Language.ENGLISH: ("changed", "modified", "partial", "partially confirmed",
                           "partly confirmed", "confirmed with changes", "amended"),
        Language.GERMAN: ("geändert", "teilweise", "teilbestätigt", "teilweise bestätigt",
                          "abweichend"),
        Language.CHINESE: ("修改", "变更", "部分确认", "部分交货"),
    },
    LineStatus.ACCEPTED: {
        Language.ENGLISH: ("confirmed", "accepted", "ok", "okay", "as ordered", "agreed",
                           "confirm", "accept", "can deliver", "will deliver", "can supply",
                           "will supply", "will ship", "committed"),
        Language.GERMAN: ("bestätigt", "akzeptiert", "angenommen", "wie bestellt",
                          "in ordnung", "bestätigen", "zugesagt", "sagen zu"),
        Language.CHINESE: ("确认", "已确认", "接受", "同意", "按订单"),
    },
}
for _by_language in STATUS_WORDS.values():
    _by_language[Language.GERMAN] = _both_spellings(_by_language[Language.GERMAN])
STATUS_PRECEDENCE: tuple[str, ...] = (LineStatus.REJECTED, PENDING, LineStatus.CHANGED,
                                      LineStatus.ACCEPTED)

# Sentences about the whole order (no line named), as regular expressions over the case-folded
# NFKC text. Acceptance phrases are ignored when the sentence also holds a negation.
ORDER_PHRASES: dict[DocumentStatus, dict[Language, tuple[str, ...]]] = {
    DocumentStatus.ACCEPTED: {
        Language.ENGLISH: (
            # The negated forms are matched so that they can be refused, not ignored.
            r"\bwe (?:hereby |herewith |gladly |cannot |can not |can't |are unable to |do not |"
            r"don't |will not |won't )?(?:confirm|accept|acknowledge) (?:your|the|this)"
            r" (?:purchase )?order\b",
            r"\b(?:purchase )?order\b.{0,40}\b(?:is|has been) (?:confirmed|accepted)\b",
            r"(?:^|\b(?:order|po)\b.{0,30})(?:all lines |all )?confirmed as ordered\b",
            r"^(?:order|po)\b.{0,30}\bconfirmed\s*[.!]?$",
        ),
        Language.GERMAN: tuple(_either_spelling(p) for p in (
            r"\bbestätigen wir (?:ihnen )?(?:ihre|die|ihren|den) (?:bestellung|auftrag)",
            r"\bwir bestätigen (?:ihnen )?(?:hiermit )?(?:ihre|die|ihren|den) "
            r"(?:bestellung|auftrag)",
            r"\b(?:bestellung|auftrag)\b.{0,40}\b(?:wird|ist|wurde) (?:hiermit )?bestätigt\b",
            r"(?:^|\b(?:bestellung|auftrag)\b.{0,30})(?:alles |alle positionen )?"
            r"wie bestellt bestätigt\b",
        )),
        Language.CHINESE: (r"确认(?:贵司的?|您的|该|此)?订单", r"订单已确认", r"订单确认",
                           r"订单号?\s*:?\s*[0-9a-z-]{3,20}\s*(?:已经?)?确认",
                           r"全部确认", r"按订单确认"),
    },
    DocumentStatus.REJECTED: {
        Language.ENGLISH: (
            r"\bwe (?:must |have to |regret to |unfortunately )?(?:reject|decline|cancel) "
            r"(?:your|the|this) (?:purchase )?order\b",
            r"\bwe (?:cannot|can not|can't|are unable to|are not able to) (?:accept|deliver|"
            r"supply|fulfil|fulfill) (?:your|the|this) (?:purchase )?order\b",
            r"\b(?:purchase )?order\b.{0,40}\b(?:is|has been) (?:rejected|declined)\b",
        ),
        Language.GERMAN: tuple(_either_spelling(p) for p in (
            r"\blehnen wir (?:ihre|die|ihren|den) (?:bestellung|auftrag)\b.{0,20}\bab\b",
            r"\b(?:bestellung|auftrag)\b.{0,40}\b(?:wird|ist|wurde) (?:leider )?abgelehnt\b",
            r"\bkönnen (?:wir )?(?:ihre|die|ihren|den) (?:bestellung|auftrag) (?:leider )?"
            r"nicht (?:annehmen|liefern|ausführen)",
        )),
        Language.CHINESE: (r"拒绝(?:贵司的?|您的|该|此)?订单",
                           r"无法接受(?:贵司的?|您的|该|此)?订单",
                           r"订单(?:已被|被|已)?拒绝", r"订单无法交货"),
    },
}
NEGATIONS: tuple[str, ...] = (r"\bnot\b", r"\bcannot\b", r"\bcan't\b", r"\bunable\b",
                              r"\bnicht\b", r"\bkein", "无法", "不能", "未", "不")

# Units as written -> UN/ECE Recommendation 20 codes as EANCOM messages send them (PCE for
# pieces, as the order lines imported from ERP exports use).
UNITS: dict[str, str] = {
    "pcs": "PCE", "pc": "PCE", "pce": "PCE", "piece": "PCE", "pieces": "PCE", "ea": "PCE",
    "each": "PCE", "unit": "PCE", "units": "PCE", "stück": "PCE", "stueck": "PCE", "stk": "PCE",
    "st": "PCE",
    "件": "PCE", "个": "PCE", "只": "PCE", "pcs.": "PCE", "stk.": "PCE", "st.": "PCE",
    "h87": "PCE", "c62": "PCE",
    "kg": "KGM", "kgm": "KGM", "千克": "KGM", "公斤": "KGM",
    "g": "GRM", "grm": "GRM", "克": "GRM",
    "m": "MTR", "mtr": "MTR", "米": "MTR",
    "l": "LTR", "ltr": "LTR", "升": "LTR",
    "set": "SET", "sets": "SET", "satz": "SET", "套": "SET",
    "pair": "PR", "pairs": "PR", "paar": "PR", "pr": "PR", "双": "PR", "对": "PR",
    "box": "BX", "boxes": "BX", "karton": "CT", "carton": "CT", "cartons": "CT", "ctn": "CT",
    "箱": "CT", "roll": "RO", "rolls": "RO", "rolle": "RO", "卷": "RO",
}

CURRENCIES: frozenset[str] = frozenset({
    "EUR", "USD", "CNY", "GBP", "CHF", "JPY", "HKD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
    "CAD", "AUD", "SGD", "KRW", "TWD", "INR", "MXN", "BRL", "TRY", "RON",
})
CURRENCY_SIGNS: dict[str, str] = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "CNY", "￥": "CNY",
                                  "RMB": "CNY", "元": "CNY", "人民币": "CNY", "US$": "USD"}

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "januar": 1, "jänner": 1, "jän": 1,
    "february": 2, "feb": 2, "februar": 2,
    "march": 3, "mar": 3, "märz": 3, "mär": 3, "maerz": 3,
    "april": 4, "apr": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6,
    "july": 7, "jul": 7, "juli": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12, "dezember": 12, "dez": 12,
}

# Words that introduce the answer's values inside a sentence (line statements). Regular
# expression fragments over the case-folded NFKC text; Latin words end at a word boundary.
ORDER_WORDS = (r"purchase\s+order|p\.?o\.?|order|bestellung|bestellnummer|bestell-?nr\.?|"
               r"auftrag|auftragsnummer|采购订单号?|订单号?|订单编号")
ORDER_NUMBER_SUFFIX = r"(?:\s*(?:no\.?|nr\.?|number|nummer|#|号))?"
LINE_WORDS = r"line|ln\.?|pos\.?|position|item|zeile|行号|行|项次"
# (`statements._words` splits these at `|`: each alternative is one word, spelled out.)
QUANTITY_WORDS = (r"confirmed\s+qty|confirmed\s+quantity|quantity|qty\.?|menge|"
                  r"bestätigte\s+menge|bestaetigte\s+menge|确认数量|数量")
PRICE_WORDS = (r"unit\s+price|net\s+price|price|einzelpreis|stückpreis|stueckpreis|preis|"
               r"单价|价格")
# A value after these words is what was ordered, not what the supplier commits to.
ORDERED_WORDS = r"instead\s+of|ordered|requested|statt|anstatt|bestellt|原|订单数量"

# A sentence holding these asks for an answer rather than giving one: not read.
REQUEST_WORDS: tuple[str, ...] = (r"\bplease\s+(?:re-?)?confirm", r"\bkindly\s+confirm",
                                  r"\b(?:could|can|would) you\b", r"\bbitte\b.{0,40}\bbestätigen",
                                  r"\bkönnen sie\b", "请确认", "请回复", "能否", r"\?\s*$")

# A sentence holding these makes its answer depend on something (a price, a release, stock):
# it is an offer, not a commitment, and is not read as one.
CONDITION_WORDS: tuple[str, ...] = (
    r"\bif\b", r"\bprovided\b", r"\bproviding\b", r"\bsubject\s+to\b", r"\bunless\b",
    r"\bas\s+long\s+as\b", r"\bon\s+condition\b", r"\bfalls\b", r"\bsofern\b", r"\bwenn\b",
    r"\bvorausgesetzt\b", r"\bvorbehaltlich\b", r"\bunter\s+(?:dem\s+)?vorbehalt\b",
    r"\bunter\s+der\s+bedingung\b", "如果", "假如", "若", "前提", "条件是", "除非", "只要")
# Count units: a quantity in them has no decimals, so `1.000 pcs` is never one piece.
COUNT_UNITS: frozenset[str] = frozenset({"PCE", "SET", "PR", "CT", "BX", "RO"})
# When a delivery is meant without a date that can be read (a calendar week, a month without a
# day or year, "next month"): the sentence is refused rather than read without its date.
VAGUE_DATES: tuple[str, ...] = (
    r"(?<![^\W\d_])(?:kw|cw|wk)\s*[:.]?\s*\d{1,2}(?!\d)", r"\b(?:calendar\s+)?weeks?\b",
    r"\b(?:kalender)?woche\b", r"\b(?:next|this|end\s+of(?:\s+the)?)\s+month\b",
    r"\b(?:nächsten|kommenden|diesen|ende\s+des)\s+monats?\b", r"\bmonatsende\b",
    r"\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?", r"[上下本这]个?月", r"月[底初中末]",
    r"[上下本这]个?[周礼]", r"周[一二三四五六日末]", r"星期", r"年底", r"年初")
# A day named without its date ("delivery Friday", "Lieferung morgen"): a date only together
# with a readable day, month and year in the same sentence ("Friday, 5 Dec 2026"); alone it
# refuses the sentence like a vague date.
RELATIVE_DAYS: tuple[str, ...] = (
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
    r"\b(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)s?\b",
    r"\b(?:today|tomorrow|heute|morgen|übermorgen)\b", "今天", "明天", "后天")

# Words that tell the language of a text when no column header says it.
LANGUAGE_CUES: dict[Language, tuple[str, ...]] = {
    Language.ENGLISH: ("order", "line", "quantity", "delivery", "confirm", "price", "pcs",
                       "dear", "regards"),
    Language.GERMAN: _both_spellings(("bestellung", "menge", "liefertermin", "stück",
                                      "bestätigt", "preis", "sehr geehrte", "grüße", "auftrag",
                                      "position")),
    Language.CHINESE: ("订单", "数量", "交货", "单价", "确认", "行号"),
}

# -- commitment: what undoes a statement's commitment (commitment.py) ---------------------------
# Regular expression fragments over the case-folded NFKC text of one sentence, with the values
# already taken out of it. None may hold an unbounded repeat: the sentence is scanned once.

# Phrases with a negation that still commit ("no later than", "keine Änderungen", "确认无误",
# "不含税" = before tax): read as one piece, so that their negation does not count.
COMMITTING_IDIOMS: tuple[str, ...] = (
    r"\bno\s+later\s+than\b", r"\bnot\s+later\s+than\b", r"\bno\s+changes?\b",
    r"\bwithout\s+(?:any\s+)?changes?\b", r"\bno\s+problem\b",
    *(_either_spelling(p) for p in (r"\bwie\s+folgt\b", r"\bnicht\s+später\s+als\b",
                                    r"\bkeine\s+änderung(?:en)?\b",
                                    r"\bohne\s+änderung(?:en)?\b", r"\bkein\s+problem\b")),
    "确认无误", "无误", "没问题", "无变更", "无变化", "不含税", "未税", "不锈钢", "无铅")
NEGATION_WORDS: dict[Language, tuple[str, ...]] = {
    Language.ENGLISH: (r"\bnot\b", r"\bcannot\b", r"\b[a-z]+n['\u2019]t\b", r"\bunable\b",
                       r"\bimpossible\b", r"\bnever\b", r"\bno\s+longer\b", r"\bneither\b",
                       r"\bnor\b", r"\bnone\b", r"\bregret\b", r"\brefuse[sd]?\b",
                       r"\bno\s+(?:stock|capacity|material|way)\b"),
    Language.GERMAN: tuple(_either_spelling(p) for p in (
        r"\bnicht\b", r"\bkein(?:e|en|em|er|es)?\b", r"\bnie(?:mals)?\b", r"\bunmöglich\b",
        r"\bweder\b", r"\bausgeschlossen\b")),
    Language.CHINESE: ("无法", "不能", "不可以", "不可", "暂不", "暂时不", "未能", "不确认", "没法",
                       "没有", "不会", "不予", "没", "无", "未", "不"),
}
# A sentence that asks, rather than says (the `REQUEST_WORDS` are read first, as before).
QUESTION_WORDS: tuple[str, ...] = (
    r"\?", r"\b(?:could|can|would|will)\s+you\b", r"\bis\s+it\s+(?:possible|ok|okay)\b",
    r"\bdo\s+you\b", r"\bwhether\b",
    *(_either_spelling(p) for p in (r"\b(?:können|könnten|würden)\s+sie\b",
                                    r"\bist\s+es\s+möglich\b", r"\bob\b")),
    "吗", "是否", "能否", "可否", "请问", *REQUEST_WORDS)
# Hedges: the supplier does not commit ("probably", "voraussichtlich", "争取").
HEDGE_WORDS: tuple[str, ...] = (
    r"\bmaybe\b", r"\bperhaps\b", r"\bpossibly\b", r"\bprobably\b", r"\bhopefully\b",
    r"\btry\s+to\b", r"\bexpect(?:ed)?\s+to\b", r"\bestimated\b", r"\btentative(?:ly)?\b",
    *(_either_spelling(p) for p in (r"\bvielleicht\b", r"\beventuell\b", r"\bvoraussichtlich\b",
                                    r"\bmöglicherweise\b", r"\bwahrscheinlich\b",
                                    r"\bversuchen\b")),
    "可能", "也许", "大概", "争取", "尽量", "预计")
# An answer promised for later ("will confirm next week", "folgt", "稍后确认"): not an answer.
LATER_WORDS: tuple[str, ...] = (
    r"\b(?:will|shall|going\s+to)\s+(?:be\s+)?(?:re-?)?confirm(?:ed)?\b",
    r"\b(?:to|will)\s+follow\b", r"\b(?:will|shall)\s+(?:advise|revert|inform|update)\b",
    r"\bget\s+back\s+to\s+you\b", r"\blet\s+you\s+know\b", r"\bconfirm\s+later\b",
    r"\bchecking\b", r"\bstill\s+(?:being\s+)?check", r"\bas\s+soon\s+as\b",
    r"\bonce\s+we\b", r"\bin\s+due\s+course\b", r"\btba\b", r"\bto\s+be\s+advised\b",
    *(_either_spelling(p) for p in (
        # Bounded: "werden" and the infinitive in the same sentence, at most 80 characters apart.
        r"\bwerden\b[^.!?]{0,80}?\bbestätigen\b", r"\bwird\b[^.!?]{0,80}?\bbestätigt\s+werden\b",
        r"\bwird\s+(?:noch\s+)?bestätigt\b", r"\bfolgt\b", r"\bfolgen\b",
        r"\bnachgereicht\b", r"\bnachreichen\b", r"\bmelden\s+uns\b", r"\bbescheid\b",
        r"\bsobald\b", r"\bin\s+kürze\b", r"\bprüfen\s+noch\b", r"\bklären\b")),
    "稍后", "随后", "后续", "另行", "再确认", "再回复", "尽快回复", "将确认", "会确认", "一旦",
    "待我们", "确认后")
# An answer for part of what it names ("we confirm your order except line 30"): the part left
# out is not said, so the whole is not read as confirmed.
EXCEPTION_WORDS: tuple[str, ...] = (
    r"\bexcept\b", r"\bexcluding\b", r"\bapart\s+from\b", r"\bother\s+than\b",
    r"\bwith\s+the\s+exception\b",
    *(_either_spelling(p) for p in (r"\baußer\b", r"\bausgenommen\b", r"\bbis\s+auf\b",
                                    r"\bmit\s+ausnahme\b")),
    "除了", "以外", "除外")
# A quantity not given as one number: a range or an approximation.
RANGE_WORDS: tuple[str, ...] = (
    # Each number is tried from its first digit only (the look-behind): a run of digits is
    # scanned once, not once per digit.
    r"(?<![\d.,])\d[\d.,]*\s*(?:-|\u2013|\u2014|~|/)\s*\d[\d.,]*\s*"
    r"(?:pcs|pc|pieces|stk|stück|stueck|件|个|只|units|kg)",
    r"\d\s+(?:to|or|bis|oder)\s+\d", r"\d\s*(?:至|到|或)\s*\d",
    r"\bbetween\s+\d", r"\bzwischen\s+\d",
    r"\b(?:approx|approximately|about|around|roughly|circa|ca|up\s+to|at\s+least|at\s+most|"
    r"max|min|etwa|ungefähr|ungefaehr|rund|bis\s+zu|mindestens|höchstens|hoechstens)\b\.?\s*\d",
    r"约\s*\d", r"大约", r"左右", r"最多", r"至少", r"上下")
# Words that say the sentence answers in advance for the lines listed below it: a line with
# values and no word of its own is committed only under such a heading ("we confirm as
# follows:", "zu Ihrer Bestellung bestätigen wir:", "我司确认如下:").
HEADING_WORDS: tuple[str, ...] = (
    r"\bour\s+(?:order\s+)?confirmation\b", r"\bwe\s+(?:hereby\s+)?confirm\b",
    r"\bconfirmed\s+as\s+follows\b", r"\bconfirm\s+as\s+follows\b",
    *(_either_spelling(p) for p in (r"\bunsere\s+(?:auftrags)?bestätigung\b",
                                    r"\bbestätigen\s+wir\b", r"\bwir\s+bestätigen\b",
                                    r"\bauftragsbestätigung\b")),
    r"\bconfirmation\s+(?:is\s+)?attached\b", r"\battached\s+(?:is\s+)?our\s+confirmation\b",
    *(_either_spelling(p) for p in (
        r"\banbei\s+(?:unsere|die)\s+(?:auftrags)?bestätigung\b",)),
    "确认如下", "我司确认", "我方确认", "现确认", "兹确认", "附件为确认", "确认单")
# A reply in another language is refused, never guessed: words only these languages use.
FOREIGN_WORDS: tuple[str, ...] = (
    r"\b(?:nous|vous|commande|ligne|livraison|confirmons|pouvons|merci|cordialement|"
    r"bonjour|pièces|quantité)\b",
    r"\b(?:pedido|línea|linea|entrega|confirmamos|podemos|gracias|saludos|piezas|cantidad)\b",
    r"\b(?:ordine|riga|consegna|confermiamo|grazie|pezzi)\b",
    r"\b(?:zamówienie|dziękujemy|objednávka|potvrzujeme|bestelling|bevestigen|regel)\b",
    "[\u3040-\u30ff]", "[\uac00-\ud7af]")
# Numbers that are the supplier's own (its sales order, delivery note, invoice, phone): never
# the buyer's order or line. The line number after one of them is the supplier's too.
SUPPLIER_REFERENCES: tuple[str, ...] = (
    r"\b(?:our|my)\s+(?:sales\s+)?(?:order|reference|ref|so|job|quotation|quote)"
    r"(?:\s*(?:no\.?|nr\.?|number|#))?",
    r"\bsales\s+order(?:\s*(?:no\.?|nr\.?|number|#))?", r"\bso\s*(?:no\.?|nr\.?|#)",
    r"\b(?:delivery\s+note|packing\s+(?:list|slip)|invoice|credit\s+note|quotation|quote|"
    r"tracking|awb|bill\s+of\s+lading)"
    r"(?:\s*(?:no\.?|nr\.?|number|#))?",
    *(_either_spelling(p) for p in (
        r"\bunser(?:e|er|en)?\s+(?:auftrags(?:nummer|nr\.?)?|auftrag|zeichen|referenz|"
        r"angebot|vorgang)", r"\bauftragsbestätigung(?:s(?:nummer|nr\.?))?",
        r"\b(?:lieferschein|rechnung|gutschrift|angebot|sendung)(?:s?(?:nummer|nr\.?|-nr\.?))?")),
    "我方订单号?", "我司订单号?", "我方单号", "销售订单号?", "送货单号?", "发货单号?", "发票号?",
    "运单号?", "报价单号?")
# A supplier's number after one of the words above: its digits, letters and dashes.
SUPPLIER_NUMBER = r"\s*[:#.]?\s*(?:[a-z]{1,4}[-/]?)?\d[\w/-]*"
SUPPLIER_LINE = (r"(?:\s*,?\s*(?:(?:line|pos\.?|position|item|zeile|行号|行|项次)\s*[:#.]?\s*\d+"
                 r"|第\s*\d+\s*行))?")
CONTACT_NUMBERS = (
    r"\b(?:tel|phone|fax|mobile|mob|cell|telefon|telefax|handy)\b\.?\s*[:.]?\s*\+?[\d\s()/.-]{5,30}"
    r"|(?:电话|传真|手机)\s*:?\s*\+?[\d\s()/.-]{5,30}")
