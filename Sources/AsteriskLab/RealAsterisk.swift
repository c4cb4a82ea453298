import ARI
import AsteriskSimulator
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real Asterisk 22 (the build in `../shared/asterisk`, or the install `MUROJAAT_TEST_ASTERISK` names) started for
/// one test with a configuration derived from the project's own `asterisk/*.conf`: only what a test must change is
/// changed (loopback, free ports, test passwords, the trunk pointed at the test's SIP callers, phones 101–105).
/// It is stopped, by its PID, when the test ends.
public final class RealAsterisk: Sendable {
    public let directory: URL
    public let httpPort: Int
    public let sipPort: Int
    /// Where the trunk's contact points: the test's UAS that answers callbacks through the trunk.
    public let trunkPort: Int
    public let password = "murojaat-test-secret"
    private let process = Mutex<(pid: Int32, stopped: Bool)>((0, false))
    /// The running Asterisk's PID (a new one after `restart`).
    public var pid: Int32 { process.withLock { $0.pid } }

    public static let phoneExtensions = ["101", "102", "103", "104", "105"]
    public static func phonePassword(_ ext: String) -> String { "\(ext)-test-secret" }

    /// The project's root (the folder holding Package.swift).
    public static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The folder holding `asterisk-start` / `asterisk-stop`: `MUROJAAT_TEST_ASTERISK`, else `../shared/asterisk` beside
    /// the project. Nil when neither has them.
    public static let install: URL? = {
        let named = ProcessInfo.processInfo.environment["MUROJAAT_TEST_ASTERISK"].map { URL(fileURLWithPath: $0) }
        let shared = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/asterisk")
        for candidate in [named, shared].compactMap({ $0 })
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("asterisk-start").path) {
            return candidate
        }
        return nil
    }()

    /// Why the real-Asterisk tier cannot run here, or nil when it can. In CI (`CI` set) a missing Asterisk or sipp is a
    /// failure, not a skip: the caller records it.
    public static let unavailableReason: String? = {
        if install == nil {
            return "no Asterisk: set MUROJAAT_TEST_ASTERISK to the folder with asterisk-start (../shared/asterisk)"
        }
        if which("sipp") == nil { return "sipp is not installed (apt-get install sip-tester)" }
        return nil
    }()

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false }

    public var ari: ARIServerConfiguration {
        ARIServerConfiguration(baseURL: "http://127.0.0.1:\(httpPort)/ari", username: "murojaat", password: password,
                               application: "murojaat", requestTimeout: .seconds(5))
    }

    public var recordingsDirectory: URL { directory.appendingPathComponent("var/spool/asterisk/recording") }
    public var soundsDirectory: URL { directory.appendingPathComponent("var/lib/asterisk/sounds") }

    private init(directory: URL, httpPort: Int, sipPort: Int, trunkPort: Int, pid: Int32) {
        self.directory = directory
        self.httpPort = httpPort
        self.sipPort = sipPort
        self.trunkPort = trunkPort
        self.process.withLock { $0.pid = pid }
    }

    /// Unpacks (once per folder), configures and starts Asterisk in a new folder, with `sounds` (a tree of
    /// `<lang>/murojaat/<name>.wav`) as its prompts. Throws with Asterisk's own output when it does not come up.
    /// `phones`: operator phones 101… answered by one SIP agent at `127.0.0.1:contactPort` (a static contact each,
    /// no registration: the benchmark's many phones); `rtpPorts`: the size of Asterisk's RTP range (two per channel).
    public static func start(sounds: URL? = nil, phones: (count: Int, contactPort: Int)? = nil, rtpPorts: Int = 200) throws -> RealAsterisk {
        guard let install else { throw TestProcessError(unavailableReason ?? "no Asterisk") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-asterisk-\(UUID().uuidString.prefix(8))")
        let conf = directory.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
        let httpPort = try FreePort.tcp()
        let sipPort = try FreePort.udp()
        let trunkPort = try FreePort.udp()
        let rtpStart = try FreePort.udpRange(count: rtpPorts)
        var derived = try deriveConfiguration(sipPort: sipPort, httpPort: httpPort, trunkPort: trunkPort, rtpStart: rtpStart, rtpPorts: rtpPorts,
                                              mohDirectory: directory.appendingPathComponent("moh"), password: "murojaat-test-secret")
        if let phones { derived["pjsip.conf"] = staticPhones(derived["pjsip.conf"]!, count: phones.count, contactPort: phones.contactPort) }
        for (name, text) in derived { try text.write(to: conf.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("moh"), withIntermediateDirectories: true)
        let run = directory.appendingPathComponent("run")
        // Prompts go in before Asterisk starts: its sound index (what `GET /sounds` answers) is built at start.
        if let sounds {
            let target = run.appendingPathComponent("var/lib/asterisk/sounds")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: sounds, to: target)
        }
        let output = try TestProcess.run(install.appendingPathComponent("asterisk-start").path, [run.path, conf.path], timeout: 90)
        guard output.status == 0 else { throw TestProcessError("asterisk-start failed (\(output.status)): \(output.text)") }
        let pidText = try String(contentsOf: run.appendingPathComponent("var/run/asterisk/asterisk.pid"), encoding: .utf8)
        guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestProcessError("no Asterisk pid") }
        let asterisk = RealAsterisk(directory: run, httpPort: httpPort, sipPort: sipPort, trunkPort: trunkPort, pid: pid)
        return asterisk
    }

    /// The project's configuration with the test's changes. Every change is a line replaced or added, so that the
    /// rest — dialplan, modules, endpoint templates, codecs, timeouts — is exactly what production runs.
    public static func deriveConfiguration(sipPort: Int, httpPort: Int, trunkPort: Int, rtpStart: Int, rtpPorts: Int = 200, mohDirectory: URL,
                                           password: String) throws -> [String: String] {
        let source = projectRoot.appendingPathComponent("asterisk")
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".conf") {
            files[name] = try String(contentsOf: source.appendingPathComponent(name), encoding: .utf8)
        }
        func edit(_ name: String, _ change: (String) -> String?) throws {
            guard let text = files[name] else { throw TestProcessError("asterisk/\(name) is missing") }
            files[name] = text.components(separatedBy: "\n").compactMap(change).joined(separator: "\n")
        }
        try edit("http.conf") { line in
            if line.hasPrefix("bindaddr=") { return "bindaddr=127.0.0.1" }
            if line.hasPrefix("bindport=") { return "bindport=\(httpPort)" }
            return line
        }
        try edit("ari.conf") { $0.hasPrefix("password=") ? "password=\(password)" : $0 }
        try edit("rtp.conf") { line in
            if line.hasPrefix("rtpstart=") { return "rtpstart=\(rtpStart)" }
            if line.hasPrefix("rtpend=") { return "rtpend=\(rtpStart + rtpPorts - 1)" }
            return line
        }
        try edit("musiconhold.conf") { $0.hasPrefix("directory=") ? "directory=\(mohDirectory.path)" : $0 }
        // pjsip.conf: loopback, the test's ports, the trunk is whoever sends from 127.0.0.1 (after phones, which
        // authenticate by user name), no registration to a provider, no qualify (sipp does not answer OPTIONS).
        var section = ""
        var skipping = false
        try edit("pjsip.conf") { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("[") { section = trimmed; skipping = false }
            if trimmed == "type=registration" { skipping = true; return nil }
            if skipping, !trimmed.hasPrefix("[") { return nil }
            if trimmed.hasPrefix("bind=") { return "bind=127.0.0.1:\(sipPort)" }
            if trimmed.hasPrefix("match=") { return "match=127.0.0.1" }
            if trimmed.hasPrefix("contact=sip:") { return "contact=sip:127.0.0.1:\(trunkPort)" }
            if trimmed.hasPrefix("qualify_frequency=") { return "qualify_frequency=0" }
            if trimmed.hasPrefix("from_domain=") { return "from_domain=127.0.0.1" }
            if trimmed.hasPrefix("password=CHANGE-ME-"), let ext = trimmed.split(separator: "-").last {
                return "password=\(phonePassword(String(ext)))"
            }
            if trimmed == "type=global" { return line + "\nendpoint_identifier_order=username,ip,anonymous" }
            if trimmed == "direct_media=no" { return line + "\nmedia_address=127.0.0.1\nbind_rtp_to_media_address=yes" }
            return line
        }
        _ = section
        // The registration section's header was kept above its removed lines; drop a header left with no body.
        files["pjsip.conf"] = files["pjsip.conf"]!.replacingOccurrences(of: "[trunk]\n\n[trunk]", with: "[trunk]")
        // Phones 104 and 105 as the README says to add one: 103's three sections with another number.
        var pjsip = files["pjsip.conf"]!
        for ext in ["104", "105"] where !pjsip.contains("[\(ext)](operator-endpoint)") { pjsip += phoneSections(ext) }
        files["pjsip.conf"] = pjsip
        // The log keeps verbose level 3 ("Playing '<file>.<format>'" for every prompt), so that a test can tell
        // what a caller heard.
        files["logger.conf"] = "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose(3)\n"
        return files
    }

    /// A phone's three sections (endpoint, `-auth`, aor) as the README says to add one: 103's with another number,
    /// `aor` lines added to its aor.
    static func phoneSections(_ ext: String, aor: String = "") -> String {
        """

        [\(ext)](operator-endpoint)
        auth=\(ext)-auth
        aors=\(ext)
        callerid="Operator \(ext)" <\(ext)>
        [\(ext)-auth](operator-auth)
        username=\(ext)
        password=\(phonePassword(ext))
        [\(ext)](operator-aor)
        \(aor)

        """
    }

    /// Phones 101…(100 + count) as the README says to add one, each with a static contact at `contactPort` instead
    /// of a registration (one SIP agent plays every phone).
    static func staticPhones(_ pjsip: String, count: Int, contactPort: Int) -> String {
        var text = pjsip
        for number in 101..<(101 + count) {
            let ext = String(number)
            let contact = "contact=sip:\(ext)@127.0.0.1:\(contactPort)"
            if text.contains("[\(ext)](operator-aor)") {
                text = text.replacingOccurrences(of: "[\(ext)](operator-aor)", with: "[\(ext)](operator-aor)\n\(contact)")
            } else {
                text += phoneSections(ext, aor: contact)
            }
        }
        return text
    }

    /// Runs a CLI command (`asterisk -rx`) and returns its output.
    @discardableResult
    public func cli(_ command: String) throws -> String {
        let binary = directory.appendingPathComponent("sbin/asterisk").path
        let output = try TestProcess.run(binary, ["-C", directory.appendingPathComponent("etc/asterisk/asterisk.conf").path, "-rx", command],
                                         environment: ["LD_LIBRARY_PATH": directory.appendingPathComponent("lib").path], timeout: 20)
        return output.text
    }

    /// Stops Asterisk (`asterisk-stop`, then SIGKILL to its PID if it is still there) and removes its folder.
    public func stop(removeFiles: Bool = true) {
        // Once only: a second kill could hit another process that was given the same PID since.
        guard let pid = process.withLock({ state -> Int32? in
            if state.stopped { return nil }
            state.stopped = true
            return state.pid
        }) else { return }
        halt(pid)
        if removeFiles { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
    }

    private func halt(_ pid: Int32) {
        if let install = Self.install {
            _ = try? TestProcess.run(install.appendingPathComponent("asterisk-stop").path, [directory.path], timeout: 40)
        }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }

    /// Stops Asterisk (`core stop now`, which hangs its calls up; or, with `crash`, SIGKILL: they vanish without an
    /// event) and starts it again on the same folder, ports and configuration.
    public func restart(crash: Bool = false) throws {
        if crash {
            // A crash or power cut: no hang-up, no event, the process is just gone.
            let pid = pid
            kill(pid, SIGKILL)
            while kill(pid, 0) == 0 { usleep(10_000) }
        } else {
            halt(pid)
        }
        guard let install = Self.install else { throw TestProcessError("no Asterisk") }
        let conf = directory.deletingLastPathComponent().appendingPathComponent("conf")
        let output = try TestProcess.run(install.appendingPathComponent("asterisk-start").path, [directory.path, conf.path], timeout: 90)
        guard output.status == 0 else { throw TestProcessError("asterisk-start failed (\(output.status)): \(output.text)") }
        let pidText = try String(contentsOf: directory.appendingPathComponent("var/run/asterisk/asterisk.pid"), encoding: .utf8)
        guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestProcessError("no Asterisk pid") }
        process.withLock { $0.pid = pid }
    }

    /// The last lines of Asterisk's log, for a failure message.
    public func logTail(_ lines: Int = 40) -> String {
        let log = (try? String(contentsOf: directory.appendingPathComponent("var/log/asterisk/messages.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Writes a prompt tree (`<lang>/murojaat/<name>.wav`, 8 kHz mono 16-bit, with its `.alaw` and `.ulaw` copies as
    /// `prompts synthesize` lays them out) with a short tone for each name, so that both peers play prompts of the
    /// same, known length.
    public static func writePrompts(_ names: [String], languages: [String] = ["uz", "ru"], seconds: Double = 0.4) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-prompts-\(UUID().uuidString.prefix(8))")
        for language in languages {
            let folder = root.appendingPathComponent("\(language)/murojaat")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (index, name) in names.enumerated() {
                let wav = WAV.tone(seconds: seconds, hertz: 300 + Double(index % 20) * 40)
                try wav.write(to: folder.appendingPathComponent("\(name).wav"))
                let samples = WAV.samples(wav)
                try Data(samples.map(G711.alaw)).write(to: folder.appendingPathComponent("\(name).alaw"))
                try Data(samples.map(G711.ulaw)).write(to: folder.appendingPathComponent("\(name).ulaw"))
            }
        }
        return root
    }
}

/// ITU-T G.711 A-law and µ-law, for the test prompts' telephone copies (production's come from sox).
public enum G711 {
    public static func alaw(_ sample: Int16) -> UInt8 {
        var value = Int(sample) >> 3
        let mask: Int
        if value >= 0 { mask = 0xD5 } else { mask = 0x55; value = -value - 1 }
        let ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]
        guard let segment = ends.firstIndex(where: { value <= $0 }) else { return UInt8(0x7F ^ mask) }
        let code = segment << 4 | (segment < 2 ? (value >> 1) & 0x0F : (value >> segment) & 0x0F)
        return UInt8(code ^ mask)
    }

    public static func ulaw(_ sample: Int16) -> UInt8 {
        var value = Int(sample)
        let sign = value < 0 ? 0x80 : 0
        value = min(abs(value), 32635) + 0x84
        var exponent = 7
        while exponent > 0, value & (0x80 << exponent) == 0 { exponent -= 1 }
        let mantissa = (value >> (exponent + 3)) & 0x0F
        return UInt8(~(sign | exponent << 4 | mantissa) & 0xFF)
    }
}

/// 8 kHz mono 16-bit PCM WAV files, and the level of one.
public enum WAV {
    public static func tone(seconds: Double, hertz: Double, amplitude: Double = 8000) -> Data {
        let count = Int(seconds * 8000)
        var samples = Data(capacity: count * 2)
        for i in 0..<count {
            let value = Int16(amplitude * sin(2 * .pi * hertz * Double(i) / 8000))
            withUnsafeBytes(of: value.littleEndian) { samples.append(contentsOf: $0) }
        }
        return WAVFile.header(dataSize: samples.count) + samples
    }

    /// The samples of a 16-bit PCM WAV file (the `data` chunk, found by walking the chunks).
    public static func samples(_ data: Data) -> [Int16] {
        let bytes = [UInt8](data)
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if id == "data" {
                let end = min(bytes.count, offset + 8 + size)
                var samples: [Int16] = []
                samples.reserveCapacity((end - offset - 8) / 2)
                var i = offset + 8
                while i + 1 < end { samples.append(Int16(bitPattern: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)); i += 2 }
                return samples
            }
            offset += 8 + size + (size & 1)
        }
        return []
    }

    /// Root mean square of the samples (0 for silence; speech is typically in the hundreds to thousands).
    public static func rms(_ data: Data) -> Double {
        let s = samples(data)
        guard !s.isEmpty else { return 0 }
        return (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(s.count)).squareRoot()
    }
}

