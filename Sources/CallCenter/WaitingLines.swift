import Foundation

/// Callers waiting for an operator: one line per language, each in the order callers joined (a ticket
/// number). A caller being rung is out of line and goes back to the same place when the operator does not
/// answer. Routing looks at the two heads only, and a caller's place is a binary search: the single list
/// of every queued call it replaces was walked, with a session lookup per call, on each routing decision
/// and each announcement — at 300 callers waiting, hundreds of lookups per event.
struct WaitingLines {
    struct Entry: Equatable {
        var ticket: UInt64
        var id: UUID
    }

    private(set) var uz: [Entry] = []
    private(set) var ru: [Entry] = []
    private var lastTicket: UInt64 = 0

    /// A place at the back of the lines.
    mutating func nextTicket() -> UInt64 {
        lastTicket += 1
        return lastTicket
    }

    func line(_ language: Language) -> [Entry] {
        language == .uz ? uz : ru
    }

    var isEmpty: Bool { uz.isEmpty && ru.isEmpty }
    var count: Int { uz.count + ru.count }

    /// Puts the caller at its ticket's place (once: a second insert of the same ticket changes nothing).
    mutating func insert(_ id: UUID, ticket: UInt64, language: Language) {
        modify(language) { line in
            let at = Self.lowerBound(line, ticket)
            guard at == line.count || line[at].ticket != ticket else { return }
            line.insert(Entry(ticket: ticket, id: id), at: at)
        }
    }

    /// Takes the caller with this ticket out of its line, if it is there.
    mutating func remove(ticket: UInt64, language: Language) {
        modify(language) { line in
            let at = Self.lowerBound(line, ticket)
            if at < line.count, line[at].ticket == ticket { line.remove(at: at) }
        }
    }

    /// How many callers of the language are ahead of this ticket (in line or not).
    func ahead(of ticket: UInt64, language: Language) -> Int {
        Self.lowerBound(line(language), ticket)
    }

    /// Every caller in line, first come first.
    var all: [UUID] {
        var result: [UUID] = []
        result.reserveCapacity(count)
        var i = 0, j = 0
        while i < uz.count || j < ru.count {
            if j == ru.count || (i < uz.count && uz[i].ticket < ru[j].ticket) {
                result.append(uz[i].id)
                i += 1
            } else {
                result.append(ru[j].id)
                j += 1
            }
        }
        return result
    }

    private mutating func modify(_ language: Language, _ body: (inout [Entry]) -> Void) {
        switch language {
        case .uz: body(&uz)
        case .ru: body(&ru)
        }
    }

    /// The first index whose ticket is not below `ticket`.
    static func lowerBound(_ line: [Entry], _ ticket: UInt64) -> Int {
        var low = 0, high = line.count
        while low < high {
            let mid = (low + high) / 2
            if line[mid].ticket < ticket { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
