import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a SIP caller does once the call is answered, in order.
public enum CallerStep: Sendable, Equatable {
    /// Waits this many milliseconds.
    case pause(Int)
    /// Presses a key (RFC 4733, about 200 ms).
    case digit(Character)
    /// Starts talking: 7 s of recorded speech-like audio (it goes on while the next steps run).
    case talk
    /// Hangs up (SIP BYE).
    case hangup
}

/// How an operator's phone behaves when it is called.
public enum PhoneMode: Sendable, Equatable {
    /// Rings, answers after this many milliseconds, then talks until the call ends.
    case answer(afterMs: Int)
    /// Rings, answers after `afterMs`, talks and hangs up (BYE) after `hangupAfterMs` unless the caller did first.
    case answerAndHangUp(afterMs: Int, hangupAfterMs: Int)
    /// Rings until the caller gives up (CANCEL).
    case noAnswer
    /// Refuses at once with 486 Busy Here.
    case busy
}

/// sipp (Debian's `sip-tester`) as SIP callers and operator phones against a real Asterisk, on loopback only. Each
/// sipp is a child process of the test, ended by its own PID.
public enum SIPp {
    static let pcaps = "/usr/share/sip-tester"

    /// A running sipp: its process, and the folder of its scenario, pcaps and log (removed when it goes).
    public final class Running: Sendable {
        let process: TestProcess
        public let files: URL
        public var pid: Int32 { process.pid }

        init(process: TestProcess, files: URL) {
            self.process = process
            self.files = files
        }

        public var isRunning: Bool { process.isRunning }

        /// Waits for the end (up to `timeout` seconds) and returns the exit status: 0 when every call went as scripted.
        public func wait(timeout: Double) async -> Int32? { await process.wait(timeout: timeout) }

        /// Ends it by its PID.
        public func stop() { process.stop() }

        public var output: String {
            process.output + ((try? String(contentsOf: process.log.appendingPathExtension("err"), encoding: .utf8)) ?? "")
        }

        deinit {
            process.stop(grace: 0)
            try? FileManager.default.removeItem(at: files)
        }
    }

    static func launch(_ arguments: [String], scenario: String, name: String, files: URL) throws -> Running {
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let xml = files.appendingPathComponent("\(name).xml")
        try scenario.write(to: xml, atomically: true, encoding: .utf8)
        let log = files.appendingPathComponent("\(name).log")
        // -ci: the control socket on loopback (sipp listens on all addresses otherwise); -nostdin: no keyboard;
        // -trace_err: unexpected messages in the log.
        // MUROJAAT_SIPP_TRACE_DIR keeps every SIP message with its time (for measuring latencies from the SIP side).
        var trace: [String] = []
        if let dir = ProcessInfo.processInfo.environment["MUROJAAT_SIPP_TRACE_DIR"], !dir.isEmpty {
            trace = ["-trace_msg", "-message_file", "\(dir)/\(name)-\(UUID().uuidString.prefix(8)).msg"]
        }
        let process = try TestProcess(which("sipp") ?? "/usr/bin/sipp",
                                      ["-sf", xml.path] + arguments + ["-i", "127.0.0.1", "-ci", "127.0.0.1", "-cp", String(try FreePort.udp()),
                                                                       "-nostdin", "-trace_err", "-error_file", log.path + ".err"] + trace,
                                      log: log)
        return Running(process: process, files: files)
    }

    static func folder(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sipp-\(name)-\(UUID().uuidString.prefix(8))")
    }

