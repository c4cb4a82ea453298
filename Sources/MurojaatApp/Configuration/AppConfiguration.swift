import ARI
import CallCenter
import Foundation
import Logging
import Storage

/// A setting that is wrong: start-up stops with one message naming it and what is wrong.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var setting: String
    public var problem: String
    public var description: String { "configuration error: \(setting) \(problem)" }
}

/// Everything `murojaat` reads from its environment (and an optional file of KEY=VALUE lines).
public struct AppConfiguration: Sendable {
    public var httpHost: String
    public var httpPort: Int
    public var publicURL: String
    public var database: DatabaseConfiguration
    public var ariServers: [ARIServerConfiguration]
    public var recordingsDirectory: URL
    public var soundsDirectory: URL
    public var templatesDirectory: String
    public var callFlow: CallCenterSettings
    public var publicDirectory: String
    public var timeZone: TimeZone
    public var logLevel: Logger.Level
    public var notifications: NotificationConfiguration
    /// Where the values came from, for `doctor`.
    public var sourceFile: String?

    /// Every setting with its default, in the order the README lists them.
    public static let settings: [(name: String, defaultValue: String, meaning: String)] = [
        ("MUROJAAT_HTTP_HOST", "127.0.0.1", "address the web server listens on"),
        ("MUROJAAT_HTTP_PORT", "8080", "port of the web server"),
        ("MUROJAAT_PUBLIC_URL", "http://localhost:8080", "base URL citizens and staff use (links in SMS, e-mail)"),
        ("MUROJAAT_DATABASE_URL", "postgres://murojaat:murojaat@127.0.0.1:55432/murojaat", "PostgreSQL, postgres://user:password@host:port/db[?sslmode=require]"),
        ("MUROJAAT_ARI_URL", "", "ARI base URL(s) of Asterisk, comma-separated for several servers, e.g. http://10.0.0.5:8088/ari"),
        ("MUROJAAT_ARI_USER", "murojaat", "ARI user (ari.conf); a URL may carry its own user:password@"),
        ("MUROJAAT_ARI_PASSWORD", "", "ARI password"),
        ("MUROJAAT_ARI_APP", "murojaat", "Stasis application name used in extensions.conf"),
        ("MUROJAAT_ARI_TIMEOUT", "10", "seconds before an ARI request is given up"),
        ("MUROJAAT_ARI_REST_OVER_WEBSOCKET", "yes", "yes: send ARI requests over the events WebSocket once Asterisk answers there (20.14, 21.9, 22.4+), else HTTP; no: always HTTP"),
        ("MUROJAAT_OPERATOR_ENDPOINT", "PJSIP/{extension}", "how an operator's phone is called ({extension} is replaced)"),
        ("MUROJAAT_CALLBACK_ENDPOINT", "PJSIP/{number}@trunk", "how a citizen is called back through the trunk ({number}: digits)"),
        ("MUROJAAT_RING_TIMEOUT", "15", "seconds an operator's phone rings before the next operator is tried"),
        ("MUROJAAT_WRAPUP_SECONDS", "30", "seconds of wrap-up after a call before the operator is ready again"),
        ("MUROJAAT_CALLBACK_OFFER_AFTER", "60", "seconds in the queue after which a callback is offered"),
        ("MUROJAAT_REPEAT_WINDOW_HOURS", "24", "a call from the same number within this window is a repeated call"),
        ("MUROJAAT_ANNOUNCEMENT", "", "prompt name played after the greeting on holidays or emergencies (e.g. closed)"),
        ("MUROJAAT_RECORDINGS_DIR", "var/recordings", "local copies of call recordings fetched from Asterisk"),
        ("MUROJAAT_SOUNDS_DIR", "asterisk/sounds", "synthesized and uploaded IVR prompts (copy to Asterisk's sounds)"),
        ("MUROJAAT_TEMPLATES_DIR", "Templates", "Mustache templates of the web pages"),
        ("MUROJAAT_PUBLIC_DIR", "Public", "static files (CSS, JavaScript) served under /"),
        ("MUROJAAT_TIMEZONE", "Asia/Tashkent", "time zone of reports and deadlines"),
        ("MUROJAAT_LOG_LEVEL", "info", "trace, debug, info, notice, warning, error or critical"),
        ("MUROJAAT_TELEGRAM_API_URL", "https://api.telegram.org", "Telegram Bot API base URL"),
        ("MUROJAAT_ESKIZ_API_URL", "https://notify.eskiz.uz", "Eskiz SMS API base URL"),
        ("MUROJAAT_PLAYMOBILE_API_URL", "https://send.smsxabar.uz", "Play Mobile SMS API base URL"),
        ("MUROJAAT_SMTP_CA_FILE", "", "PEM file of extra CA certificates trusted for SMTP over TLS (a private mail server)"),
        ("MUROJAAT_OUTBOX_POLL_SECONDS", "1", "how often the notification worker looks for due messages"),
        ("MUROJAAT_OUTBOX_LEASE_SECONDS", "120", "a message being sent is taken over by another worker after this long (crash recovery)"),
        ("MUROJAAT_OUTBOX_RETRY_SECONDS", "30", "first retry delay of a failed message; doubles per attempt, at most an hour"),
    ]

