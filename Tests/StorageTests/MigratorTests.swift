import Foundation
import Logging
import PostgresNIO
@testable import Storage
import Testing

@Suite("Migrations on a real PostgreSQL", .serialized)
struct MigratorTests {
    @Test func freshDatabaseMigratesAndRerunChangesNothing() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let migrations = try Migration.bundled()
            #expect(migrations.first?.name == "0001_initial_schema")
            let migrator = Migrator(client: client, migrations: migrations)
            #expect(try await migrator.status() == MigrationStatus(applied: [], pending: migrations.map(\.name)))
            #expect(try await migrator.migrate() == migrations.map(\.name))
            #expect(try await migrator.status().pending.isEmpty)

            let tables = try await count(client, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            #expect(tables >= 30)
            let before = try await count(client, "SELECT count(*) FROM schema_migrations")
            #expect(try await migrator.migrate().isEmpty)
            #expect(try await count(client, "SELECT count(*) FROM schema_migrations") == before)
        }
    }

    @Test func aTamperedMigrationIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let migrations = try Migration.bundled()
            try await Migrator(client: client, migrations: migrations).migrate()
            var tampered = migrations
            tampered[0].sql += "\n-- edited after release"
            let migrator = Migrator(client: client, migrations: tampered)
            await #expect(throws: MigrationError.changed(name: "0001_initial_schema")) { try await migrator.status() }
            await #expect(throws: MigrationError.changed(name: "0001_initial_schema")) { try await migrator.migrate() }
        }
    }

    @Test func anUnknownAppliedMigrationIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let migrations = try Migration.bundled()
            let migrator = Migrator(client: client, migrations: migrations)
            try await migrator.migrate()
            try await client.query("INSERT INTO schema_migrations (position, name, checksum) VALUES (\(migrations.count + 1), '9999_from_the_future', 'x')")
            await #expect(throws: MigrationError.unknown(name: "9999_from_the_future", position: migrations.count + 1)) {
                try await migrator.status()
            }
            // A renamed migration at a known position is also refused.
            let renamed = [Migration(name: "0001_renamed", sql: migrations[0].sql)]
            await #expect(throws: MigrationError.unknown(name: "0001_initial_schema", position: 1)) {
                try await Migrator(client: client, migrations: renamed).status()
            }
        }
    }

    @Test func newMigrationsApplyOnTopAndServeRefusesAnOldSchema() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let migrations = try Migration.bundled()
            await #expect(throws: MigrationError.outOfDate(pending: migrations.map(\.name))) {
                try await Migrator(client: client, migrations: migrations).ensureCurrent(migrateIfNeeded: false)
            }
            try await Migrator(client: client, migrations: migrations).ensureCurrent(migrateIfNeeded: true)
            let next = migrations + [Migration(name: "9000_extra", sql: "CREATE TABLE extra_a (id int); CREATE TABLE extra_b (id int);")]
            #expect(try await Migrator(client: client, migrations: next).migrate() == ["9000_extra"])
            #expect(try await count(client, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'extra_%'") == 2)
        }
    }

    @Test func aFailingMigrationLeavesNothingHalfApplied() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            let broken = [Migration(name: "0001_ok", sql: "CREATE TABLE ok_table (id int);"),
                          Migration(name: "0002_broken", sql: "CREATE TABLE half (id int); SELECT no_such_function();")]
            await #expect(throws: (any Error).self) { try await Migrator(client: client, migrations: broken).migrate() }
            let left = try await count(client, "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('ok_table', 'half', 'schema_migrations')")
            #expect(left == 0)
        }
    }

    @Test func twoProcessesMigratingAtOnceApplyEachMigrationOnce() async throws {
        try await TestDatabase.withFreshDatabase { _, config in
            let migrations = try Migration.bundled()
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await TestDatabase.withClient(config) { client in
                            try await Migrator(client: client, migrations: migrations).migrate()
                        }
                    }
                }
                var all: [[String]] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.filter { !$0.isEmpty }.count == 1)
            #expect(results.flatMap { $0 } == migrations.map(\.name))
            try await TestDatabase.withClient(config) { client in
                let applied = try await count(client, "SELECT count(*) FROM schema_migrations")
                #expect(applied == migrations.count)
            }
        }
    }

    @Test func referenceDataSeedsOnceFromTheBundledCSV() async throws {
        try await TestDatabase.withFreshDatabase { client, _ in
            try await Migrator(client: client, migrations: try Migration.bundled()).migrate()
            let data = try ReferenceData.bundled()
            #expect(data.regions.count == 14)
            #expect(data.categories.contains { $0.code == "complaint" && $0.deadlineDays == 15 })
            #expect(data.topics.contains { $0.code == "registration.cabinet" && $0.nameUz == "Shaxsiy kabinet, parol" && $0.parent == "registration" })
            let logger = Logger(label: "test")
            try await data.seed(client, logger: logger)
            try await data.seed(client, logger: logger)
            #expect(try await count(client, "SELECT count(*) FROM regions") == 14)
            #expect(try await count(client, "SELECT count(*) FROM topics") == data.topics.count)
            #expect(try await count(client, "SELECT count(*) FROM categories") == data.categories.count)
        }
    }

    func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(Int.self) { return value }
        return -1
    }
}

@Suite("Configuration of the database and CSV reading")
struct DatabaseConfigurationTests {
    @Test func parsesURLs() throws {
        let config = try DatabaseConfiguration(url: "postgres://murojaat:p%40ss@db.local:6543/cc?sslmode=require")
        #expect(config == DatabaseConfiguration(host: "db.local", port: 6543, username: "murojaat", password: "p@ss", database: "cc", requireTLS: true))
        #expect(config.redacted == "postgres://murojaat:***@db.local:6543/cc")
        #expect(try DatabaseConfiguration(url: "postgresql://u@h/d").port == 5432)
    }

    @Test(arguments: ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h:70000/d", "postgres://u@h/d?sslmode=bogus", "", "not a url"])
    func refusesBadURLs(_ text: String) {
        #expect(throws: DatabaseConfiguration.ParseError.self) { try DatabaseConfiguration(url: text) }
    }

    @Test func sqlScriptsSplitOutsideQuotesCommentsAndDollarQuotes() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (t text DEFAULT 'x;y'); /* block; comment */
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT "odd;name" FROM a;
            """
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 3)
        #expect(statements[1].hasPrefix("/* block; comment */"))
        #expect(statements[1].contains("$body$ SELECT 1; $body$"))
    }

    @Test func csvHandlesQuotesCommasAndLineBreaks() {
        let rows = CSV.rows("a,b,c\n1,\"x, y\",\"he said \"\"hi\"\"\"\n2,\"multi\nline\",\r\n")
        #expect(rows == [["a", "b", "c"], ["1", "x, y", "he said \"hi\""], ["2", "multi\nline", ""]])
    }
}
