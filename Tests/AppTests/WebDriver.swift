import AsyncHTTPClient
import Foundation
import TestSupport
import NIOCore
import Testing

/// A small W3C WebDriver client for Debian's `chromium-driver` driving headless Chromium.
final class WebDriver: Sendable {
    let process: Process
    let base: String
    let session: String
    let http: HTTPClient

    struct Failure: Error, CustomStringConvertible { var description: String }

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    /// Starts chromedriver on a free port and opens a headless browser session. Under load the first
    /// start can be slow or fail: up to three attempts, each with its own chromedriver; a failed attempt
    /// leaves no process and no client behind.
    static func start() async throws -> WebDriver {
        var lastError: any Error = Failure(description: "chromedriver did not start")
        for _ in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
            let port = try freePort()
            process.arguments = ["--port=\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let base = "http://127.0.0.1:\(port)"
            do {
                let clock = ContinuousClock(), deadline = clock.now.advanced(by: .seconds(60))
                var ready = false
                while clock.now < deadline {
                    if (try? await call(http, "GET", base + "/status", nil)) != nil { ready = true; break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                guard ready else { throw Failure(description: "chromedriver did not answer within 60 s") }
                let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": ["binary": "/usr/bin/chromium",
                                           "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]],
                ]]]
                let created = try await call(http, "POST", base + "/session", capabilities)
                guard let value = created["value"] as? [String: Any], let session = value["sessionId"] as? String else {
                    throw Failure(description: "no WebDriver session: \(created)")
                }
                return WebDriver(process: process, base: base + "/session/" + session, session: session, http: http)
            } catch {
                lastError = error
                process.terminate()
                try? await http.shutdown()
            }
        }
        throw lastError
    }

    init(process: Process, base: String, session: String, http: HTTPClient) {
        self.process = process
        self.base = base
        self.session = session
        self.http = http
    }

    func quit() async {
        _ = try? await Self.call(http, "DELETE", base, nil)
        process.terminate()
        try? await http.shutdown()
    }

    @discardableResult
    static func call(_ http: HTTPClient, _ method: String, _ url: String, _ body: [String: Any]?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let data = try await response.body.collect(upTo: 32 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any] ?? [:]
        if response.status.code >= 400 { throw Failure(description: "\(method) \(url): \(response.status) \(json)") }
        return json
    }

    @discardableResult
    func send(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        try await Self.call(http, method, base + path, body)["value"]
    }

    func open(_ url: String) async throws { try await send("POST", "/url", ["url": url]) }

    func element(_ css: String) async throws -> String {
        let value = try await send("POST", "/element", ["using": "css selector", "value": css]) as? [String: Any]
        guard let id = value?.values.first as? String else { throw Failure(description: "no element \(css)") }
        return id
    }

    func type(_ css: String, _ text: String) async throws {
        try await retryingStale {
            let id = try await element(css)
            try await send("POST", "/element/\(id)/clear", [:])
            try await send("POST", "/element/\(id)/value", ["text": text])
        }
    }

    func click(_ css: String) async throws {
        try await retryingStale { try await send("POST", "/element/\(try await element(css))/click", [:]) }
    }

    /// Live pages (the wallboard redraws every second) may replace an element between finding it and using
    /// it: WebDriver then answers "stale element reference", and the element is found again.
    func retryingStale(_ action: () async throws -> Void) async throws {
        for attempt in 1...5 {
            do {
                return try await action()
            } catch where attempt < 5 && String(describing: error).contains("stale element") {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func select(_ css: String, value: String) async throws {
        try await script("var s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change'));", [css, value])
    }

    func text(_ css: String) async throws -> String {
        (try await send("GET", "/element/\(try await element(css))/text") as? String) ?? ""
    }

    @discardableResult
    func script(_ source: String, _ args: [Any] = []) async throws -> Any? {
        try await send("POST", "/execute/sync", ["script": source, "args": args])
    }

    func refresh() async throws { try await send("POST", "/refresh", [:]) }

    func back() async throws { try await send("POST", "/back", [:]) }

    /// The browser window's size in CSS pixels (390 wide for a phone, 1366×768 for an office screen).
    func resize(width: Int, height: Int) async throws { try await send("POST", "/window/rect", ["width": width, "height": height]) }

    func url() async throws -> String { (try await send("GET", "/url") as? String) ?? "" }

    func source() async throws -> String { (try await send("GET", "/source") as? String) ?? "" }

    /// Waits until `css` shows `text` (or just exists when `text` is nil).
    func waitFor(_ css: String, text expected: String? = nil, timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock(), deadline = clock.now.advanced(by: timeout)
        var last = ""
        while clock.now < deadline {
            if let shown = try? await text(css) {
                last = shown
                if expected == nil || shown.contains(expected!) { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "\(css) never showed \(expected ?? "up"); last: \(last)")
    }

    /// Saves a PNG of the page under `.build/test-artifacts/screenshots/`.
    func screenshot(_ name: String) async throws {
        guard let base64 = try await send("GET", "/screenshot") as? String, let data = Data(base64Encoded: base64) else { return }
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/test-artifacts/screenshots").standardized
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try data.write(to: folder.appendingPathComponent("\(name).png"))
    }
}
