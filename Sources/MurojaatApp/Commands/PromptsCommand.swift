import ArgumentParser
import CallCenter
import Foundation

extension MurojaatCommand {
    struct Prompts: AsyncCommand {
        static let configuration = CommandConfiguration(
            commandName: "prompts", abstract: "IVR prompts.", subcommands: [Synthesize.self, List.self])
        func runAsync() async throws { print(Self.helpMessage()) }
    }
}

extension MurojaatCommand.Prompts {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every prompt with its texts.")
        func run() {
            for prompt in PromptCatalog.all { print("\(prompt.name)\n  uz: \(prompt.uz)\n  ru: \(prompt.ru)") }
        }
    }

    /// espeak-ng speaks each prompt (voices uz and ru) and sox makes it 8 kHz 16-bit mono WAV,
    /// written as `<sounds>/<lang>/murojaat/<name>.wav`. A file with a `.uploaded` mark beside it is a
    /// recording made by people and is left alone. Beside every WAV (spoken or uploaded) go its A-law and µ-law
    /// copies (`.alaw`, `.ulaw`): Asterisk plays the file in the call's own codec and transcodes nothing.
    struct Synthesize: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Turn every prompt text into WAV files with espeak-ng and sox.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Output directory (default: MUROJAAT_SOUNDS_DIR).") var output: String?
        @Flag(help: "Regenerate files that exist.") var force = false

        func runAsync() async throws {
            let config = try options.load()
            let root = output.map { URL(fileURLWithPath: $0) } ?? config.soundsDirectory
            for tool in ["espeak-ng", "sox"] where PromptSynthesizer.which(tool) == nil {
                throw ValidationError("\(tool) is not installed (apt-get install espeak-ng sox)")
            }
            var made = 0, kept = 0
            for prompt in PromptCatalog.all {
                for language in Language.allCases {
                    let file = root.appendingPathComponent("\(language.rawValue)/murojaat/\(prompt.name).wav")
                    if FileManager.default.fileExists(atPath: file.path + ".uploaded") || (!force && FileManager.default.fileExists(atPath: file.path)) {
                        kept += 1
                    } else {
                        try PromptSynthesizer.synthesize(prompt.text(language), voice: language.rawValue, to: file)
                        made += 1
                    }
                    try PromptSynthesizer.telephoneCopies(of: file)
                }
            }
            print("prompts: \(made) synthesized, \(kept) kept, in \(root.path)")
        }
    }
}

enum PromptSynthesizer {
    struct Failed: Error, CustomStringConvertible { var description: String }

    static func which(_ tool: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func synthesize(_ text: String, voice: String, to file: URL) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let raw = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID()).wav")
        defer { try? FileManager.default.removeItem(at: raw) }
        try run(which("espeak-ng")!, ["-v", voice, "-s", "150", "-w", raw.path, text])
        try run(which("sox")!, [raw.path, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", file.path])
    }

    /// `<name>.alaw` and `<name>.ulaw` from `<name>.wav`, unless they are already newer than it.
    static func telephoneCopies(of wav: URL) throws {
        let modified = { (url: URL) in (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? nil }
        guard let source = modified(wav) else { return }
        for (type, suffix) in [("al", "alaw"), ("ul", "ulaw")] {
            let copy = wav.deletingPathExtension().appendingPathExtension(suffix)
            if let made = modified(copy), made >= source { continue }
            try run(which("sox")!, [wav.path, "-r", "8000", "-c", "1", "-t", type, copy.path])
        }
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failed(description: "\(tool) failed: \(message.prefix(300))")
        }
    }
}