public struct TestProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Child processes of a test, started with posix_spawn and watched with waitpid on their own PID (never by name), so
/// that a test ends exactly the processes it started.
public final class TestProcess: Sendable {
    public struct Output: Sendable { public var status: Int32; public var text: String }

    public let pid: pid_t
    public let log: URL
    private let status = Mutex<Int32?>(nil)

    /// Starts `path` with its output (stdout and stderr) written to `log`, stdin from /dev/null.
    public init(_ path: String, _ arguments: [String], environment: [String: String] = [:], log: URL) throws {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        // Nothing else of the test's reaches the child: a socket it inherited (a proxy's, a server's) would stay open
        // in it after the test closed its own copy, and the far end would never see the close.
        guard Self.closeFrom(&fileActions, 3) == 0 else { throw TestProcessError("could not start \(path): closefrom action refused") }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &fileActions, nil, argv, envp)
        guard result == 0 else { throw TestProcessError("could not start \(path): error \(result)") }
        self.pid = pid
        self.log = log
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not import.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// The exit status once it has ended (255 + signal for a killed one), nil while it runs.
    public var exitStatus: Int32? {
        status.withLock { known in
            if let known { return known }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 255 + (raw & 0x7f)
            known = code
            return code
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Waits (sleeping, not blocking a thread of the cooperative pool) up to `timeout` seconds for the end.
    public func wait(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return exitStatus
    }

    /// Ends it by its PID: SIGTERM, then SIGKILL after `grace` seconds.
    public func stop(grace: Double = 2) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning, Date() < deadline { usleep(10_000) }
        if isRunning { kill(pid, SIGKILL); while isRunning { usleep(5_000) } }
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Runs `path` to its end (SIGKILL to its PID after `timeout` seconds) and returns its exit status and output.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double) throws -> Output {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: log) }
        let process = try TestProcess(path, arguments, environment: environment, log: log)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { process.stop(grace: 0) }
        return Output(status: process.exitStatus ?? -1, text: process.output)
    }
}

