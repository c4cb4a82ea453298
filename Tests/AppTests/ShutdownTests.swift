import AsyncHTTPClient
import PostgresNIO
import Synchronization
import Foundation
import Testing
import TestSupport

/// The README's run command keeps running until Ctrl-C: the whole process (web, Stasis app, journal,
/// simulator, generated callers) must stop promptly on SIGTERM and SIGINT.
@Suite("Stopping the process", .serialized)
struct ShutdownTests {
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/murojaat").standardized
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func demoStopsPromptlyOnASignal(_ signal: Int32) async throws {
        try await withMigratedDatabase { database in
            let process = Process()
            process.executableURL = Self.binary
            // Ports the system reports free (a random one in 30001–40000 fell in the ephemeral range and was once taken).
            let asteriskPort = try FreePort.tcp(), httpPort = try FreePort.tcp()
            process.arguments = ["demo", "--asterisk-port", "\(asteriskPort)", "--call-interval", "0.5"]
            var environment = ProcessInfo.processInfo.environment
            environment["MUROJAAT_DATABASE_URL"] = "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            environment["MUROJAAT_HTTP_PORT"] = "\(httpPort)"
            environment["MUROJAAT_TEMPLATES_DIR"] = Self.binary.deletingLastPathComponent().appendingPathComponent("../../Templates").standardized.path
            environment["MUROJAAT_PUBLIC_DIR"] = Self.binary.deletingLastPathComponent().appendingPathComponent("../../Public").standardized.path
            process.environment = environment
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let logHandle = try FileHandle(forWritingTo: log)
            process.standardOutput = logHandle
            process.standardError = logHandle
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            // Up: the web server answers and calls are being generated.
            let clock = ContinuousClock()
            var up = false
            let deadline = clock.now.advanced(by: .seconds(60))
            while clock.now < deadline && process.isRunning {
                if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(httpPort)/health"), timeout: .seconds(2)),
                   response.status.code < 600 {
                    up = true
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(up, "the demo came up")
            try await Task.sleep(for: .seconds(3))
            // The demo's callers went through the call flow wired as in production (events handed over on the
            // call flow's loop, requests pipelined on the socket) and reached the database.
            let calls = Mutex(0)
            while calls.withLock({ $0 }) == 0 && clock.now < deadline {
                try await withPostgres(database) { client in
                    for try await count in try await client.query("SELECT count(*)::int FROM calls").decode(Int.self) {
                        calls.withLock { $0 = count }
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(calls.withLock { $0 } > 0, "calls were handled")
            let sent = clock.now
            kill(process.processIdentifier, signal)
            while process.isRunning && clock.now - sent < .seconds(15) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!process.isRunning, "stopped within 15 s of signal \(signal)")
            #expect(clock.now - sent < .seconds(5), "stopped within 5 s")
            if !process.isRunning {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                let problems = output.split(separator: "\n").filter { $0.contains("error") || $0.contains("Error") || $0.contains("critical") }
                #expect(process.terminationStatus == 0, "exit status; the log's errors: \(problems.suffix(10).joined(separator: "\n"))")
            }
        }
    }
}
