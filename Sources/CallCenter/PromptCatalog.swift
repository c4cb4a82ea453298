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
    public static let all: [Prompt] = fixed + SpokenNumbers.prompts

    static let fixed: [Prompt] = [
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

/// The caller's place in line and the expected wait, spoken as whole phrases with the number in words and the grammar
/// of each language ("Siz navbatda uchinchi o'rindasiz", "Оператор ответит примерно через две минуты"). Asterisk's
/// `say` has no Uzbek and a default install has no Russian digits, so the app plays its own prompts: one per value up
/// to `limit`, and one for "more than that".
public enum SpokenNumbers {
    public static let limit = 30

    /// The prompt naming place `n` in line.
    public static func positionPrompt(_ n: Int) -> String { n > limit ? "queue-position-more" : "queue-position-\(max(1, n))" }
    /// The prompt naming an expected wait of `minutes`.
    public static func waitPrompt(_ minutes: Int) -> String { minutes > limit ? "queue-wait-more" : "queue-wait-\(max(1, minutes))" }

    public static let prompts: [Prompt] = (1...limit).map { n in
        Prompt(name: "queue-position-\(n)", uz: "Siz navbatda \(uzOrdinal(n)) o'rindasiz.", ru: "Ваше место в очереди — \(ruOrdinalNeuter(n)).")
    } + [Prompt(name: "queue-position-more", uz: "Navbatda sizdan oldin \(uzCardinal(limit))dan ortiq kishi bor.",
                ru: "Перед вами в очереди более тридцати человек.")]
      + (1...limit).map { m in
        Prompt(name: "queue-wait-\(m)", uz: "Operator taxminan \(uzCardinal(m)) daqiqada javob beradi.",
               ru: "Оператор ответит примерно через \(ruMinutes(m)).")
    } + [Prompt(name: "queue-wait-more", uz: "Kutish vaqti yarim soatdan ko'proq bo'lishi mumkin.",
                ru: "Ожидание может занять более получаса.")]

    static let uzOnes = ["", "bir", "ikki", "uch", "to'rt", "besh", "olti", "yetti", "sakkiz", "to'qqiz"]
    static let uzTens = ["", "o'n", "yigirma", "o'ttiz"]

    /// 1…39 in Uzbek words: "yigirma uch".
    public static func uzCardinal(_ n: Int) -> String {
        [uzTens[n / 10], uzOnes[n % 10]].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Uzbek ordinal: -nchi after a vowel, -inchi after a consonant ("ikkinchi", "uchinchi", "o'ninchi").
    public static func uzOrdinal(_ n: Int) -> String {
        let cardinal = uzCardinal(n)
        return cardinal + ("aeiou".contains(cardinal.last!) ? "nchi" : "inchi")
    }

    static let ruOrdinalsNeuter = ["", "первое", "второе", "третье", "четвёртое", "пятое", "шестое", "седьмое", "восьмое", "девятое", "десятое",
                                   "одиннадцатое", "двенадцатое", "тринадцатое", "четырнадцатое", "пятнадцатое", "шестнадцатое",
                                   "семнадцатое", "восемнадцатое", "девятнадцатое", "двадцатое"]
    static let ruTens = ["", "десять", "двадцать", "тридцать"]
    /// Feminine accusative (after "через … минут"): одну, две.
    static let ruOnesFeminine = ["", "одну", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
    static let ruTeens = ["десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать",
                          "семнадцать", "восемнадцать", "девятнадцать"]

    /// "Ваше место — третье / двадцать первое / тридцатое".
    public static func ruOrdinalNeuter(_ n: Int) -> String {
        if n <= 20 { return ruOrdinalsNeuter[n] }
        if n % 10 == 0 { return n == 30 ? "тридцатое" : ruOrdinalsNeuter[20] }
        return ruTens[n / 10] + " " + ruOrdinalsNeuter[n % 10]
    }

    /// "через одну минуту / две минуты / пять минут / двадцать одну минуту".
    public static func ruMinutes(_ m: Int) -> String {
        let words = (10...19).contains(m) ? ruTeens[m - 10] : [ruTens[m / 10], ruOnesFeminine[m % 10]].filter { !$0.isEmpty }.joined(separator: " ")
        let noun = (11...14).contains(m % 100) ? "минут" : m % 10 == 1 ? "минуту" : (2...4).contains(m % 10) ? "минуты" : "минут"
        return words + " " + noun
    }
}
