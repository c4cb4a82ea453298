import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, except that an error thrown by `body` comes back as itself rather than wrapped
    /// in `PostgresTransactionError`, so callers can match their own errors.
    public func transaction<Result: Sendable>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