    /// A citizen calling `to` through the trunk from `from`, doing `steps` once answered. Unless the steps hang up, the
    /// call waits (up to `holdSeconds`) for the far end to hang up. Exit status 0: the call was answered and ended.
    /// With `load`, one sipp places many such calls (`from` followed by the call's number as the caller) and keeps
    /// every INVITE → 200 OK time in a file (`rttFile`).
    public static func call(sipPort: Int, from: String, to: String = "1000", steps: [CallerStep], holdSeconds: Int = 60,
                            load: Load? = nil) throws -> Running {
        let files = folder("caller")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        var body = ""
        var position = 0
        for step in steps {
            switch step {
            case .pause(let ms):
                body += "  <pause milliseconds=\"\(ms)\"/>\n"
            case .digit(let key):
                // Each key press is its own pcap with its own RTP timestamps: a pcap replayed in one call repeats
                // them, and Asterisk takes the second press for the end of the first.
                let pcap = files.appendingPathComponent("digit-\(position).pcap")
                try digitPcap(key, position: position).write(to: pcap)
                position += 1
                body += "  <nop><action><exec play_pcap_audio=\"\(pcap.path)\"/></action></nop>\n  <pause milliseconds=\"260\"/>\n"
            case .talk:
                body += "  <nop><action><exec play_pcap_audio=\"\(pcaps)/g711a.pcap\"/></action></nop>\n"
            case .hangup:
                body += byeAndEnd
            }
        }
        if steps.last != .hangup {
            body += "  <recv request=\"BYE\" timeout=\"\(holdSeconds * 1000)\" ontimeout=\"hangup\" next=\"farend\"/>\n"
                + "  <label id=\"hangup\"/>\n" + byeAndEnd
        }
        // A BYE from the far end at any point after the answer is caught by the global optional receive (sipp finds
        // it wherever the call is); sipp wants it just before a mandatory receive.
        let scenario = """
        <?xml version="1.0" encoding="UTF-8"?>
        <scenario name="caller">
          <send retrans="500" start_rtd="1"><![CDATA[
        INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
        Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
        From: <sip:\(from)\(load == nil ? "" : "[call_number]")@[local_ip]:[local_port]>;tag=[pid]c[call_number]
        To: <sip:[service]@[remote_ip]:[remote_port]>
        Call-ID: [call_id]
        CSeq: 1 INVITE
        Contact: <sip:\(from)@[local_ip]:[local_port]>
        Max-Forwards: 70
        Content-Type: application/sdp
        Content-Length: [len]

        \(sdp)
        ]]></send>
          <recv response="100" optional="true"/>
          <recv response="180" optional="true"/>
          <recv response="183" optional="true"/>
          <recv request="BYE" optional="global" next="farend"/>
          <recv response="200" rtd="1"/>
          <send><![CDATA[
        ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
        Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
        From: <sip:\(from)@[local_ip]:[local_port]>;tag=[pid]c[call_number]
        [last_To:]
        Call-ID: [call_id]
        CSeq: 1 ACK
        Contact: <sip:\(from)@[local_ip]:[local_port]>
        Max-Forwards: 70
        Content-Length: 0

        ]]></send>
        \(body)
          <label id="farend"/>
          <send><![CDATA[
        SIP/2.0 200 OK
        [last_Via:]
        [last_From:]
        [last_To:]
        [last_Call-ID:]
        [last_CSeq:]
        Contact: <sip:\(from)@[local_ip]:[local_port]>
        Content-Length: 0

        ]]></send>
          <label id="end"/>
        </scenario>
        """
        let volume = load.map { ["-m", String($0.total), "-l", String($0.concurrency), "-r", String($0.rate), "-trace_rtt", "-rtt_freq", "1",
                                 "-max_socket", "10000"] } ?? ["-m", "1", "-l", "1"]
        let timeout = load.map { $0.total / max(1, $0.rate) + holdSeconds * 4 + 120 } ?? holdSeconds + 60
        return try launch(["127.0.0.1:\(sipPort)", "-s", to] + volume + ["-p", String(try FreePort.udp()),
                           "-mi", "127.0.0.1", "-mp", String(try FreePort.udpRange(count: 4)), "-timeout", "\(timeout)s",
                           "-timeout_error"], scenario: scenario, name: "caller", files: files)
    }

    /// Many callers from one sipp: `total` calls, `concurrency` at most at once, `rate` new calls a second.
    public struct Load: Sendable {
        public var total: Int
        public var concurrency: Int
        public var rate: Int
        public init(total: Int, concurrency: Int, rate: Int) {
            self.total = total
            self.concurrency = concurrency
            self.rate = rate
        }
    }

    /// The INVITE → 200 OK times (ms) sipp kept for `running` (started with a `Load`), from its `_rtt.csv`.
    public static func responseTimes(_ running: Running) -> [Double] {
        let folders = [running.files, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            guard let name = names.first(where: { $0.hasSuffix("_\(running.pid)_rtt.csv") }) else { continue }
            let path = folder.appendingPathComponent(name)
            defer { if folder != running.files { try? FileManager.default.removeItem(at: path) } }
            let text = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
            // date_ms;response_time_ms;rtd_no
            return text.split(separator: "\n").dropFirst().compactMap { line in
                let fields = line.split(separator: ";")
                return fields.count >= 2 ? Double(fields[1]) : nil
            }
        }
        return []
    }

