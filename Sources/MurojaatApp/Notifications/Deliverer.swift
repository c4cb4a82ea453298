import AsyncHTTPClient
import Foundation
import Logging
import Notifications

/// Sends one payload through its channel with the current settings, and says what happened in a form the
/// worker can act on: sent, try again later (with a delay the provider asked for, or the worker's backoff),
/// or refused for good.
public struct Deliverer: Sendable {
    public enum Result: Sendable, Equatable {
        case sent(providerID: String)
        /// Not an error: the provider asked to wait (Telegram 429). The attempt is not counted.
        case rateLimited(seconds: Int)
        /// The Telegram group became a supergroup: the chat id in the settings is replaced, then sent again.
        case migrated(chat: String)
        case failed(String, permanent: Bool)
    }

    public let configuration: NotificationConfiguration
    public let http: HTTPClient
    public let eskiz: EskizCache

    public init(configuration: NotificationConfiguration, http: HTTPClient, eskiz: EskizCache = EskizCache()) {
        self.configuration = configuration
        self.http = http
        self.eskiz = eskiz
    }

    public func deliver(_ channel: OutboxChannel, _ payload: OutboxPayload, reference: String, settings: NotificationSettings,
                        callbackURL: String? = nil) async -> Result {
        switch channel {
        case .email: return await email(payload, settings: settings)
        case .telegram: return await telegram(payload, settings: settings)
        case .sms: return await sms(payload, reference: reference, settings: settings, callbackURL: callbackURL)
        }
    }

    func email(_ payload: OutboxPayload, settings: NotificationSettings) async -> Result {
        guard let smtp = settings.smtp(configuration) else { return .failed("e-mail is not configured (SMTP server and sender)", permanent: false) }
        guard let to = payload.to ?? payload.toSetting.flatMap({ settings[$0] }) else {
            return .failed("no recipient: \(payload.toSetting ?? "address") is not set", permanent: false)
        }
        let attachments = (payload.attachments ?? []).compactMap { attachment in
            Data(base64Encoded: attachment.base64).map { EmailMessage.Attachment(filename: attachment.filename, contentType: attachment.contentType, data: Array($0)) }
        }
        let message = EmailMessage(to: [to], subject: payload.subject ?? "Murojaat", text: payload.text, html: payload.html, attachments: attachments)
        do {
            return .sent(providerID: try await SMTPClient(configuration: smtp).send(message))
        } catch let error as SMTPError {
            return .failed(error.description, permanent: error.permanent)
        } catch {
            return .failed("\(error)", permanent: false)
        }
    }

    func telegram(_ payload: OutboxPayload, settings: NotificationSettings) async -> Result {
        guard let token = settings["telegram.bot_token"], let chat = settings["telegram.chat_id"] else {
            return .failed("Telegram is not configured (bot token and chat id)", permanent: false)
        }
        do {
            switch try await TelegramClient(http: http, baseURL: configuration.telegramURL, token: token).sendMessage(chatID: chat, html: payload.text) {
            case .sent(let id): return .sent(providerID: String(id))
            case .retryAfter(let seconds): return .rateLimited(seconds: seconds)
            case .migrated(let chat): return .migrated(chat: chat)
            case .refused(let code, let description, let permanent): return .failed("Telegram \(code): \(description)", permanent: permanent)
            }
        } catch {
            return .failed("Telegram: \(error)", permanent: false)
        }
    }

    func sms(_ payload: OutboxPayload, reference: String, settings: NotificationSettings, callbackURL: String?) async -> Result {
        guard let phone = payload.phone.flatMap(PhoneNumber.mobile) else { return .failed("not a mobile number: \(payload.phone ?? "none")", permanent: true) }
        let provider: any SMSProvider
        switch settings.smsProvider {
        case "eskiz":
            guard let email = settings["eskiz.email"], let password = settings["eskiz.password"] else {
                return .failed("Eskiz is not configured (e-mail and password)", permanent: false)
            }
            provider = await eskiz.provider(http: http, baseURL: configuration.eskizURL, email: email, password: password,
                                            sender: settings["sms.sender"] ?? "4546", callbackURL: callbackURL)
        case "playmobile":
            guard let login = settings["playmobile.login"], let password = settings["playmobile.password"] else {
                return .failed("Play Mobile is not configured (login and password)", permanent: false)
            }
            provider = PlayMobileProvider(http: http, baseURL: configuration.playMobileURL, login: login, password: password,
                                          originator: settings["sms.sender"] ?? "3700")
        default:
            return .failed("no SMS provider is chosen", permanent: false)
        }
        do {
            return .sent(providerID: try await provider.send(SMSMessage(phone: phone, text: payload.text, reference: reference)))
        } catch let error as SMSError {
            return .failed(error.description, permanent: error.permanent)
        } catch {
            return .failed("\(provider.name): \(error)", permanent: false)
        }
    }
}

/// Keeps one Eskiz provider (and so its token) as long as its credentials do not change.
public actor EskizCache {
    var current: (key: String, provider: EskizProvider)?
    public init() {}

    func provider(http: HTTPClient, baseURL: String, email: String, password: String, sender: String, callbackURL: String?) -> EskizProvider {
        let key = [baseURL, email, password, sender, callbackURL ?? ""].joined(separator: "\u{0}")
        if let current, current.key == key { return current.provider }
        let provider = EskizProvider(http: http, baseURL: baseURL, email: email, password: password, sender: sender, callbackURL: callbackURL)
        current = (key, provider)
        return provider
    }
}
