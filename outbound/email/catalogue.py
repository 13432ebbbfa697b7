# Chinese sentences use Chinese punctuation (full-width comma, colon, parentheses) on purpose.
# ruff: noqa: RUF001, E501
"""The sentences of replies and reminders, per language. Templates ask for them by key
(`say("ask_quantity", order=..., line=...)`); an operator's own templates may use them too,
or write their own text. Placeholders are filled with values that the templates escape."""

from __future__ import annotations

from collections.abc import Mapping

from outbound.email.content import Language

EN: Mapping[str, str] = {
    "subject_reply": "Your message about our order(s) {orders}",
    "subject_reply_none": "Your message to our purchasing",
    "subject_reminder": "Reminder: please confirm our order(s) {orders}",
    "greeting": "Dear {name} team,",
    "intro": "thank you for your message. This is what our order system understood:",
    "all_clear": "Every line is confirmed as ordered. Nothing more is needed from you.",
    "col_order": "Order",
    "col_line": "Line",
    "col_item": "Item",
    "col_quantity": "Quantity",
    "col_date": "Date",
    "col_price": "Price",
    "col_result": "Understood as",
    "verdict_confirmed": "confirmed as ordered",
    "verdict_changed": "changed",
    "verdict_rejected": "rejected",
    "verdict_not_understood": "not understood",
    "field_quantity": "quantity",
    "field_date": "date",
    "field_price": "price",
    "field_unit": "unit",
    "field_item": "item",
    "change": "{field}: ordered {ordered}, you wrote {said}",
    "needs": "What we need from you:",
    "ask_unknown_order": "We have no open order {order} with you. Please check the order "
                         "number and send the reply again.",
    "ask_no_order_number": "Your message names no order number. Please tell us which order "
                           "it answers.",
    "ask_unknown_line": "Order {order}: your line {line} ({said}) is not on our order. Please "
                        "give our order line number.",
    "ask_ambiguous_line": "Order {order}: the item of your line {line} stands on several of our "
                          "order lines. Please give our order line number.",
    "ask_item": "Order {order}, line {line}: the item differs from the one we ordered. Please "
                "confirm the ordered item or tell us why it differs.",
    "ask_unit": "Order {order}, line {line}: you wrote the unit {said}, we ordered in {ordered}. "
                "Please confirm in the ordered unit.",
    "ask_quantity": "Order {order}, line {line}: you confirmed {said} instead of the ordered "
                    "{ordered}. Please confirm the ordered quantity, or our buyer will "
                    "contact you.",
    "ask_date": "Order {order}, line {line}: you confirmed {said} instead of the requested "
                "{ordered}. Please confirm the requested date if you can.",
    "ask_price": "Order {order}, line {line}: you confirmed the price {said} instead of the "
                 "ordered {ordered}. Please confirm the order price, or our buyer will "
                 "review it.",
    "ask_missing_line": "Order {order}, line {line} is missing from your confirmation. Please "
                        "confirm or reject it.",
    "ask_unclear_line": "Order {order}, line {line}: we read values but no clear confirmation "
                        "or rejection. Please write \"confirmed\" or \"rejected\".",
    "ask_document_number": "The document number {said} was used before for other content. "
                           "Please send changes under a new document number.",
    "ask_rejected": "Order {order}{line_part}: we noted your rejection; our buyer will contact "
                    "you.",
    "line_part": ", line {line}",
    "unread": "We could not read this part of your message with confidence:",
    "unread_line": "Line {line} of your email",
    "unread_attachment": "The attachment {name}",
    "unread_message": "Your message",
    "unread_colon": ":",
    "unread_quote": "(\"{quote}\")",
    "unread_why_not_committed": "we found no clear confirmation or rejection there (it names "
                                "a condition, asks, hedges or promises an answer later)",
    "unread_why_ambiguous": "a value there can be read in more than one way (a date such as "
                            "05/12 is 5 December or 12 May); please write dates as YYYY-MM-DD",
    "unread_why_invalid_value": "a date or number there cannot be read",
    "unread_why_nothing_answered": "it answers no order line in words we can read (a line with "
                                   "an order, a line number and a quantity, date or status)",
    "unread_why_attachment": "it was not read (only EDIFACT, xlsx, xls and csv files are read, "
                             "within a size limit)",
    "unread_why_other": "it could not be read with confidence",
    "fill_in": "Please fill in this table and send it back as a reply to this email:",
    "closing": "Kind regards",
    "signature": "Purchasing (automatic message from our order system; your reply reaches "
                 "our buyers)",
    "reminder_intro": "we have not yet received your confirmation of these order lines:",
    "reminder_ask": "Please confirm quantity, date and price of each line, or tell us what you "
                    "can deliver and when.",
    "reminder_count": "Reminder {number} of at most {of}.",
    "subject_rejection": "Your change to our order {orders} is not accepted",
    "rejection_intro": "we cannot accept the change you sent for this order line:",
    "col_field": "Value",
    "col_ordered": "Our order",
    "col_said": "You said",
    "rejection_stands": "Our order stands as ordered: {field} {ordered}. Please confirm this "
                        "value, or contact our buyer if you cannot deliver it.",
}