    static let byeAndEnd = """
      <send retrans="500"><![CDATA[
    BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
    Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
    [last_From:]
    [last_To:]
    Call-ID: [call_id]
    CSeq: 2 BYE
    Max-Forwards: 70
    Content-Length: 0

    ]]></send>
      <recv response="200" next="end"/>

    """

    static let sdp = """
    v=0
    o=- 53655765 2353687637 IN IP[local_ip_type] [local_ip]
    s=-
    c=IN IP[media_ip_type] [media_ip]
    t=0 0
    m=audio [media_port] RTP/AVP 8 0 101
    a=rtpmap:8 PCMA/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-15
    a=sendrecv
    """

    /// Registers phone `ext` from `port` (Expires 0 unregisters it). Returns when Asterisk has answered.
    public static func register(_ ext: String, password: String, sipPort: Int, from port: Int, expires: Int = 3600) async throws {
        // The same REGISTER twice: without credentials, then with the digest answer to the 401.
        func register(cseq: Int, authenticated: Bool) -> String {
            """
              <send retrans="500"><![CDATA[
            REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
            Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
            From: <sip:\(ext)@[remote_ip]>;tag=[pid]r[call_number]
            To: <sip:\(ext)@[remote_ip]>
            Call-ID: [call_id]
            CSeq: \(cseq) REGISTER
            Contact: <sip:\(ext)@[local_ip]:[local_port]>\(authenticated ? "\n[authentication]" : "")
            Expires: \(expires)
            Max-Forwards: 70
            Content-Length: 0

            ]]></send>

            """
        }
        let scenario = """
        <?xml version="1.0" encoding="UTF-8"?>
        <scenario name="register">
        \(register(cseq: 1, authenticated: false))  <recv response="401" auth="true"/>
        \(register(cseq: 2, authenticated: true))  <recv response="200"/>
        </scenario>
        """
        let running = try launch(["127.0.0.1:\(sipPort)", "-m", "1", "-p", String(port), "-au", ext, "-ap", password, "-timeout", "10s",
                                  "-timeout_error"], scenario: scenario, name: "register-\(ext)", files: folder("register"))
        let status = await running.wait(timeout: 15)
        guard status == 0 else {
            running.stop()
            throw TestProcessError("phone \(ext) could not register (sipp \(status.map(String.init) ?? "hung")): \(running.output.suffix(600))")
        }
    }

