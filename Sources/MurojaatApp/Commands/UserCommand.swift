import ArgumentParser
import Foundation
import Logging
import PostgresNIO

extension MurojaatCommand {
    struct User: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Manage staff accounts from the command line.",
                                                        subcommands: [Add.self, Password.self])

        struct Add: AsyncCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a staff account (e.g. the first admin). The password is read from standard input.")
            @OptionGroup var options: ConfigOptions
            @Option(help: "Login: 3–32 latin letters, digits or . _ -") var login: String
            @Option(help: "Full name.") var name: String
            @Option(help: "operator, editor, supervisor, admin or dtm.") var role: String = "admin"
            @Option(help: "Interface language: uz or ru.") var language: String = "uz"

            func runAsync() async throws {
                guard let role = Role(rawValue: role) else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
                guard let language = UILanguage(rawValue: language) else { throw ValidationError("--language must be uz or ru") }
                let password = try readPassword()
                try await withAccounts(options) { accounts in
                    do {
                        let id = try await accounts.createUser(login: login, fullName: name, role: role, password: password, language: language)
                        print("created \(role.rawValue) \(login) (id \(id))")
                    } catch Accounts.AccountError.loginTaken {
                        throw ValidationError("the login \(login) is taken")
                    } catch Accounts.AccountError.invalidLogin {
                        throw ValidationError("--login: 3–32 latin letters, digits or . _ -")
                    } catch Accounts.AccountError.weakPassword {
                        throw ValidationError("the password must have 10 to 128 characters")
                    } catch Accounts.AccountError.invalidName {
                        throw ValidationError("--name must have 1 to 120 characters")
                    }
                }
            }
        }

        struct Password: AsyncCommand {
            static let configuration = CommandConfiguration(abstract: "Set a staff account's password (read from standard input) and unlock it.")
            @OptionGroup var options: ConfigOptions
            @Option(help: "Login of the account.") var login: String

            func runAsync() async throws {
                let password = try readPassword()
                try await withAccounts(options) { accounts in
                    var id: Int64?
                    for try await value in try await accounts.database.query("SELECT id FROM users WHERE lower(login) = lower(\(login))",
                                                                             logger: accounts.logger).decode(Int64.self) { id = value }
                    guard let id else { throw ValidationError("no account \(login)") }
                    do {
                        try await accounts.setPassword(userId: id, password: password)
                    } catch Accounts.AccountError.weakPassword {
                        throw ValidationError("the password must have 10 to 128 characters")
                    }
                    print("password of \(login) set")
                }
            }
        }
    }
}

func readPassword() throws -> String {
    if isatty(0) != 0 { FileHandle.standardError.write(Data("Password: ".utf8)) }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
    return line
}

func withAccounts(_ options: ConfigOptions, _ body: (Accounts) async throws -> Void) async throws {
    let config = try options.load()
    let logger = Logger(label: "murojaat.user")
    let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await body(Accounts(database: client, logger: logger))
    }
}
