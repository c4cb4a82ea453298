import Logging
@testable import MurojaatApp
import PostgresNIO
import Testing

@Suite("Demo data")
struct DemoDataTests {
    /// Issue 18.5: with a real Asterisk the demo operators start offline (a caller is never offered to a phone that
    /// does not exist); with the built-in simulator, whose phones all exist, they start ready.
    @Test func demoOperatorsAreReadyOnlyWhereTheirPhonesExist() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test.demo")
                try await DemoData.seed(client, operators: 3, ready: false, logger: logger)
                #expect(try await rowCount(client, "SELECT count(*) FROM operators WHERE state = 'offline'") == 3)
                try await DemoData.seed(client, operators: 3, ready: true, logger: logger)
                #expect(try await rowCount(client, "SELECT count(*) FROM operators WHERE state = 'ready'") == 3)
            }
        }
    }
}
