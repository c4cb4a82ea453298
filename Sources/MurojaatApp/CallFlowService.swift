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
        // Shutdown ends the wait between two refreshes at once.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.interval)
                do {
                    await self.center.loadOperators(try await self.store.loadOperators())
                } catch {
                    self.logger.debug("operator list not refreshed", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
                }
            }
        }
    }
}
