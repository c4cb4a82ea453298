import ARI
import AsteriskSimulator
import CallCenter
import Foundation
import TestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Mustache
@testable import MurojaatApp
import PostgresNIO
import Storage
import Synchronization
import Testing

/// A signed-in (or anonymous) visitor of the live test server: keeps cookies like a browser.
final class Visitor: Sendable {
    let client: any TestClientProtocol
    let cookies = Mutex<[String: String]>([:])
    let csrf = Mutex<String?>(nil)

    init(_ client: any TestClientProtocol) { self.client = client }

    @discardableResult
    func request(_ method: HTTPRequest.Method, _ uri: String, form: [String: String]? = nil, headers extra: HTTPFields = [:],
                 rawBody: String? = nil) async throws -> TestResponse {
        var headers = extra
        let cookie = cookies.withLock { $0.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if !cookie.isEmpty { headers[.cookie] = cookie }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: Self.encode(form))
        } else if let rawBody {
            headers[.contentType] = headers[.contentType] ?? "application/x-www-form-urlencoded"
            body = ByteBuffer(string: rawBody)
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        for value in response.headers[values: .setCookie] {
            let pair = value.split(separator: ";").first.map(String.init) ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            cookies.withLock { jar in
                if value.contains("Max-Age=0") { jar[parts[0]] = nil } else { jar[parts[0]] = parts[1] }
            }
        }
        let html = String(buffer: response.body)
        if let range = html.range(of: #"name="_csrf" value="([^"]+)""#, options: .regularExpression) {
            let token = html[range].split(separator: "\"")[3]
            csrf.withLock { $0 = String(token) }
        }
        return response
    }

    static func encode(_ form: [String: String]) -> String {
        form.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")"
        }.sorted().joined(separator: "&")
    }

    var token: String { csrf.withLock { $0 } ?? "" }

    /// Signs in and loads a page so the CSRF token is known.
    func signIn(_ login: String, _ password: String = BackOffice.password) async throws {
        let response = try await request(.post, "/login", form: ["login": login, "password": password])
        #expect(response.status == .seeOther, "sign-in of \(login)")
        let landing = response.headers[.location] ?? "/appeals"
        try await request(.get, landing)
    }
}

/// A migrated database with one account per role and two operators, and the web app over it.
enum BackOffice {
    static let password = "test-parol-2026"

    struct World: Sendable {
        let database: PostgresClient
        let web: WebContext
        let users: [String: Int64]
        let operators: [String: Int64]
        var simulator: AsteriskSimulator?
        var center: CallCenter?
    }

    static func templates() async throws -> MustacheLibrary {
        try await loadTemplates(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Templates").standardized.path)
    }

    static func run(telephony: Bool = false, wrapUpSeconds: Double = 0.5, configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
                    _ body: @escaping @Sendable (World, any TestClientProtocol) async throws -> Void) async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test.web")
                var accounts = Accounts(database: client, logger: logger)
                accounts.bcryptCost = 4
                var users: [String: Int64] = [:]
                for role in Role.allCases {
                    users[role.rawValue] = try await accounts.createUser(login: role.rawValue, fullName: "Test \(role.rawValue)", role: role, password: password)
                }
                users["operator2"] = try await accounts.createUser(login: "operator2", fullName: "Second operator", role: .operator, password: password)
                var operators: [String: Int64] = [:]
                for (login, ext) in [("operator", "101"), ("operator2", "102")] {
                    for try await id in try await client.query("""
                        INSERT INTO operators (user_id, extension, endpoint, skill_uz, skill_ru) VALUES (\(users[login]!), \(ext), \("PJSIP/" + ext), true, true)
                        RETURNING id
                        """, logger: logger).decode(Int64.self) { operators[login] = id }
                }
                var config = try AppConfiguration.load(environment: [:])
                config.publicDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Public").standardized.path
                configure(&config)
                let configuration = config
                let templates = try await templates()
                let (userIds, operatorIds) = (users, operators)
                let serve: @Sendable (CallCenter?, AsteriskSimulator?) async throws -> Void = { center, simulator in
                    let web = WebContext(configuration: configuration, database: client, telephony: TelephonyStatus(servers: []),
                                         templates: templates, callCenter: center, logger: logger)
                    let app = Application(router: buildRouter(web, logger: logger, bcryptCost: 4),
                                          configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                    let world = World(database: client, web: web, users: userIds, operators: operatorIds, simulator: simulator, center: center)
                    try await app.test(.live) { testClient in try await body(world, testClient) }
                }
                guard telephony else { return try await serve(nil, nil) }
                var simConfig = SimulatorConfiguration.testing(scale: 0.01)
                simConfig.phones = ["101": .init(answerAfterMs: 300), "102": .init(answerAfterMs: 300)]
                try await withSimulator(simConfig) { sim, ari in
                    let store = PostgresCallStore(client: client, logger: logger)
                    let journal = CallJournal(store: store, logger: logger)
                    var settings = CallCenterSettings()
                    settings.digitTimeoutSeconds = 0.3
                    settings.wrapUpSeconds = wrapUpSeconds
                    let recordings = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
                    defer { try? FileManager.default.removeItem(at: recordings) }
                    let center = CallCenter(settings: settings, journal: journal,
                                            recordingsDirectory: recordings,
                                            logger: logger)
                    await center.addServer(ari.name, client: ARIClient(configuration: ari))
                    await center.loadOperators(try await store.loadOperators())
                    let connection = ARIEventConnection(configuration: ari)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await connection.run() }
                        group.addTask { try await journal.run() }
                        group.addTask { for await event in connection.events { await center.handle(event) } }
                        while await !(sim.isConnected(app: "murojaat") && connection.isConnected) { try await Task.sleep(for: .milliseconds(10)) }
                        try await serve(center, sim)
                        _ = await center.finishCopies(timeout: .seconds(10))
                        _ = await journal.flush()
                        group.cancelAll()
                    }
                }
            }
        }
    }

}
