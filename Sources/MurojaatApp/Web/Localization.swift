import Foundation

/// Interface texts in Uzbek (Latin) and Russian.
enum UILanguage: String, CaseIterable, Sendable {
    case uz, ru

    /// `?lang=` wins, then the `lang` cookie, then Uzbek.
    static func pick(query: String?, cookie: String?) -> UILanguage {
        query.flatMap(UILanguage.init(rawValue:)) ?? cookie.flatMap(UILanguage.init(rawValue:)) ?? .uz
    }
}

enum Strings {
    static let table: [String: [UILanguage: String]] = [
        "title": [.uz: "Murojaat — DTM ishonch telefoni", .ru: "Murojaat — телефон доверия ГЦТ"],
        "center": [.uz: "Davlat test markazi", .ru: "Государственный центр тестирования"],
        "status": [.uz: "Tizim holati", .ru: "Состояние системы"],
        "database": [.uz: "Ma'lumotlar bazasi", .ru: "База данных"],
        "telephony": [.uz: "Telefoniya (Asterisk)", .ru: "Телефония (Asterisk)"],
        "connected": [.uz: "ulangan", .ru: "подключено"],
        "disconnected": [.uz: "uzilgan", .ru: "отключено"],
        "ok": [.uz: "ishlayapti", .ru: "работает"],
        "unavailable": [.uz: "ishlamayapti", .ru: "недоступна"],
        "no_asterisk": [.uz: "Asterisk sozlanmagan", .ru: "Asterisk не настроен"],
        "calls_today": [.uz: "Bugungi qo'ng'iroqlar", .ru: "Звонков сегодня"],
        "events": [.uz: "hodisalar", .ru: "событий"],
        "since": [.uz: "dan beri", .ru: "с"],
        "not_found": [.uz: "Sahifa topilmadi", .ru: "Страница не найдена"],
        "server_error": [.uz: "Serverda xatolik yuz berdi. Keyinroq urinib ko'ring.", .ru: "Ошибка на сервере. Попробуйте позже."],
    ]

    static let merged: [String: [UILanguage: String]] = table.merging(backOffice) { first, _ in first }.merging(statistics) { first, _ in first }

    static func all(_ language: UILanguage) -> [String: String] {
        merged.mapValues { $0[language] ?? "" }
    }

    static func text(_ key: String, _ language: UILanguage) -> String {
        merged[key]?[language] ?? key
    }
}
