@testable import CallCenter
import Testing

@Suite("Spoken numbers: place in line and wait in Uzbek and Russian")
struct SpokenNumbersTests {
    @Test func uzbekOrdinalsAndCardinals() {
        #expect(SpokenNumbers.uzOrdinal(1) == "birinchi")
        #expect(SpokenNumbers.uzOrdinal(2) == "ikkinchi")
        #expect(SpokenNumbers.uzOrdinal(3) == "uchinchi")
        #expect(SpokenNumbers.uzOrdinal(10) == "o'ninchi")
        #expect(SpokenNumbers.uzOrdinal(20) == "yigirmanchi")
        #expect(SpokenNumbers.uzOrdinal(23) == "yigirma uchinchi")
        #expect(SpokenNumbers.uzCardinal(30) == "o'ttiz")
        #expect(PromptCatalog.prompt("queue-position-3")?.uz == "Siz navbatda uchinchi o'rindasiz.")
        #expect(PromptCatalog.prompt("queue-wait-5")?.uz == "Operator taxminan besh daqiqada javob beradi.")
    }

    @Test func russianAgreement() {
        #expect(SpokenNumbers.ruMinutes(1) == "одну минуту")
        #expect(SpokenNumbers.ruMinutes(2) == "две минуты")
        #expect(SpokenNumbers.ruMinutes(5) == "пять минут")
        #expect(SpokenNumbers.ruMinutes(11) == "одиннадцать минут")
        #expect(SpokenNumbers.ruMinutes(14) == "четырнадцать минут")
        #expect(SpokenNumbers.ruMinutes(21) == "двадцать одну минуту")
        #expect(SpokenNumbers.ruMinutes(22) == "двадцать две минуты")
        #expect(SpokenNumbers.ruMinutes(30) == "тридцать минут")
        #expect(SpokenNumbers.ruOrdinalNeuter(3) == "третье")
        #expect(SpokenNumbers.ruOrdinalNeuter(21) == "двадцать первое")
        #expect(SpokenNumbers.ruOrdinalNeuter(30) == "тридцатое")
        #expect(PromptCatalog.prompt("queue-wait-2")?.ru == "Оператор ответит примерно через две минуты.")
    }

    @Test func everyValueHasAPromptAndLargerOnesSayMore() {
        for n in 1...SpokenNumbers.limit {
            #expect(PromptCatalog.prompt(SpokenNumbers.positionPrompt(n)) != nil)
            #expect(PromptCatalog.prompt(SpokenNumbers.waitPrompt(n)) != nil)
        }
        #expect(SpokenNumbers.positionPrompt(31) == "queue-position-more" && PromptCatalog.prompt("queue-position-more") != nil)
        #expect(SpokenNumbers.waitPrompt(90) == "queue-wait-more" && PromptCatalog.prompt("queue-wait-more") != nil)
        #expect(SpokenNumbers.positionPrompt(0) == "queue-position-1")
    }
}
