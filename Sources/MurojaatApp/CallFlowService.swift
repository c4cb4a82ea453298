import CallCenter
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the call flow's operator list in step with the database (the back office adds and edits operators).
struct OperatorSync: Service {
    let center: CallCenter
    let store: PostgresCallStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            do {
                await center.loadOperators(try await store.loadOperators())
            } catch {
                logger.debug("operator list not refreshed", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
            }
        }
    }
}
