/// The IVR's spoken prompts, in Uzbek (Latin) and Russian. `murojaat prompts synthesize` turns each
/// into `<sounds>/<lang>/murojaat/<name>.wav`; Asterisk plays them as `sound:<lang>/murojaat/<name>`.
public struct Prompt: Sendable, Equatable {
    public var name: String
    public var uz: String
    public var ru: String

    public func text(_ language: Language) -> String { language == .uz ? uz : ru }

    /// The `sound:` media URI Asterisk plays: the language's folder is part of the name, so one playback
    /// may hold prompts in both languages.
    public static func media(_ name: String, _ language: Language) -> String { "sound:\(language.rawValue)/murojaat/\(name)" }
}

public enum Language: String, Sendable, CaseIterable, Codable {
    case uz, ru
}

public enum PromptCatalog {
    public static let all: [Prompt] = [
        Prompt(name: "greeting",
               uz: "Assalomu alaykum! Davlat test markazining ishonch telefoniga xush kelibsiz. Qo'ng'iroqlar sifatni nazorat qilish uchun yozib olinadi.",
               ru: "Здравствуйте! Вы позвонили на телефон доверия Государственного центра тестирования. Разговоры записываются для контроля качества."),
        Prompt(name: "choose-language",
               uz: "O'zbek tilida davom etish uchun birni bosing.",
               ru: "Для продолжения на русском языке нажмите два."),
        Prompt(name: "main-menu",
               uz: "Ro'yxatdan o'tish bo'yicha birni, test natijalari bo'yicha ikkini, apellyatsiya bo'yicha uchni, sertifikatlar bo'yicha to'rtni, oliy ta'limga qabul bo'yicha beshni, texnik muammolar bo'yicha oltini, shikoyat va takliflar uchun yettini, umumiy ma'lumot uchun sakkizni bosing. Operator bilan bog'lanish uchun nolni, orqaga qaytish uchun yulduzchani bosing.",
               ru: "По вопросам регистрации нажмите один, результатов тестирования — два, апелляции — три, сертификатов — четыре, приёма в вузы — пять, технических проблем — шесть, жалоб и предложений — семь, общей информации — восемь. Для связи с оператором нажмите ноль, для возврата — звёздочку."),
        Prompt(name: "info-general",
               uz: "Davlat test markazi ish vaqti: dushanbadan jumagacha, soat to'qqizdan o'n sakkizgacha. Rasmiy ma'lumotlar markazning rasmiy saytida e'lon qilinadi. Ishonch telefoni kecha-kunduz ishlaydi.",
               ru: "Государственный центр тестирования работает с понедельника по пятницу с девяти до восемнадцати часов. Официальная информация публикуется на сайте центра. Телефон доверия работает круглосуточно."),
        Prompt(name: "info-results",
               uz: "Test natijalari markazning rasmiy saytida shaxsiy kabinet orqali e'lon qilinadi. Savolingiz qolgan bo'lsa, operator javob beradi.",
               ru: "Результаты тестирования публикуются в личном кабинете на официальном сайте центра. Если у вас остались вопросы, вам ответит оператор."),
        Prompt(name: "invalid-choice",
               uz: "Noto'g'ri tanlov.",
               ru: "Неверный выбор."),
        Prompt(name: "no-input",
               uz: "Siz hech narsa tanlamadingiz.",
               ru: "Вы ничего не выбрали."),
        Prompt(name: "queue-welcome",
               uz: "Hozir barcha operatorlar band. Iltimos, kuting: qo'ng'iroqlar navbat bo'yicha qabul qilinadi.",
               ru: "Сейчас все операторы заняты. Пожалуйста, оставайтесь на линии: звонки принимаются в порядке очереди."),
        Prompt(name: "queue-position",
               uz: "Navbatdagi o'rningiz:",
               ru: "Ваш номер в очереди:"),
        Prompt(name: "queue-wait-minutes",
               uz: "Taxminiy kutish vaqti, daqiqalarda:",
               ru: "Примерное время ожидания в минутах:"),
        Prompt(name: "queue-info",
               uz: "Bilasizmi? Ko'p so'raladigan savollarga javoblarni markaz saytining savol-javob bo'limida topishingiz mumkin.",
               ru: "Знаете ли вы? Ответы на частые вопросы есть в разделе вопросов и ответов на сайте центра."),
        Prompt(name: "callback-offer",
               uz: "Navbatingizni saqlab, sizga qayta qo'ng'iroq qilishimizni istasangiz, birni bosing.",
               ru: "Если хотите, чтобы мы перезвонили вам, сохранив вашу очередь, нажмите один."),
        Prompt(name: "callback-confirmed",
               uz: "Rahmat. Navbatingiz kelganda operator sizga qayta qo'ng'iroq qiladi.",
               ru: "Спасибо. Когда подойдёт ваша очередь, оператор перезвонит вам."),
        Prompt(name: "connecting",
               uz: "Operator bilan bog'lanmoqdasiz.",
               ru: "Соединяем с оператором."),
        Prompt(name: "closed",
               uz: "Bugun dam olish kuni. Murojaatingizni markaz saytidagi onlayn shakl orqali qoldirishingiz mumkin.",
               ru: "Сегодня выходной день. Вы можете оставить обращение через онлайн-форму на сайте центра."),
        Prompt(name: "goodbye",
               uz: "Qo'ng'irog'ingiz uchun rahmat. Xayr.",
               ru: "Спасибо за звонок. До свидания."),
        Prompt(name: "unavailable",
               uz: "Kechirasiz, tizimda texnik ishlar olib borilmoqda. Iltimos, birozdan so'ng qayta qo'ng'iroq qiling.",
               ru: "Извините, в системе проводятся технические работы. Пожалуйста, перезвоните позже."),
    ]

    public static func prompt(_ name: String) -> Prompt? { all.first { $0.name == name } }
}
