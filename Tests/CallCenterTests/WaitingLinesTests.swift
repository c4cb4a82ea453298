@testable import CallCenter
import Foundation
import Testing

@Suite("Waiting lines: per language, first come first, places kept")
struct WaitingLinesTests {
    @Test func placesAreKeptByTicketAndTheLinesMergeInArrivalOrder() {
        var lines = WaitingLines()
        let ids = (0..<6).map { _ in UUID() }
        let languages: [Language] = [.uz, .ru, .uz, .uz, .ru, .uz]
        var tickets: [UInt64] = []
        for (id, language) in zip(ids, languages) {
            let ticket = lines.nextTicket()
            tickets.append(ticket)
            lines.insert(id, ticket: ticket, language: language)
        }
        #expect(lines.all == ids)
        #expect(lines.uz.map(\.id) == [ids[0], ids[2], ids[3], ids[5]])
        #expect(lines.ru.map(\.id) == [ids[1], ids[4]])
        #expect(lines.ahead(of: tickets[3], language: .uz) == 2)
        #expect(lines.ahead(of: tickets[4], language: .ru) == 1)

        // Out of line (being rung): those behind move up; back in, the same place.
        lines.remove(ticket: tickets[0], language: .uz)
        #expect(lines.ahead(of: tickets[3], language: .uz) == 1)
        #expect(lines.ahead(of: tickets[0], language: .uz) == 0)
        lines.insert(ids[0], ticket: tickets[0], language: .uz)
        lines.insert(ids[0], ticket: tickets[0], language: .uz)   // twice: still once
        #expect(lines.all == ids)

        // Removing what is not there changes nothing; a new ticket goes to the back.
        lines.remove(ticket: 999, language: .ru)
        lines.remove(ticket: tickets[1], language: .uz)
        #expect(lines.count == 6)
        let late = UUID()
        lines.insert(late, ticket: lines.nextTicket(), language: .ru)
        #expect(lines.all == ids + [late])
        for (ticket, language) in zip(tickets, languages) { lines.remove(ticket: ticket, language: language) }
        #expect(lines.all == [late] && !lines.isEmpty)
    }

    @Test func manyCallersInAndOutStayInOrder() {
        var lines = WaitingLines()
        var expected: [(UInt64, UUID, Language)] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            if !expected.isEmpty, round % 3 == 2 {
                let index = Int.random(in: 0..<expected.count, using: &generator)
                let (ticket, _, language) = expected.remove(at: index)
                lines.remove(ticket: ticket, language: language)
            } else {
                let entry = (lines.nextTicket(), UUID(), Bool.random(using: &generator) ? Language.uz : .ru)
                expected.append(entry)
                lines.insert(entry.1, ticket: entry.0, language: entry.2)
            }
        }
        #expect(lines.all == expected.map(\.1))
        #expect(lines.uz.map(\.ticket) == expected.filter { $0.2 == .uz }.map(\.0))
    }
}
