@testable import CallCenter
import ARI
import Foundation
import Synchronization
import Logging
import Testing

/// A store that refuses calls with a topic it does not know, as a foreign key would.
actor StrictStore: CallStore {
    struct Refused: Error {}
    struct Down: Error {}
    var saved: [CallRecord] = []
    var events = 0
    var down = false
    func setDown(_ value: Bool) { down = value }
    func save(_ call: CallRecord) async throws {
        if down { throw Down() }
        if call.topic == "no-such-topic" { throw Refused() }
        saved.append(call)
    }
    func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws {
        if down { throw Down() }
        events += 1
    }
    func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws {}
    func saveRecording(_ recording: RecordingRecord) async throws {}
    func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws {}
    func loadOperators() async throws -> [OperatorInfo] { [] }
    func closeLostCalls(server: String, except: Set<String>, at: Date) async throws -> Int { 0 }
    nonisolated func isPermanent(_ error: any Error) -> Bool { error is Refused }
}

@Suite("The call journal")
struct CallJournalTests {
    @Test func aRefusedEntryIsSetAsideAndTheRestIsWrittenInOrder() async throws {
        let store = StrictStore()
        let journal = CallJournal(store: store, logger: Logger(label: "test"))
        var bad = CallRecord(server: "ast1", channelId: "c1", callerNumber: "1", dialledNumber: "1000")
        bad.topic = "no-such-topic"
        let good = CallRecord(server: "ast1", channelId: "c2", callerNumber: "2", dialledNumber: "1000")
        journal.append(.call(bad))
        journal.append(.call(good))
        journal.append(.event(good.id, Date(), "started", [:]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await journal.run() }
            #expect(await journal.flush())
            group.cancelAll()
        }
        #expect(await store.saved.map(\.channelId) == ["c2"])
        #expect(await store.events == 1)
        #expect(journal.rejectedEntries.count == 1)
    }

    @Test func anUnreachableStoreIsRetriedUntilItComesBack() async throws {
        let store = StrictStore()
        await store.setDown(true)
        let journal = CallJournal(store: store, logger: Logger(label: "test"))
        for n in 0..<500 {
            journal.append(.call(CallRecord(server: "ast1", channelId: "c\(n)", callerNumber: "\(n)", dialledNumber: "1000")))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await journal.run() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(journal.backlog == 500)
            await store.setDown(false)
            #expect(await journal.flush(timeout: .seconds(15)))
            group.cancelAll()
        }
        #expect(await store.saved.map(\.channelId) == (0..<500).map { "c\($0)" })
        #expect(journal.rejectedEntries.isEmpty)
    }
}

/// A store whose every write takes a while, as a transaction with a WAL flush does, counting its batches.
actor SlowStore: CallStore {
    var batches = 0
    var entries = 0
    func write(_ batch: [CallJournal.Entry]) async throws {
        try? await Task.sleep(for: .milliseconds(20))
        batches += 1
        entries += batch.count
    }
    func save(_ call: CallRecord) async throws {}
    func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws {}
    func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws {}
    func saveRecording(_ recording: RecordingRecord) async throws {}
    func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws {}
    func loadOperators() async throws -> [OperatorInfo] { [] }
    func closeLostCalls(server: String, except: Set<String>, at: Date) async throws -> Int { 0 }
    nonisolated func isPermanent(_ error: any Error) -> Bool { false }
}

@Suite("The call journal's group commit")
struct CallJournalGroupCommitTests {
    /// Entries arriving steadily (one every 2 ms for a second) are written about once per linger period
    /// (100 ms), not back to back as each write finishes (every 20 ms here), which made one transaction of
    /// several round trips per write whatever the load.
    @Test func steadyTrafficIsWrittenInFewBatches() async throws {
        let store = SlowStore()
        let journal = CallJournal(store: store, logger: Logger(label: "test"))
        let clock = ContinuousClock(), started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await journal.run() }
            for n in 0..<500 {
                journal.append(.event(UUID(), Date(), "tick", ["n": "\(n)"]))
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(await journal.flush(timeout: .seconds(10)))
            group.cancelAll()
        }
        let elapsed = clock.now - started
        let batches = await store.batches
        #expect(await store.entries == 500)
        // At most one batch per 100 ms linger (plus the write) over however long the traffic lasted (a loaded
        // machine stretches the sleeps); writing back to back would make one per 20 ms write, five times more.
        let periods = Int(elapsed / .milliseconds(100))
        #expect(batches >= 2 && batches <= periods + 3, "batches: \(batches) in \(elapsed)")
    }
}

