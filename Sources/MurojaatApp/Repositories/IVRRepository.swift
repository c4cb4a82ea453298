import CallCenter
import Foundation
import Logging
import PostgresNIO

/// The voice menu and its prompts in PostgreSQL (`ivr_nodes`, `ivr_actions`, `prompts`): seeded from
/// `IVRTree.standard` and `PromptCatalog` once, then edited in the back office and loaded at start.
struct IVRRepository {
    let client: PostgresClient
    let logger: Logger

    /// Prompts are stored per language as `<name>.<lang>`, playing `sound:<lang>/murojaat/<name>`.
    static func promptKey(_ name: String, _ language: Language) -> String { "\(name).\(language.rawValue)" }

    /// Adds missing prompts; writes the standard tree only into an empty table (edits are kept).
    func seed(_ tree: IVRTree = .standard) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for prompt in PromptCatalog.all {
                for language in Language.allCases {
                    let key = Self.promptKey(prompt.name, language)
                    try await connection.query("""
                        INSERT INTO prompts (name, language, text, sound_file) VALUES (\(key), \(language.rawValue), \(prompt.text(language)), \("murojaat/" + prompt.name))
                        ON CONFLICT (name) DO NOTHING
                        """, logger: logger)
                }
            }
            let rows = try await connection.query("SELECT count(*) FROM ivr_nodes", logger: logger)
            var existing = 0
            for try await count in rows.decode(Int.self) { existing = count }
            guard existing == 0 else { return }
            // Parents first: the root, then its children.
            let ordered = tree.nodes.values.sorted { ($0.parent == nil ? 0 : 1, $0.code) < ($1.parent == nil ? 0 : 1, $1.code) }
            for (index, node) in ordered.enumerated() {
                let languages = Array(node.prompts.keys)
                let language = languages.count == 1 ? languages[0].rawValue : "both"
                let promptUz = node.prompts[.uz].map { Self.promptKey($0, .uz) }
                let promptRu = node.prompts[.ru].map { Self.promptKey($0, .ru) }
                let timeout = Int(node.timeoutSeconds ?? 5)
                let failures = node.maxFailures ?? 3
                try await connection.query("""
                    INSERT INTO ivr_nodes (code, parent_id, level, language, title, prompt_uz, prompt_ru, timeout_seconds, max_failures, sort)
                    VALUES (\(node.code), (SELECT id FROM ivr_nodes WHERE code = \(node.parent)), \(node.parent == nil ? 1 : 2), \(language),
                            \(node.code), \(promptUz), \(promptRu), \(timeout), \(failures), \(index))
                    """, logger: logger)
            }
            for node in ordered {
                let nodeLanguage: Language = node.prompts.keys.count == 1 ? node.prompts.keys.first! : .uz
                for (digit, action) in node.actions.sorted(by: { $0.key < $1.key }) {
                    var kind = "", target: String? = nil, skill: String? = nil, topic: String? = nil, info: String? = nil
                    switch action {
                    case .submenu(let code, _): kind = "submenu"; target = code
                    case .info(let prompt): kind = "info"; info = Self.promptKey(prompt, nodeLanguage)
                    case .queue(let s, let t): kind = "queue"; skill = s?.rawValue; topic = t
                    case .repeatMenu: kind = "repeat"
                    case .back: kind = "back"
                    case .operatorQueue: kind = "operator"
                    }
                    try await connection.query("""
                        INSERT INTO ivr_actions (node_id, digit, action, target_node_id, skill, topic_code, info_prompt)
                        VALUES ((SELECT id FROM ivr_nodes WHERE code = \(node.code)), \(digit), \(kind),
                                (SELECT id FROM ivr_nodes WHERE code = \(target)), \(skill), \(topic), \(info))
                        """, logger: logger)
                }
            }
        }
    }

    /// The active tree; nil when the tables hold no usable root (the caller keeps the standard tree).
    func load() async throws -> IVRTree? {
        var nodes: [Int64: (code: String, parent: Int64?, language: String, uz: String?, ru: String?, timeout: Int, failures: Int)] = [:]
        let nodeRows = try await client.query("""
            SELECT n.id, n.code, n.parent_id, n.language, pu.sound_file, pr.sound_file, n.timeout_seconds, n.max_failures
            FROM ivr_nodes n LEFT JOIN prompts pu ON pu.name = n.prompt_uz LEFT JOIN prompts pr ON pr.name = n.prompt_ru
            WHERE n.active
            """, logger: logger)
        for try await (id, code, parent, language, uz, ru, timeout, failures) in nodeRows.decode((Int64, String, Int64?, String, String?, String?, Int, Int).self) {
            nodes[id] = (code, parent, language, uz, ru, timeout, failures)
        }
        var actions: [Int64: [String: IVRTree.Action]] = [:]
        let actionRows = try await client.query("""
            SELECT a.node_id, a.digit, a.action, t.code, t.language, a.skill, a.topic_code, p.sound_file
            FROM ivr_actions a LEFT JOIN ivr_nodes t ON t.id = a.target_node_id LEFT JOIN prompts p ON p.name = a.info_prompt
            """, logger: logger)
        for try await (node, digit, kind, target, targetLanguage, skill, topic, info) in actionRows.decode((Int64, String, String, String?, String?, String?, String?, String?).self) {
            let action: IVRTree.Action? = switch kind {
            case "submenu": target.map { .submenu($0, language: targetLanguage.flatMap(Language.init(rawValue:))) }
            case "info": info.map { .info(prompt: Self.soundName($0)) }
            case "queue": .queue(skill: skill.flatMap(Language.init(rawValue:)), topic: topic)
            case "repeat": .repeatMenu
            case "back": .back
            case "operator": .operatorQueue
            default: nil
            }
            if let action { actions[node, default: [:]][digit] = action }
        }
        guard let root = nodes.first(where: { $0.value.parent == nil }) else { return nil }
        let built = nodes.map { id, node in
            var prompts: [Language: String] = [:]
            if let uz = node.uz { prompts[.uz] = Self.soundName(uz) }
            if let ru = node.ru { prompts[.ru] = Self.soundName(ru) }
            return IVRTree.Node(code: node.code, parent: node.parent.flatMap { nodes[$0]?.code }, prompts: prompts,
                                timeoutSeconds: Double(node.timeout), maxFailures: node.failures, actions: actions[id] ?? [:])
        }
        return IVRTree(root: root.value.code, nodes: built)
    }

    /// `murojaat/main-menu` → `main-menu`.
    static func soundName(_ file: String) -> String {
        file.hasPrefix("murojaat/") ? String(file.dropFirst("murojaat/".count)) : file
    }
}
