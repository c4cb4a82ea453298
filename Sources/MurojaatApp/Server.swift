import ARI
import AsteriskSimulator
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import CallCenter

/// Builds and runs everything `serve` runs: the database pool, one event socket per Asterisk,
/// the telephony service, the web server, and whatever `extra` services the caller adds (demo).
public struct Server {
    public let configuration: AppConfiguration
    public let logger: Logger

    public init(configuration: AppConfiguration) {
        self.configuration = configuration
        var logger = Logger(label: "murojaat")
        logger.logLevel = configuration.logLevel
        self.logger = logger
    }

    public func run(migrate: Bool, extra: [any Service] = []) async throws {
        let database = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
        let templates = try await loadTemplates(configuration.templatesDirectory)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            try await prepareDatabase(database, migrate: migrate)

            let store = PostgresCallStore(client: database, repeatWindowSeconds: configuration.callFlow.repeatWindowSeconds, logger: logger)
            let journal = CallJournal(store: store, logger: logger)
            let center = CallCenter(settings: configuration.callFlow, journal: journal, recordingsDirectory: configuration.recordingsDirectory, logger: logger)
            let connections = configuration.ariServers.map { ARIEventConnection(configuration: $0, eventTypes: CallCenter.handledEventTypes,
                                                                                         eventLoop: center.eventLoop, logger: logger) }
            // Requests travel over each server's event socket when that Asterisk answers there, else over HTTP.
            for connection in connections { await center.addServer(connection.configuration.name, client: ARIClient(connection: connection)) }
            await center.loadOperators(try await store.loadOperators())
            if let tree = try await IVRRepository(client: database, logger: logger).load() { await center.setIVR(tree) }
            await center.setLostCallsHandler { [logger] server, live in
                Task {
                    do {
                        let closed = try await store.closeLostCalls(server: server, except: live, at: Date())
                        if closed > 0 { logger.warning("calls left in progress were closed as lost", metadata: ["server": "\(server)", "count": "\(closed)"]) }
                    } catch {
                        logger.error("could not close lost calls", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
            }
            let status = TelephonyStatus(servers: configuration.ariServers)
            // Copies of the last calls' recordings end (and their rows reach the journal) before the journal stops.
            let telephony = TelephonyService(connections: connections, status: status, logger: logger, onStop: { [logger] in
                if await !center.finishCopies(timeout: .seconds(30)) {
                    logger.warning("recording copies still running at shutdown; their rows are not stored")
                }
            }) { center.deliver($0) }
            let operatorSync = OperatorSync(center: center, store: store, interval: .seconds(30), logger: logger)
            let web = buildApplication(WebContext(configuration: configuration, database: database, telephony: status, templates: templates,
                                                  callCenter: center, logger: logger),
                                       logger: logger)
            // ServiceGroup stops services in reverse order, each after the one before has finished: the demo
            // and web first, then the event sockets (which hand their events to the call flow until they close),
            // then the telephony service, and the journal last, so that everything the call flow wrote is flushed.
            let outbox = OutboxWorker(database: database, configuration: configuration.notifications, publicURL: configuration.publicURL,
                                      timeZone: configuration.timeZone, logger: logger)
            let maintenance = MaintenanceService(database: database, timeZone: configuration.timeZone, logger: logger)
            let services: [any Service] = [journal, outbox, maintenance, telephony] + connections + [operatorSync, web] + extra
            let serviceGroup = ServiceGroup(configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            logger.info("Murojaat is listening", metadata: ["url": "http://\(configuration.httpHost):\(configuration.httpPort)/"])
            try await serviceGroup.run()
        }
    }

    /// Refuses an out-of-date schema unless asked to migrate; seeds the reference data when migrating.
    func prepareDatabase(_ database: PostgresClient, migrate: Bool) async throws {
        let migrator = Migrator(client: database, migrations: try Migration.bundled(), logger: logger)
        try await migrator.ensureCurrent(migrateIfNeeded: migrate)
        do {
            try await StatsRollup.alignAppealCounts(database, timeZone: configuration.timeZone, logger: logger)
        } catch {
            // The reports then count appeals one by one (they read the monthly counts only in the zone they were kept in).
            logger.warning("appeals could not be recounted in the report time zone", metadata: ["error": "\(String(reflecting: error))"])
        }
        if migrate {
            try await ReferenceData.bundled().seed(database, logger: logger)
            try await IVRRepository(client: database, logger: logger).seed()
            try await QualityForms.seed(database, logger: logger)
        }
    }
}