    /// Reads `environment`, after the KEY=VALUE lines of `file` (the environment wins).
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            file: String? = nil) throws -> AppConfiguration {
        var values: [String: String] = [:]
        let path = file ?? environment["MUROJAAT_CONFIG"]
        if let path {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(setting: "MUROJAAT_CONFIG", problem: "names \(path), which cannot be read")
            }
            values = try parseFile(text, path: path)
        }
        for (key, value) in environment where key.hasPrefix("MUROJAAT_") { values[key] = value }
        var config = try AppConfiguration(values: values)
        config.sourceFile = path
        return config
    }

    static func parseFile(_ text: String, path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigurationError(setting: "\(path):\(number + 1)", problem: "is not a KEY=VALUE line")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
            guard settings.contains(where: { $0.name == key }) || key == "MUROJAAT_CONFIG" else {
                throw ConfigurationError(setting: "\(path):\(number + 1)", problem: "sets \(key), which is not a Murojaat setting")
            }
            values[key] = value
        }
        return values
    }

    init(values: [String: String]) throws {
        func value(_ name: String) -> String {
            values[name] ?? Self.settings.first { $0.name == name }!.defaultValue
        }
        httpHost = value("MUROJAAT_HTTP_HOST")
        guard !httpHost.isEmpty else { throw ConfigurationError(setting: "MUROJAAT_HTTP_HOST", problem: "is empty") }
        httpPort = try Self.port(value("MUROJAAT_HTTP_PORT"), setting: "MUROJAAT_HTTP_PORT")
        publicURL = try Self.httpURL(value("MUROJAAT_PUBLIC_URL"), setting: "MUROJAAT_PUBLIC_URL")
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        do {
            database = try DatabaseConfiguration(url: value("MUROJAAT_DATABASE_URL"))
        } catch {
            throw ConfigurationError(setting: "MUROJAAT_DATABASE_URL", problem: "\(error)")
        }
        let timeoutText = value("MUROJAAT_ARI_TIMEOUT")
        guard let timeout = Double(timeoutText), timeout > 0, timeout <= 300 else {
            throw ConfigurationError(setting: "MUROJAAT_ARI_TIMEOUT", problem: "is '\(timeoutText)'; give seconds between 0 and 300")
        }
        let app = value("MUROJAAT_ARI_APP")
        guard !app.isEmpty, app.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationError(setting: "MUROJAAT_ARI_APP", problem: "is '\(app)'; use letters, digits, - and _")
        }
        let overSocketText = value("MUROJAAT_ARI_REST_OVER_WEBSOCKET").lowercased()
        guard ["yes", "no", "true", "false", "1", "0"].contains(overSocketText) else {
            throw ConfigurationError(setting: "MUROJAAT_ARI_REST_OVER_WEBSOCKET", problem: "is '\(overSocketText)'; give yes or no")
        }
        let overSocket = ["yes", "true", "1"].contains(overSocketText)
        let urls = value("MUROJAAT_ARI_URL").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        ariServers = try urls.enumerated().map { index, text in
            try Self.ariServer(text, index: index, user: value("MUROJAAT_ARI_USER"), password: value("MUROJAAT_ARI_PASSWORD"),
                               app: app, timeout: timeout, restOverWebSocket: overSocket)
        }
        recordingsDirectory = URL(fileURLWithPath: value("MUROJAAT_RECORDINGS_DIR"))
        soundsDirectory = URL(fileURLWithPath: value("MUROJAAT_SOUNDS_DIR"))
        callFlow = try Self.callFlow(value)
        templatesDirectory = value("MUROJAAT_TEMPLATES_DIR")
        publicDirectory = value("MUROJAAT_PUBLIC_DIR")
        let zone = value("MUROJAAT_TIMEZONE")
        guard let timeZone = TimeZone(identifier: zone) else {
            throw ConfigurationError(setting: "MUROJAAT_TIMEZONE", problem: "is '\(zone)', which is not a time zone name (e.g. Asia/Tashkent)")
        }
        self.timeZone = timeZone
        let level = value("MUROJAAT_LOG_LEVEL")
        guard let logLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigurationError(setting: "MUROJAAT_LOG_LEVEL", problem: "is '\(level)'; use trace, debug, info, notice, warning, error or critical")
        }
        self.logLevel = logLevel
        notifications = NotificationConfiguration()
        notifications.telegramURL = try Self.httpURL(value("MUROJAAT_TELEGRAM_API_URL"), setting: "MUROJAAT_TELEGRAM_API_URL")
        notifications.eskizURL = try Self.httpURL(value("MUROJAAT_ESKIZ_API_URL"), setting: "MUROJAAT_ESKIZ_API_URL")
        notifications.playMobileURL = try Self.httpURL(value("MUROJAAT_PLAYMOBILE_API_URL"), setting: "MUROJAAT_PLAYMOBILE_API_URL")
        let caFile = value("MUROJAAT_SMTP_CA_FILE")
        if !caFile.isEmpty {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConfigurationError(setting: "MUROJAAT_SMTP_CA_FILE", problem: "names \(caFile), which cannot be read")
            }
            notifications.smtpTrustRootsFile = caFile
        }
        func seconds(_ name: String, _ range: ClosedRange<Double>) throws -> Double {
            let text = value(name)
            guard let number = Double(text), range.contains(number) else {
                throw ConfigurationError(setting: name, problem: "is '\(text)'; give seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        notifications.pollSeconds = try seconds("MUROJAAT_OUTBOX_POLL_SECONDS", 0.05...60)
        notifications.leaseSeconds = try seconds("MUROJAAT_OUTBOX_LEASE_SECONDS", 1...3600)
        notifications.retrySeconds = try seconds("MUROJAAT_OUTBOX_RETRY_SECONDS", 0.1...3600)
    }

    static func callFlow(_ value: (String) -> String) throws -> CallCenterSettings {
        func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double {
            let text = value(name)
            guard let number = Double(text), range.contains(number) else {
                throw ConfigurationError(setting: name, problem: "is '\(text)'; give a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            }
            return number
        }
        var settings = CallCenterSettings()
        settings.ringTimeoutSeconds = Int(try number("MUROJAAT_RING_TIMEOUT", 5...120))
        settings.wrapUpSeconds = try number("MUROJAAT_WRAPUP_SECONDS", 0...600)
        settings.callbackOfferAfterSeconds = try number("MUROJAAT_CALLBACK_OFFER_AFTER", 0...3600)
        settings.repeatWindowSeconds = try number("MUROJAAT_REPEAT_WINDOW_HOURS", 0...720) * 3600
        settings.operatorEndpointTemplate = value("MUROJAAT_OPERATOR_ENDPOINT")
        guard settings.operatorEndpointTemplate.contains("{extension}") else {
            throw ConfigurationError(setting: "MUROJAAT_OPERATOR_ENDPOINT", problem: "must contain {extension}, e.g. PJSIP/{extension}")
        }
        settings.callbackEndpointTemplate = value("MUROJAAT_CALLBACK_ENDPOINT")
        guard settings.callbackEndpointTemplate.contains("{number}") else {
            throw ConfigurationError(setting: "MUROJAAT_CALLBACK_ENDPOINT", problem: "must contain {number}, e.g. PJSIP/{number}@trunk")
        }
        let announcement = value("MUROJAAT_ANNOUNCEMENT")
        if !announcement.isEmpty {
            guard PromptCatalog.prompt(announcement) != nil else {
                throw ConfigurationError(setting: "MUROJAAT_ANNOUNCEMENT", problem: "is '\(announcement)', which is not a prompt (\(PromptCatalog.all.map(\.name).joined(separator: ", ")))")
            }
            settings.announcement = announcement
        }
        return settings
    }

    static func port(_ text: String, setting: String) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw ConfigurationError(setting: setting, problem: "is '\(text)', which is not a port number (1–65535)")
        }
        return port
    }

    static func httpURL(_ text: String, setting: String) throws -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { throw ConfigurationError(setting: setting, problem: "is '\(text)', which is not an http:// or https:// URL") }
        return text
    }

    static func ariServer(_ text: String, index: Int, user: String, password: String, app: String, timeout: Double,
                          restOverWebSocket: Bool = true) throws -> ARIServerConfiguration {
        let setting = "MUROJAAT_ARI_URL"
        guard var components = URLComponents(string: text), let scheme = components.scheme, ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { throw ConfigurationError(setting: setting, problem: "has '\(text)', which is not an http:// or https:// URL") }
        let username = components.user ?? user
        let secret = components.password ?? password
        guard !username.isEmpty else { throw ConfigurationError(setting: "MUROJAAT_ARI_USER", problem: "is empty") }
        guard !secret.isEmpty else {
            throw ConfigurationError(setting: "MUROJAAT_ARI_PASSWORD", problem: "is empty; set the password of the ARI user \(username) (ari.conf)")
        }
        components.user = nil
        components.password = nil
        var base = components.string ?? text
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/ari") { base += "/ari" }
        return ARIServerConfiguration(name: "ast\(index + 1)", baseURL: base, username: username, password: secret, application: app,
                                      requestTimeout: .milliseconds(Int64(timeout * 1000)), restOverWebSocket: restOverWebSocket)
    }
}