/// Free loopback ports, found by binding port 0 and letting it go.
public enum FreePort {
    public static func tcp() throws -> Int { try unique { try bind(stream: true) } }
    public static func udp() throws -> Int { try unique { try bind(stream: false) } }

    /// Ports this process has handed out: a port is let go before the child that uses it binds it, so the kernel may
    /// offer it again meanwhile; it is never handed out twice.
    private static let given = Mutex<Set<Int>>([])

    private static func unique(_ pick: () throws -> Int) throws -> Int {
        for _ in 0..<100 {
            let port = try pick()
            if given.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw TestProcessError("no free port that was not handed out already")
    }

    /// The first of `count` consecutive even-aligned UDP ports that are all free now (for an RTP range).
    public static func udpRange(count: Int) throws -> Int {
        for _ in 0..<1000 {
            let start = Int.random(in: 20_000...(60_000 - count)) & ~1
            if given.withLock({ set in (0..<count).contains { set.contains(start + $0) } }) { continue }
            guard (0..<count).allSatisfy({ (try? bind(stream: false, port: start + $0)) != nil }) else { continue }
            if given.withLock({ set in
                guard (0..<count).allSatisfy({ !set.contains(start + $0) }) else { return false }
                for offset in 0..<count { set.insert(start + offset) }
                return true
            }) { return start }
        }
        throw TestProcessError("no free range of \(count) UDP ports")
    }

    static func bind(stream: Bool, port: Int = 0) throws -> Int {
        let fd = socket(AF_INET, Int32(stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestProcessError("port \(port) in use") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