DE: Mapping[str, str] = {
    "subject_reply": "Ihre Nachricht zu unserer Bestellung {orders}",
    "subject_reply_none": "Ihre Nachricht an unseren Einkauf",
    "subject_reminder": "Erinnerung: Bitte bestätigen Sie unsere Bestellung {orders}",
    "greeting": "Sehr geehrte Damen und Herren ({name}),",
    "intro": "vielen Dank für Ihre Nachricht. So hat unser Bestellsystem sie verstanden:",
    "all_clear": "Alle Positionen sind wie bestellt bestätigt. Von Ihnen wird nichts weiter "
                 "benötigt.",
    "col_order": "Bestellung",
    "col_line": "Position",
    "col_item": "Artikel",
    "col_quantity": "Menge",
    "col_date": "Termin",
    "col_price": "Preis",
    "col_result": "Verstanden als",
    "verdict_confirmed": "wie bestellt bestätigt",
    "verdict_changed": "geändert",
    "verdict_rejected": "abgelehnt",
    "verdict_not_understood": "nicht verstanden",
    "field_quantity": "Menge",
    "field_date": "Termin",
    "field_price": "Preis",
    "field_unit": "Einheit",
    "field_item": "Artikel",
    "change": "{field}: bestellt {ordered}, Ihre Angabe {said}",
    "needs": "Was wir von Ihnen benötigen:",
    "ask_unknown_order": "Eine offene Bestellung {order} bei Ihnen ist uns nicht bekannt. "
                         "Bitte prüfen Sie die Bestellnummer und senden Sie die Antwort erneut.",
    "ask_no_order_number": "Ihre Nachricht nennt keine Bestellnummer. Bitte teilen Sie uns "
                           "mit, auf welche Bestellung sie sich bezieht.",
    "ask_unknown_line": "Bestellung {order}: Ihre Position {line} ({said}) steht nicht auf "
                        "unserer Bestellung. Bitte nennen Sie unsere Positionsnummer.",
    "ask_ambiguous_line": "Bestellung {order}: Der Artikel Ihrer Position {line} steht auf "
                          "mehreren unserer Positionen. Bitte nennen Sie unsere "
                          "Positionsnummer.",
    "ask_item": "Bestellung {order}, Position {line}: Der Artikel weicht vom bestellten ab. "
                "Bitte bestätigen Sie den bestellten Artikel oder nennen Sie den Grund.",
    "ask_unit": "Bestellung {order}, Position {line}: Sie nennen die Einheit {said}, bestellt "
                "ist {ordered}. Bitte bestätigen Sie in der bestellten Einheit.",
    "ask_quantity": "Bestellung {order}, Position {line}: Sie bestätigen {said} statt der "
                    "bestellten {ordered}. Bitte bestätigen Sie die bestellte Menge, sonst "
                    "meldet sich unser Einkauf bei Ihnen.",
    "ask_date": "Bestellung {order}, Position {line}: Sie bestätigen {said} statt des "
                "gewünschten Termins {ordered}. Bitte bestätigen Sie den Wunschtermin, wenn "
                "möglich.",
    "ask_price": "Bestellung {order}, Position {line}: Sie bestätigen den Preis {said} statt "
                 "des bestellten {ordered}. Bitte bestätigen Sie den Bestellpreis, sonst "
                 "prüft ihn unser Einkauf.",
    "ask_missing_line": "Bestellung {order}, Position {line} fehlt in Ihrer Bestätigung. Bitte "
                        "bestätigen oder lehnen Sie sie ab.",
    "ask_unclear_line": "Bestellung {order}, Position {line}: Wir lesen Werte, aber keine "
                        "klare Bestätigung oder Ablehnung. Bitte schreiben Sie "
                        "„bestätigt“ oder „abgelehnt“.",
    "ask_document_number": "Die Belegnummer {said} wurde schon für einen anderen Inhalt "
                           "verwendet. Bitte senden Sie Änderungen unter einer neuen Nummer.",
    "ask_rejected": "Bestellung {order}{line_part}: Ihre Ablehnung ist vermerkt; unser "
                    "Einkauf meldet sich bei Ihnen.",
    "line_part": ", Position {line}",
    "unread": "Diesen Teil Ihrer Nachricht konnten wir nicht sicher lesen:",
    "unread_line": "Zeile {line} Ihrer E-Mail",
    "unread_attachment": "Der Anhang {name}",
    "unread_message": "Ihre Nachricht",
    "unread_colon": ":",
    "unread_quote": "(„{quote}“)",
    "unread_why_not_committed": "dort fanden wir keine eindeutige Bestätigung oder Ablehnung "
                                "(eine Bedingung, eine Frage, ein Vorbehalt oder eine "
                                "spätere Antwort)",
    "unread_why_ambiguous": "ein Wert dort ist mehrdeutig (ein Datum wie 05/12 ist der "
                            "5. Dezember oder der 12. Mai); bitte schreiben Sie Daten als "
                            "JJJJ-MM-TT",
    "unread_why_invalid_value": "ein Datum oder eine Zahl dort ist nicht lesbar",
    "unread_why_nothing_answered": "sie beantwortet keine Bestellposition in lesbarer Form "
                                   "(eine Zeile mit Bestellung, Position und Menge, Termin "
                                   "oder Status)",
    "unread_why_attachment": "er wurde nicht gelesen (gelesen werden EDIFACT-, xlsx-, xls- und "
                             "csv-Dateien bis zu einer Größengrenze)",
    "unread_why_other": "sie konnte nicht sicher gelesen werden",
    "fill_in": "Bitte füllen Sie diese Tabelle aus und senden Sie sie als Antwort auf diese "
               "E-Mail zurück:",
    "closing": "Mit freundlichen Grüßen",
    "signature": "Einkauf (automatische Nachricht unseres Bestellsystems; Ihre Antwort "
                 "erreicht unseren Einkauf)",
    "reminder_intro": "für diese Bestellpositionen liegt uns noch keine Bestätigung vor:",
    "reminder_ask": "Bitte bestätigen Sie Menge, Termin und Preis jeder Position, oder teilen "
                    "Sie uns mit, was Sie wann liefern können.",
    "reminder_count": "Erinnerung {number} von höchstens {of}.",
    "subject_rejection": "Ihre Änderung zu unserer Bestellung {orders} wird nicht akzeptiert",
    "rejection_intro": "die Änderung, die Sie zu dieser Bestellposition gesendet haben, können "
                       "wir nicht akzeptieren:",
    "col_field": "Wert",
    "col_ordered": "Unsere Bestellung",
    "col_said": "Ihre Angabe",
    "rejection_stands": "Es gilt unsere Bestellung: {field} {ordered}. Bitte bestätigen Sie "
                        "diesen Wert, oder wenden Sie sich an unseren Einkauf, wenn Sie ihn "
                        "nicht einhalten können.",
}

