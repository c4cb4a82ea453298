import AsyncHTTPClient
import Foundation
import Logging
import Notifications
import PostgresNIO
import ServiceLifecycle

/// Delivers the outbox. E-mail and SMS rows are sent several at a time; Telegram rows one by one in the
/// order they were written, no faster than the group's rate. Each row is leased while it is being sent
/// (`sending`, `locked_until`): a worker that dies mid-send leaves the lease to expire and the row is sent
/// again by the next worker — so a crash between the provider's answer and the `sent` mark can cause
/// one duplicate, never a loss. A row marked `sent` is never picked again.
public final class OutboxWorker: Service, Sendable {
    let database: PostgresClient
    let configuration: NotificationConfiguration
    let publicURL: String
    let logger: Logger
    let deliverer: Deliverer
    let http: HTTPClient
    let timeZone: TimeZone
    let telegramPace = Pace()

    public init(database: PostgresClient, configuration: NotificationConfiguration, publicURL: String, timeZone: TimeZone,
                http: HTTPClient? = nil, logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.publicURL = publicURL
        self.timeZone = timeZone
        self.logger = logger
        self.http = http ?? HTTPClient.shared
        self.deliverer = Deliverer(configuration: configuration, http: self.http)
    }

    public func run() async throws {
        try? await ensureCallbackSecret()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop("mail") { try await self.deliverBatch() > 0 } }
            group.addTask { await self.loop("telegram") { try await self.deliverTelegram() > 0 } }
            group.addTask {
                await self.loop("reports", every: 60) {
                    try await MonthlyReport.schedule(self.database, publicURL: self.publicURL, timeZone: self.timeZone, logger: self.logger)
                    return false
                }
            }
        }
    }

    /// Runs `step` until graceful shutdown; sleeps `every` (or the poll interval) when it found nothing to do.
    func loop(_ name: String, every: Double? = nil, _ step: @escaping @Sendable () async throws -> Bool) async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var busy = false
                do {
                    busy = try await step()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("outbox \(name) step failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                if !busy { try? await Task.sleep(nanoseconds: UInt64((every ?? self.configuration.pollSeconds) * 1e9)) }
            }
        }
    }

    func ensureCallbackSecret() async throws {
        let secret = Accounts.randomToken(bytes: 18)
        try await database.query("""
            INSERT INTO settings (key, value) VALUES ('sms.callback_secret', to_jsonb(\(secret)::text)) ON CONFLICT (key) DO NOTHING
            """, logger: logger)
    }

    struct Claimed: Sendable {
        var id: Int64
        var channel: OutboxChannel
        var payload: OutboxPayload
        var attempts: Int
    }

    static func decode(_ id: Int64, _ channel: String, _ json: String, _ attempts: Int) -> Claimed? {
        guard let channel = OutboxChannel(rawValue: channel),
              let payload = try? JSONDecoder().decode(OutboxPayload.self, from: Data(json.utf8)) else { return nil }
        return Claimed(id: id, channel: channel, payload: payload, attempts: attempts)
    }

    /// One batch of e-mail and SMS rows: claimed with SKIP LOCKED (several workers share the table), sent
    /// concurrently, each marked by its own result. Returns how many rows were handled.
    @discardableResult
    public func deliverBatch(limit: Int = 16) async throws -> Int {
        let lease = configuration.leaseSeconds
        var claimed: [Claimed] = []
        var broken: [Int64] = []
        for try await (id, channel, json, attempts) in try await database.query("""
            UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => \(lease)::float8)
            WHERE id IN (SELECT id FROM outbox
                         WHERE channel <> 'telegram'
                           AND ((status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND locked_until < now()))
                         ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, channel, payload::text, attempts
            """, logger: logger).decode((Int64, String, String, Int).self) {
            if let row = Self.decode(id, channel, json, attempts) { claimed.append(row) } else { broken.append(id) }
        }
        for id in broken { try await fail(id, "the payload cannot be read") }
        guard !claimed.isEmpty else { return broken.count }
        let settings = try await NotificationSettings.load(database, logger: logger)
        let callback = settings["sms.callback_secret"].map { "\(publicURL)/sms/reports/eskiz?key=\($0)" }
        await withTaskGroup(of: Void.self) { group in
            for row in claimed {
                group.addTask {
                    let result = await self.deliverer.deliver(row.channel, row.payload, reference: "murojaat-\(row.id)", settings: settings,
                                                              callbackURL: callback)
                    do { try await self.record(row, result, settings: settings) } catch {
                        self.logger.error("could not mark an outbox row", metadata: ["id": "\(row.id)", "error": "\(String(reflecting: error))"])
                    }
                }
            }
        }
        return claimed.count + broken.count
    }

    /// Telegram rows strictly in order: the oldest unsent row is the only candidate; while it waits (rate
    /// limit, retry backoff) the ones behind it wait too. Returns how many rows were handled.
    @discardableResult
    public func deliverTelegram(limit: Int = 50) async throws -> Int {
        var handled = 0
        var settings: NotificationSettings?
        while handled < limit, !Task.isCancelled {
            guard let row = try await claimNextTelegram() else { break }
            // Read once per batch, and again after a migration changed the chat id.
            let current: NotificationSettings
            if let settings { current = settings } else { current = try await NotificationSettings.load(database, logger: logger) }
            settings = current
            await telegramPace.wait(interval: 60.0 / Double(current.telegramPerMinute))
            let result = await deliverer.deliver(.telegram, row.payload, reference: "murojaat-\(row.id)", settings: current)
            try await record(row, result, settings: current)
            handled += 1
            if case .rateLimited = result { break }
            if case .migrated = result { settings = nil }
        }
        return handled
    }

    func claimNextTelegram() async throws -> Claimed? {
        let lease = configuration.leaseSeconds
        let logger = logger
        return try await database.transaction(logger: logger) { connection -> Claimed? in
            // No SKIP LOCKED here: a second worker waits for the first one's decision instead of taking the next row.
            var head: (Int64, String, Bool, Bool, String, Int)?
            for try await row in try await connection.query("""
                SELECT id, status, next_attempt_at <= now(), coalesce(locked_until < now(), true), payload::text, attempts
                FROM outbox WHERE channel = 'telegram' AND status IN ('pending', 'sending') ORDER BY id LIMIT 1 FOR UPDATE
                """, logger: logger).decode((Int64, String, Bool, Bool, String, Int).self) { head = row }
            guard let (id, status, due, leaseExpired, json, attempts) = head else { return nil }
            guard status == "pending" ? due : leaseExpired else { return nil }
            try await connection.query("""
                UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => \(lease)::float8)
                WHERE id = \(id)
                """, logger: logger)
            guard let claimed = Self.decode(id, "telegram", json, attempts + 1) else {
                try await connection.query("UPDATE outbox SET status = 'failed', last_error = 'the payload cannot be read', locked_until = NULL WHERE id = \(id)",
                                           logger: logger)
                return nil
            }
            return claimed
        }
    }

    func record(_ row: Claimed, _ result: Deliverer.Result, settings: NotificationSettings) async throws {
        switch result {
        case .sent(let providerID):
            try await database.query("""
                UPDATE outbox SET status = 'sent', sent_at = now(), provider_message_id = \(providerID), last_error = NULL, locked_until = NULL
                WHERE id = \(row.id) AND status = 'sending'
                """, logger: logger)
        case .rateLimited(let seconds):
            try await database.query("""
                UPDATE outbox SET status = 'pending', attempts = greatest(attempts - 1, 0), locked_until = NULL,
                       next_attempt_at = now() + make_interval(secs => \(Double(seconds))::float8),
                       last_error = \("rate limited: retry after \(seconds) s")
                WHERE id = \(row.id) AND status = 'sending'
                """, logger: logger)
        case .migrated(let chat):
            logger.notice("the Telegram group became a supergroup; chat id replaced", metadata: ["chat": "\(chat)"])
            try await database.transaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO settings (key, value, updated_at) VALUES ('telegram.chat_id', to_jsonb(\(chat)::text), now())
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
                    """, logger: logger)
                try await connection.query("""
                    INSERT INTO audit_log (action, object_type, object_id, details)
                    VALUES ('settings.telegram_migrated', 'setting', 'telegram.chat_id', jsonb_build_object('chat_id', \(chat)::text))
                    """, logger: logger)
                try await connection.query("""
                    UPDATE outbox SET status = 'pending', attempts = greatest(attempts - 1, 0), locked_until = NULL, next_attempt_at = now()
                    WHERE id = \(row.id) AND status = 'sending'
                    """, logger: logger)
            }
        case .failed(let error, let permanent):
            let message = String(error.prefix(1000))
            if permanent || row.attempts >= settings.maxAttempts {
                try await fail(row.id, message)
            } else {
                let delay = min(configuration.retrySeconds * pow(2, Double(max(0, row.attempts - 1))), 3600)
                try await database.query("""
                    UPDATE outbox SET status = 'pending', last_error = \(message), locked_until = NULL,
                           next_attempt_at = now() + make_interval(secs => \(delay)::float8)
                    WHERE id = \(row.id) AND status = 'sending'
                    """, logger: logger)
            }
            logger.warning("notification not delivered", metadata: ["id": "\(row.id)", "channel": "\(row.channel.rawValue)",
                                                                    "attempt": "\(row.attempts)", "error": "\(message)"])
        }
    }

    func fail(_ id: Int64, _ message: String) async throws {
        try await database.query("""
            UPDATE outbox SET status = 'failed', last_error = \(message), locked_until = NULL WHERE id = \(id) AND status <> 'sent'
            """, logger: logger)
    }
}

/// Spaces sends to one chat at least `interval` seconds apart.
actor Pace {
    var last: ContinuousClock.Instant?

    func wait(interval: Double) async {
        let now = ContinuousClock.now
        if let last {
            let next = last.advanced(by: .nanoseconds(Int64(interval * 1e9)))
            if next > now {
                self.last = next
                try? await Task.sleep(until: next, clock: .continuous)
                return
            }
        }
        last = now
    }
}
