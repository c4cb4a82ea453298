import Foundation
@testable import MurojaatApp
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreComplete() throws {
        let config = try AppConfiguration.load(environment: [:])
        #expect(config.httpPort == 8080)
        #expect(config.timeZone.identifier == "Asia/Tashkent")
        #expect(config.ariServers.isEmpty)
        #expect(config.database.port == 55432)
    }

    @Test func severalAsteriskServersWithCredentials() throws {
        let config = try AppConfiguration.load(environment: [
            "MUROJAAT_ARI_URL": "http://10.0.0.5:8088/ari, http://ops:s3cret@10.0.0.6:8088/",
            "MUROJAAT_ARI_PASSWORD": "pw", "MUROJAAT_ARI_APP": "murojaat", "MUROJAAT_ARI_TIMEOUT": "2.5",
        ])
        #expect(config.ariServers.map(\.baseURL) == ["http://10.0.0.5:8088/ari", "http://10.0.0.6:8088/ari"])
        #expect(config.ariServers.map(\.username) == ["murojaat", "ops"])
        #expect(config.ariServers.map(\.password) == ["pw", "s3cret"])
        #expect(config.ariServers.map(\.name) == ["ast1", "ast2"])
        #expect(config.ariServers[0].requestTimeout == .milliseconds(2500))
    }

    @Test(arguments: [
        ("MUROJAAT_HTTP_PORT", "eighty", "MUROJAAT_HTTP_PORT"),
        ("MUROJAAT_HTTP_PORT", "70000", "MUROJAAT_HTTP_PORT"),
        ("MUROJAAT_PUBLIC_URL", "ftp://x", "MUROJAAT_PUBLIC_URL"),
        ("MUROJAAT_DATABASE_URL", "mysql://x@y/z", "MUROJAAT_DATABASE_URL"),
        ("MUROJAAT_ARI_URL", "not a url", "MUROJAAT_ARI_URL"),
        ("MUROJAAT_ARI_URL", "http://10.0.0.5:8088/ari", "MUROJAAT_ARI_PASSWORD"),
        ("MUROJAAT_ARI_TIMEOUT", "-1", "MUROJAAT_ARI_TIMEOUT"),
        ("MUROJAAT_ARI_APP", "my app;rm", "MUROJAAT_ARI_APP"),
        ("MUROJAAT_TIMEZONE", "Mars/Olympus", "MUROJAAT_TIMEZONE"),
        ("MUROJAAT_LOG_LEVEL", "loud", "MUROJAAT_LOG_LEVEL"),
        ("MUROJAAT_HTTP_HOST", "", "MUROJAAT_HTTP_HOST"),
    ])
    func aWrongSettingIsNamed(_ key: String, _ value: String, _ named: String) {
        #expect {
            try AppConfiguration.load(environment: [key: value])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.setting == named && error.description.contains(named)
        }
    }

    @Test func fileSettingsAreReadAndTheEnvironmentWins() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-\(UUID()).conf")
        try """
            # Murojaat settings
            MUROJAAT_HTTP_PORT=9090
            MUROJAAT_TIMEZONE = "Asia/Samarkand"
            """.write(to: url, atomically: true, encoding: .utf8)
        let config = try AppConfiguration.load(environment: ["MUROJAAT_HTTP_PORT": "9191"], file: url.path)
        #expect(config.httpPort == 9191)
        #expect(config.timeZone.identifier == "Asia/Samarkand")
        #expect(config.sourceFile == url.path)

        try "MUROJAAT_HTTP_PORTT=1\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.load(environment: [:], file: url.path) }
        try "just words\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.load(environment: [:], file: url.path) }
        #expect(throws: ConfigurationError(setting: "MUROJAAT_CONFIG", problem: "names /no/such/file, which cannot be read")) {
            try AppConfiguration.load(environment: [:], file: "/no/such/file")
        }
    }

    @Test func everySettingIsInTheREADME() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../README.md").standardized, encoding: .utf8)
        for setting in AppConfiguration.settings {
            #expect(readme.contains("`\(setting.name)`"), "\(setting.name) missing from README")
        }
    }
}
