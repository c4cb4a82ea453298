import Foundation

/// The audit log in words: what was done, to what, and the details, in the reader's language.
enum AuditStrings {
    static let actions: [String: [UILanguage: String]] = [
        "login": [.uz: "Tizimga kirdi", .ru: "Вход в систему"],
        "login.failed": [.uz: "Kirish rad etildi", .ru: "Неудачный вход"],
        "login.locked": [.uz: "Hisob vaqtincha bloklandi", .ru: "Учётная запись временно заблокирована"],
        "logout": [.uz: "Tizimdan chiqdi", .ru: "Выход из системы"],
        "appeal.create": [.uz: "Murojaat yaratildi", .ru: "Обращение создано"],
        "appeal.view": [.uz: "Murojaat ko'rildi", .ru: "Просмотр обращения"],
        "appeal.print": [.uz: "Murojaat chop etildi", .ru: "Печать обращения"],
        "appeal.status": [.uz: "Murojaat holati o'zgartirildi", .ru: "Изменён статус обращения"],
        "appeal.forward": [.uz: "Devonxonaga yuborildi", .ru: "Передано в канцелярию"],
        "appeal.official_text": [.uz: "Rasmiy matn saqlandi", .ru: "Сохранён официальный текст"],
        "appeal.chancery_number": [.uz: "Devonxona raqami yozildi", .ru: "Записан номер канцелярии"],
        "appeal.sms": [.uz: "Fuqaroga SMS", .ru: "SMS гражданину"],
        "call.monitor": [.uz: "Qo'ng'iroq tinglandi", .ru: "Прослушивание звонка"],
        "calls.search": [.uz: "Qo'ng'iroqlar qidirildi", .ru: "Поиск звонков"],
        "recording.play": [.uz: "Yozuv tinglandi", .ru: "Прослушивание записи"],
        "recording.download": [.uz: "Yozuv yuklab olindi", .ru: "Скачивание записи"],
        "kb.create": [.uz: "Bilimlar bazasiga maqola qo'shildi", .ru: "Статья базы знаний создана"],
        "kb.edit": [.uz: "Bilimlar bazasi maqolasi tahrirlandi", .ru: "Статья базы знаний изменена"],
        "topic.create": [.uz: "Mavzu qo'shildi", .ru: "Тема создана"],
        "topic.edit": [.uz: "Mavzu tahrirlandi", .ru: "Тема изменена"],
        "operator.update": [.uz: "Operator ma'lumotlari o'zgartirildi", .ru: "Изменены данные оператора"],
        "user.create": [.uz: "Foydalanuvchi yaratildi", .ru: "Пользователь создан"],
        "user.activate": [.uz: "Foydalanuvchi faollashtirildi", .ru: "Пользователь включён"],
        "user.deactivate": [.uz: "Foydalanuvchi o'chirildi", .ru: "Пользователь отключён"],
        "team.save": [.uz: "Jamoa saqlandi", .ru: "Команда сохранена"],
        "settings.update": [.uz: "Sozlamalar saqlandi", .ru: "Настройки сохранены"],
        "settings.test": [.uz: "Kanal tekshirildi", .ru: "Проверка канала"],
        "outbox.retry": [.uz: "Xabar qayta yuborildi", .ru: "Повторная отправка сообщения"],
        "stats.export": [.uz: "Statistika eksport qilindi", .ru: "Выгрузка статистики"],
        "qa.sample": [.uz: "Baholash uchun tanlandi", .ru: "Выборка для оценки"],
        "qa.save": [.uz: "Baholash saqlandi", .ru: "Оценка сохранена"],
        "qa.finalize": [.uz: "Baholash yakunlandi", .ru: "Оценка завершена"],
        "qa.form": [.uz: "Baholash shakli saqlandi", .ru: "Форма оценки сохранена"],
        "qa.answers_review": [.uz: "Javoblar ko'rib chiqildi", .ru: "Просмотр ответов"],
    ]