    /// Phone `ext` answering calls on `port` (where it registered from) as `mode` says, any number of calls.
    public static func phone(_ ext: String, port: Int, mode: PhoneMode, limit: Int = 50) throws -> Running {
        func response(_ status: String, sdp: Bool = false, tag: Bool = true) -> String {
            """
              <send><![CDATA[
            SIP/2.0 \(status)
            [last_Via:]
            [last_From:]
            [last_To:]\(tag ? ";tag=[pid]p[call_number]" : "")
            [last_Call-ID:]
            [last_CSeq:]
            Contact: <sip:\(ext)@[local_ip]:[local_port]>
            \(sdp ? "Content-Type: application/sdp\nContent-Length: [len]\n\n\(Self.sdp)\n" : "Content-Length: 0\n")
            ]]></send>

            """
        }
        // A CANCEL while ringing: 200 for the CANCEL, 487 for the INVITE (its CSeq number with method INVITE), then ACK.
        let cancelled = response("200 OK", tag: false) + """
          <send><![CDATA[
        SIP/2.0 487 Request Terminated
        [last_Via:]
        [last_From:]
        [last_To:];tag=[pid]p[call_number]
        [last_Call-ID:]
        CSeq: [last_cseq_number] INVITE
        Content-Length: 0

        ]]></send>
          <recv request="ACK"/>

        """
        var body: String
        switch mode {
        case .answer(let after):
            // The CANCEL handler is global (sipp finds it while the phone still rings, in the pause) and sits just
            // before a mandatory receive, as sipp requires.
            body = response("180 Ringing") + "  <pause milliseconds=\"\(after)\"/>\n"
                + response("200 OK", sdp: true).replacingOccurrences(of: "<send>", with: "<send retrans=\"500\">") + """
              <recv request="CANCEL" optional="global" next="cancelled"/>
              <recv request="ACK" crlf="true"/>
              <nop><action><exec play_pcap_audio="\(pcaps)/g711a.pcap"/></action></nop>
              <recv request="BYE"/>

            """ + response("200 OK", tag: false).replacingOccurrences(of: "<send>", with: "<send next=\"end\">")
                + "  <label id=\"cancelled\"/>\n" + cancelled
        case .answerAndHangUp(let after, let talk):
            // The caller's BYE while the operator talks is caught by the global receive before the BYE's 200.
            body = response("180 Ringing") + "  <pause milliseconds=\"\(after)\"/>\n"
                + response("200 OK", sdp: true).replacingOccurrences(of: "<send>", with: "<send retrans=\"500\">") + """
              <recv request="CANCEL" optional="global" next="cancelled"/>
              <recv request="ACK" crlf="true"/>
              <nop><action><exec play_pcap_audio="\(pcaps)/g711a.pcap"/></action></nop>
              <pause milliseconds="\(talk)"/>
              <send retrans="500"><![CDATA[
            BYE [$contact] SIP/2.0
            Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
            From: <sip:\(ext)@[local_ip]:[local_port]>;tag=[pid]p[call_number]
            To: [$caller]
            Call-ID: [call_id]
            CSeq: 100 BYE
            Max-Forwards: 70
            Content-Length: 0

            ]]></send>
              <recv request="BYE" optional="global" next="callerbye"/>
              <recv response="200" next="end"/>
              <label id="callerbye"/>

            """ + response("200 OK", tag: false).replacingOccurrences(of: "<send>", with: "<send next=\"end\">")
                + "  <label id=\"cancelled\"/>\n" + cancelled
        case .noAnswer:
            body = response("180 Ringing") + "  <recv request=\"CANCEL\"/>\n" + cancelled
        case .busy:
            body = response("486 Busy Here") + "  <recv request=\"ACK\"/>\n"
        }
        // A phone that hangs up itself keeps the INVITE's Contact and From for its BYE (sipp refuses variables that
        // are set and never used, so only then).
        var invite = "<recv request=\"INVITE\" crlf=\"true\"/>"
        if case .answerAndHangUp = mode {
            invite = """
            <recv request="INVITE" crlf="true">
                <action>
                  <ereg regexp="sip:[^&gt;;]*" search_in="hdr" header="Contact:" check_it="false" assign_to="contact"/>
                  <ereg regexp=".*" search_in="hdr" header="From:" check_it="false" assign_to="caller"/>
                </action>
              </recv>
            """
        }
        let scenario = """
        <?xml version="1.0" encoding="UTF-8"?>
        <scenario name="phone">
        \(invite)
        \(body)
          <label id="end"/>
        </scenario>
        """
        return try launch(["-p", String(port), "-s", ext, "-mi", "127.0.0.1", "-mp", String(try FreePort.udpRange(count: 4)),
                           "-l", String(limit)] + (limit > 50 ? ["-max_socket", "10000"] : []), scenario: scenario, name: "phone-\(ext)", files: folder("phone-\(ext)"))
    }

    /// The RFC 4733 pcap of `key` with its RTP timestamps and sequence numbers moved to `position`'s own range.
    static func digitPcap(_ key: Character, position: Int) throws -> Data {
        let name = switch key { case "*": "star"; case "#": "pound"; default: String(key) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(pcaps)/dtmf_2833_\(name).pcap")))
        var offset = 24
        var index = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16 | Int(bytes[offset + 11]) << 24
            let packet = offset + 16
            let ip = packet + 14
            let rtp = ip + Int(bytes[ip] & 0x0f) * 4 + 8
            if rtp + 12 <= packet + length {
                let seq = UInt16(40_000 + position * 40 + index)
                let timestamp = UInt32(1_000_000 + position * 16_000)
                bytes[rtp + 2] = UInt8(seq >> 8); bytes[rtp + 3] = UInt8(seq & 0xff)
                for i in 0..<4 { bytes[rtp + 4 + i] = UInt8((timestamp >> (24 - 8 * UInt32(i))) & 0xff) }
            }
            offset = packet + length
            index += 1
        }
        return Data(bytes)
    }
}