/// A transport whose downloads end when the test says so (a slow Asterisk).
final class HeldDownloads: ARITransport, @unchecked Sendable {
    let held = Mutex<[(String, @Sendable (Result<Int, any Error>) -> Void)]>([])
    func send(_ request: ARIRequest) async throws -> ARIResponse { ARIResponse(status: 204, contentType: nil, body: Data()) }
    func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse { throw ARIError.transport("not here") }
    func download(_ request: ARIRequest, toFile path: String) async throws -> Int { throw ARIError.transport("not here") }
    func download(_ request: ARIRequest, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        held.withLock { $0.append((path, completion)) }
    }
    var count: Int { held.withLock { $0.count } }
    /// Ends the held downloads as the HTTP transport would: the file written, or the typed failure. `together`:
    /// every file is tried before any completion runs (copies ending at the same moment).
    func release(together: Bool = false) {
        let ending = held.withLock({ held in defer { held = [] }; return held })
        var results: [(Result<Int, any Error>, @Sendable (Result<Int, any Error>) -> Void)] = []
        for (path, completion) in ending {
            let result = Result {
                let file = try DownloadFile(path: path)
                try Data(count: 16_044).withUnsafeBytes { try file.write($0) }
                return try file.finish()
            }
            if together { results.append((result, completion)) } else { completion(result) }
        }
        for (result, completion) in results { completion(result) }
    }
}

@Suite("Recording copies: waiting for them at shutdown, and their folders")
struct RecordingCopyShutdownTests {
    @Test func shutdownWaitsForCopiesStillRunningAndTheirRowsAreJournalled() async throws {
        let store = InMemoryCallStore()
        let journal = CallJournal(store: store, linger: .zero, logger: Logger(label: "test"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
        try FileManager.default.createDirectory(atPath: directory.path + "/" + CallCenter.localDay(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let center = CallCenter(settings: CallCenterSettings(), journal: journal, recordingsDirectory: directory)
        let transport = HeldDownloads()
        await center.addServer("ast1", client: ARIClient(transport: transport, application: "murojaat"))
        let ids = [UUID.random(), UUID.random()]
        for id in ids {
            await center.fetchRecording(LiveRecording(name: id.uuidString.lowercased(), format: "wav", targetUri: "bridge:x", state: "done"),
                                        callId: id, server: "ast1")
        }
        #expect(await center.finishCopies(timeout: .milliseconds(100)) == false, "two copies are still running")
        // A cancelled shutdown does not wait out the timeout (nor spin through it).
        let started = ContinuousClock.now
        let cancelled = Task { await center.finishCopies(timeout: .seconds(30)) }
        cancelled.cancel()
        #expect(await cancelled.value == false)
        #expect(ContinuousClock.now - started < .seconds(10))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await journal.run() }
            Task { try await Task.sleep(for: .milliseconds(200)); transport.release() }
            #expect(await center.finishCopies(timeout: .seconds(5)))
            #expect(await journal.flush())
            let rows = await store.recordings.values
            #expect(rows.count == 2 && rows.allSatisfy { $0.sizeBytes == 16_044 && $0.durationSeconds == 1 && $0.storagePath != nil })
            group.cancelAll()
        }
    }

    @Test func aCopyMakesTheDaysFolderButNeverAMissingRecordingsFolder() async throws {
        let store = InMemoryCallStore()
        let journal = CallJournal(store: store, linger: .zero, logger: Logger(label: "test"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let center = CallCenter(settings: CallCenterSettings(), journal: journal, recordingsDirectory: root)
        #expect(FileManager.default.fileExists(atPath: root.path), "made at start")
        let transport = HeldDownloads()
        await center.addServer("ast1", client: ARIClient(transport: transport, application: "murojaat"))
        func copy(_ id: UUID) async {
            await center.fetchRecording(LiveRecording(name: id.uuidString.lowercased(), format: "wav", targetUri: "bridge:x", state: "done"),
                                        callId: id, server: "ast1")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await journal.run() }
            // The day's folder is missing: the first copy makes it and tries again.
            let first = UUID.random()
            await copy(first)
            try await Task.sleep(for: .milliseconds(20))
            transport.release()
            #expect(transport.count == 1, "tried again once the day's folder was made")
            transport.release()
            #expect(await center.finishCopies(timeout: .seconds(5)))
            let day = root.path + "/" + CallCenter.localDay()
            #expect(FileManager.default.fileExists(atPath: day + "/" + first.uuidString.lowercased() + ".wav"))
            // Two copies find the day's folder missing at once: one makes it, the other finds it made; both retry.
            try FileManager.default.removeItem(atPath: day)
            let pair = [UUID.random(), UUID.random()]
            for id in pair { await copy(id) }
            try await Task.sleep(for: .milliseconds(20))
            transport.release(together: true)
            #expect(transport.count == 2, "both tried again")
            transport.release()
            #expect(await center.finishCopies(timeout: .seconds(5)))
            for id in pair { #expect(FileManager.default.fileExists(atPath: day + "/" + id.uuidString.lowercased() + ".wav")) }
            // The recordings folder itself is gone (an unmounted volume): the copy fails, nothing is made.
            try FileManager.default.removeItem(at: root)
            let second = UUID.random()
            await copy(second)
            try await Task.sleep(for: .milliseconds(20))
            transport.release()
            #expect(await center.finishCopies(timeout: .seconds(5)))
            #expect(!FileManager.default.fileExists(atPath: root.path))
            #expect(await journal.flush())
            let rows = await store.recordings
            #expect(rows[first.uuidString.lowercased()]?.storagePath != nil)
            #expect(rows[second.uuidString.lowercased()]?.error?.hasPrefix("copy from Asterisk failed") == true)
            #expect(rows[second.uuidString.lowercased()]?.storagePath == nil)
            group.cancelAll()
        }
    }
}
