import ARI
import CallCenter
import Foundation
import Logging
import PostgresNIO
import Storage

/// One line of `murojaat doctor`.
public struct DoctorCheck: Sendable, Equatable, CustomStringConvertible {
    public enum Status: String, Sendable { case ok = "ok", warn = "warn", fail = "FAIL" }
    public var status: Status
    public var name: String
    public var detail: String
    public var description: String { "[\(status.rawValue)] \(name): \(detail)" }
}

/// Checks configuration, the database and every Asterisk, as an operator would before going live.
public struct Doctor: Sendable {
    public let configuration: AppConfiguration
    let logger: Logger

    /// Modules the call flow needs on Asterisk.
    public static let requiredModules = [
        "res_ari", "res_stasis", "app_stasis", "res_stasis_playback", "res_stasis_recording", "res_stasis_snoop",
        "res_ari_channels", "res_ari_bridges", "res_ari_recordings", "res_ari_events", "chan_pjsip", "bridge_simple",
        "bridge_softmix", "format_wav", "res_http_websocket",
    ]

    public init(configuration: AppConfiguration, logger: Logger = Logger(label: "murojaat.doctor")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async -> [DoctorCheck] {
        var checks = [DoctorCheck(status: .ok, name: "configuration",
                                  detail: configuration.sourceFile.map { "loaded (file \($0) and environment)" } ?? "loaded from the environment")]
        checks += await databaseChecks()
        if configuration.ariServers.isEmpty {
            checks.append(DoctorCheck(status: .warn, name: "asterisk", detail: "no MUROJAAT_ARI_URL set: telephony is off"))
        }
        for server in configuration.ariServers {
            checks += await asteriskChecks(server)
        }
        return checks
    }

    func databaseChecks() async -> [DoctorCheck] {
        let db = configuration.database
        let client = PostgresClient(configuration: db.clientConfiguration, backgroundLogger: logger)
        // The pool runs beside the checks and is cancelled after them, without waiting for it to wind down.
        let pool = Task { await client.run() }
        defer { pool.cancel() }
            var checks: [DoctorCheck] = []
            do {
                let version = try await withTimeout(seconds: 5) { [logger] in
                    let rows = try await client.query("SELECT current_setting('server_version')", logger: logger)
                    var version = "?"
                    for try await value in rows.decode(String.self) { version = value }
                    return version
                }
                checks.append(DoctorCheck(status: .ok, name: "database", detail: "\(db.redacted) reachable, PostgreSQL \(version)"))
            } catch {
                checks.append(DoctorCheck(status: .fail, name: "database", detail: "\(db.redacted) unreachable: \(Self.describe(error))"))
                return checks
            }
            do {
                let migrator = Migrator(client: client, migrations: try Migration.bundled(), logger: logger)
                let status = try await withTimeout(seconds: 10) { try await migrator.status() }
                if status.pending.isEmpty {
                    checks.append(DoctorCheck(status: .ok, name: "schema", detail: "up to date (\(status.applied.count) migrations)"))
                } else {
                    checks.append(DoctorCheck(status: .fail, name: "schema",
                                              detail: "\(status.pending.count) pending: \(status.pending.joined(separator: ", ")); run `murojaat migrate`"))
                }
            } catch {
                checks.append(DoctorCheck(status: .fail, name: "schema", detail: Self.describe(error)))
            }
            return checks
    }

    func asteriskChecks(_ server: ARIServerConfiguration) async -> [DoctorCheck] {
        let client = ARIClient(configuration: server)
        let label = "asterisk \(server.name)"
        var checks: [DoctorCheck] = []
        do {
            let info = try await client.asteriskInfo()
            let version = info.system?.version ?? "unknown"
            checks.append(DoctorCheck(status: .ok, name: label, detail: "\(server.baseURL) reachable, credentials of \(server.username) accepted"))
            let major = Int(version.split(separator: ".").first ?? "") ?? 0
            checks.append(DoctorCheck(status: major >= 20 ? .ok : .warn, name: "\(label) version",
                                      detail: major >= 20 ? "Asterisk \(version)" : "Asterisk \(version); 20, 21 or 22 is supported"))
        } catch ARIError.unauthorized {
            return [DoctorCheck(status: .fail, name: label, detail: "\(server.baseURL): credentials of \(server.username) refused (401); check ari.conf and MUROJAAT_ARI_PASSWORD")]
        } catch {
            return [DoctorCheck(status: .fail, name: label, detail: "\(server.baseURL) unreachable: \(error)")]
        }
        do {
            let apps = try await client.applications()
            if apps.contains(where: { $0.name == server.application }) {
                checks.append(DoctorCheck(status: .ok, name: "\(label) application", detail: "Stasis app \(server.application) is registered"))
            } else {
                checks.append(DoctorCheck(status: .warn, name: "\(label) application",
                                          detail: "Stasis app \(server.application) is not registered yet (registered while `murojaat serve` runs)"))
            }
        } catch {
            checks.append(DoctorCheck(status: .fail, name: "\(label) application", detail: "\(error)"))
        }
        var missing: [String] = []
        for module in Self.requiredModules {
            // Asterisk knows a module by its file name: without `.so` it answers 409 even when it is loaded.
            do { _ = try await client.module(module + ".so") } catch { missing.append(module) }
        }
        checks.append(missing.isEmpty
            ? DoctorCheck(status: .ok, name: "\(label) modules", detail: "\(Self.requiredModules.count) required modules loaded")
            : DoctorCheck(status: .fail, name: "\(label) modules", detail: "not loaded: \(missing.joined(separator: ", ")) (see asterisk/modules.conf)"))
        checks.append(await soundCheck(client, label: label))
        return checks
    }

    /// Asterisk plays a missing sound as silence without an error, so every prompt is looked up.
    func soundCheck(_ client: ARIClient, label: String) async -> DoctorCheck {
        var missing: [String] = []
        for prompt in PromptCatalog.all {
            let id = "murojaat/\(prompt.name)"
            let languages = (try? await client.sound(id))?.formats.map(\.language) ?? []
            for language in Language.allCases where !languages.contains(language.rawValue) { missing.append("\(language.rawValue)/\(id)") }
        }
        if missing.isEmpty {
            return DoctorCheck(status: .ok, name: "\(label) sounds", detail: "all \(PromptCatalog.all.count) prompts present in uz and ru")
        }
        let shown = missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : "")
        return DoctorCheck(status: .fail, name: "\(label) sounds",
                           detail: "\(missing.count) prompts missing: \(shown) (run `murojaat prompts synthesize` and copy to Asterisk's sounds)")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError { return String(reflecting: error).prefix(300).description }
        return "\(error)"
    }
}