    static let objects: [String: [UILanguage: String]] = [
        "appeal": [.uz: "Murojaat", .ru: "Обращение"], "call": [.uz: "Qo'ng'iroq", .ru: "Звонок"],
        "channel": [.uz: "Kanal", .ru: "Канал"], "kb_article": [.uz: "Maqola", .ru: "Статья"],
        "outbox": [.uz: "Xabar", .ru: "Сообщение"], "phone": [.uz: "Telefon", .ru: "Телефон"],
        "qa_evaluation": [.uz: "Baholash", .ru: "Оценка"], "qa_form": [.uz: "Baholash shakli", .ru: "Форма оценки"],
        "recording": [.uz: "Yozuv", .ru: "Запись"], "settings": [.uz: "Sozlamalar", .ru: "Настройки"],
        "stats": [.uz: "Statistika", .ru: "Статистика"], "team": [.uz: "Jamoa", .ru: "Команда"],
        "topic": [.uz: "Mavzu", .ru: "Тема"], "user": [.uz: "Foydalanuvchi", .ru: "Пользователь"],
    ]

    static let details: [String: [UILanguage: String]] = [
        "call": [.uz: "Qo'ng'iroq", .ru: "Звонок"], "created": [.uz: "Yaratildi", .ru: "Создано"],
        "criteria": [.uz: "Mezonlar", .ru: "Критерии"], "endpoint": [.uz: "Telefon", .ru: "Телефон"],
        "extension": [.uz: "Ichki raqam", .ru: "Внутренний номер"], "format": [.uz: "Format", .ru: "Формат"],
        "from": [.uz: "Dan", .ru: "С"], "to": [.uz: "Gacha", .ru: "По"], "keys": [.uz: "Sozlamalar", .ru: "Настройки"],
        "login": [.uz: "Login", .ru: "Логин"], "mode": [.uz: "Rejim", .ru: "Режим"], "monitor": [.uz: "Kim tingladi", .ru: "Кто слушал"],
        "number": [.uz: "Raqam", .ru: "Номер"], "ok": [.uz: "Natija", .ru: "Результат"], "role": [.uz: "Rol", .ru: "Роль"],
        "ru": [.uz: "Rus tili", .ru: "Русский"], "uz": [.uz: "O'zbek tili", .ru: "Узбекский"], "score": [.uz: "Ball", .ru: "Балл"],
        "source": [.uz: "Manba", .ru: "Источник"], "team": [.uz: "Jamoa", .ru: "Команда"], "zip": [.uz: "Arxiv", .ru: "Архив"],
    ]

    static func action(_ code: String, _ language: UILanguage) -> String { actions[code]?[language] ?? code }
    static func object(_ type: String?, _ id: String?, _ language: UILanguage) -> String {
        guard let type else { return id ?? "" }
        let name = objects[type]?[language] ?? type
        guard let id, !id.isEmpty else { return name }
        // A channel is named by its code: show its name.
        if type == "channel" { return "\(name): \(Strings.text("channel_\(id)", language))" }
        return "\(name) #\(id)"
    }

    /// `{"ok": "no", "role": "operator"}` as "Natija: yo'q · Rol: Operator".
    static func details(_ json: String, _ language: UILanguage) -> String {
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return json }
        return object.keys.sorted().map { key -> String in
            let label = details[key]?[language] ?? key
            var value = object[key].map { "\($0)" } ?? ""
            switch (key, value) {
            case ("ok", "yes"), (_, "true"): value = Strings.text("yes", language)
            case ("ok", "no"), (_, "false"): value = Strings.text("no", language)
            case ("role", _): value = Strings.text("role_\(value)", language)
            case ("source", _): value = Strings.text("source_\(value)", language)
            case ("to", _) where AppealStatus(rawValue: value) != nil: value = Strings.text("status_\(value)", language)
            case ("from", _), ("to", _): value = DisplayTime.showDay(value)
            case ("mode", _): value = Strings.text("monitor_\(value)", language)
            default: break
            }
            return "\(label): \(value)"
        }.joined(separator: " · ")
    }
}