ZH: Mapping[str, str] = {
    "subject_reply": "关于我方订单 {orders} 的来信",
    "subject_reply_none": "您致我方采购部的来信",
    "subject_reminder": "提醒：请确认我方订单 {orders}",
    "greeting": "{name} 团队，您好：",
    "intro": "感谢您的来信。我方订单系统的理解如下：",
    "all_clear": "所有行项目均已按订单确认，无需您再做任何处理。",
    "col_order": "订单",
    "col_line": "行号",
    "col_item": "物料",
    "col_quantity": "数量",
    "col_date": "日期",
    "col_price": "价格",
    "col_result": "理解为",
    "verdict_confirmed": "按订单确认",
    "verdict_changed": "有变更",
    "verdict_rejected": "拒绝",
    "verdict_not_understood": "未能理解",
    "field_quantity": "数量",
    "field_date": "日期",
    "field_price": "价格",
    "field_unit": "单位",
    "field_item": "物料",
    "change": "{field}：订单为 {ordered}，您填写的是 {said}",
    "needs": "需要您处理的事项：",
    "ask_unknown_order": "我方没有向贵司下达的未结订单 {order}。请核对订单号后重新回复。",
    "ask_no_order_number": "您的来信未注明订单号。请告知对应的订单。",
    "ask_unknown_line": "订单 {order}：您的第 {line} 行（{said}）不在我方订单上。请注明我方订单行号。",
    "ask_ambiguous_line": "订单 {order}：您第 {line} 行的物料对应我方多个订单行。请注明我方订单行号。",
    "ask_item": "订单 {order} 第 {line} 行：物料与订购的不一致。请确认订购的物料或说明原因。",
    "ask_unit": "订单 {order} 第 {line} 行：您使用的单位为 {said}，订单单位为 {ordered}。请按订单单位确认。",
    "ask_quantity": "订单 {order} 第 {line} 行：您确认的数量为 {said}，订购数量为 {ordered}。"
                    "请确认订购数量，否则我方采购会与您联系。",
    "ask_date": "订单 {order} 第 {line} 行：您确认的日期为 {said}，要求日期为 {ordered}。"
                "如可能，请确认要求日期。",
    "ask_price": "订单 {order} 第 {line} 行：您确认的价格为 {said}，订单价格为 {ordered}。"
                 "请确认订单价格，否则我方采购将进行审核。",
    "ask_missing_line": "订单 {order} 第 {line} 行未包含在您的确认中。请确认或拒绝该行。",
    "ask_unclear_line": "订单 {order} 第 {line} 行：我方读到了数值，但没有明确的确认或拒绝。"
                        "请注明“确认”或“拒绝”。",
    "ask_document_number": "单据号 {said} 之前已用于其他内容。请使用新的单据号发送变更。",
    "ask_rejected": "订单 {order}{line_part}：我方已记录您的拒绝，采购会与您联系。",
    "line_part": " 第 {line} 行",
    "unread": "您来信中的以下部分我方无法准确读取：",
    "unread_line": "您邮件的第 {line} 行",
    "unread_attachment": "附件 {name}",
    "unread_message": "您的来信",
    "unread_colon": "：",
    "unread_quote": "（“{quote}”）",
    "unread_why_not_committed": "其中没有明确的确认或拒绝（含有条件、疑问、保留或稍后答复）",
    "unread_why_ambiguous": "其中的数值有多种理解（例如 05/12 可能是 12 月 5 日或 5 月 12 日）；"
                            "请按 YYYY-MM-DD 格式填写日期",
    "unread_why_invalid_value": "其中的日期或数字无法读取",
    "unread_why_nothing_answered": "未以可读取的方式答复任何订单行（每行应包含订单号、行号及数量、"
                                   "日期或状态）",
    "unread_why_attachment": "该附件未被读取（仅读取一定大小以内的 EDIFACT、xlsx、xls 和 csv 文件）",
    "unread_why_other": "无法准确读取",
    "fill_in": "请填写下表，并直接回复本邮件发回：",
    "closing": "此致敬礼",
    "signature": "采购部（订单系统自动发送；您的回复将送达我方采购人员）",
    "reminder_intro": "以下订单行我方尚未收到您的确认：",
    "reminder_ask": "请确认每一行的数量、日期和价格，或告知可交付的数量和时间。",
    "reminder_count": "第 {number} 次提醒（最多 {of} 次）。",
    "subject_rejection": "我方不接受您对订单 {orders} 的变更",
    "rejection_intro": "您对以下订单行提出的变更，我方无法接受：",
    "col_field": "项目",
    "col_ordered": "我方订单",
    "col_said": "您的数值",
    "rejection_stands": "以我方订单为准：{field} {ordered}。请确认该数值；如无法满足，请联系我方采购。",
}

CATALOGUE: Mapping[Language, Mapping[str, str]] = {Language.EN: EN, Language.DE: DE,
                                                  Language.ZH: ZH}
