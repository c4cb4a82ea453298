/// The two-level voice menu: level 1 chooses the language, level 2 the topic. Data, editable
/// in the back office (stored in `ivr_nodes` / `ivr_actions`); `standard` is the seeded tree.
public struct IVRTree: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var code: String
        public var parent: String?
        /// Prompt names to play, per language (the language menu plays both languages).
        public var prompts: [Language: String]
        public var timeoutSeconds: Double?
        public var maxFailures: Int?
        public var actions: [String: Action]

        public init(code: String, parent: String?, prompts: [Language: String], timeoutSeconds: Double? = nil,
                    maxFailures: Int? = nil, actions: [String: Action]) {
            self.code = code
            self.parent = parent
            self.prompts = prompts
            self.timeoutSeconds = timeoutSeconds
            self.maxFailures = maxFailures
            self.actions = actions
        }
    }

    public enum Action: Sendable, Equatable {
        /// Go to another node; a language node sets the call's language.
        case submenu(String, language: Language?)
        /// Play an information prompt, then return to this menu.
        case info(prompt: String)
        /// Wait for an operator with the skill (nil: the call's language), noting the topic.
        case queue(skill: Language?, topic: String?)
        case repeatMenu
        case back
        /// Straight to an operator.
        case operatorQueue
    }

    public var root: String
    public var nodes: [String: Node]

    public init(root: String, nodes: [Node]) {
        self.root = root
        self.nodes = Dictionary(uniqueKeysWithValues: nodes.map { ($0.code, $0) })
    }

    public static let standard: IVRTree = {
        func topics(_ language: Language) -> IVRTree.Node {
            IVRTree.Node(code: "menu-\(language.rawValue)", parent: "root", prompts: [language: "main-menu"], actions: [
                "1": .queue(skill: nil, topic: "registration"),
                "2": .info(prompt: "info-results"),
                "3": .queue(skill: nil, topic: "appeal"),
                "4": .queue(skill: nil, topic: "national_cert"),
                "5": .queue(skill: nil, topic: "admission"),
                "6": .queue(skill: nil, topic: "technical"),
                "7": .queue(skill: nil, topic: "violations"),
                "8": .info(prompt: "info-general"),
                "9": .queue(skill: nil, topic: "results"),
                "0": .operatorQueue,
                "*": .back,
                "#": .repeatMenu,
            ])
        }
        let root = IVRTree.Node(code: "root", parent: nil, prompts: [.uz: "choose-language", .ru: "choose-language"], actions: [
            "1": .submenu("menu-uz", language: .uz),
            "2": .submenu("menu-ru", language: .ru),
            "0": .operatorQueue,
            "#": .repeatMenu,
        ])
        return IVRTree(root: "root", nodes: [root, topics(.uz), topics(.ru)])
    }()
}
