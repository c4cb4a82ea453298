import ARI
import Foundation

extension AsteriskSimulator {
    func info(_ params: SimulatorParameters) -> SimulatorResponse {
        let only = Set((params.query["only"] ?? "").split(separator: ",").map(String.init))
        let all = only.isEmpty
        let started = ARICoding.timestamp(startedAt)
        return .json(AsteriskInfo(
            build: all || only.contains("build") ? .init(os: "Linux", kernel: "6.1.0", options: "", machine: "x86_64",
                                                          date: "2026-11-01 00:00:00 UTC", user: "root") : nil,
            system: all || only.contains("system") ? .init(version: configuration.version, entityId: configuration.asteriskId) : nil,
            config: all || only.contains("config") ? .init(name: "murojaat-simulator", defaultLanguage: "en", maxChannels: 1000,
                                                            setid: .init(user: "asterisk", group: "asterisk")) : nil,
            status: all || only.contains("status") ? .init(startupTime: started, lastReloadTime: started) : nil))
    }

    func ping() -> SimulatorResponse {
        .json(AsteriskPing(asteriskId: configuration.asteriskId, ping: "pong", timestamp: now()))
    }

    static let modules: [Module] = [
        ("res_ari", "Asterisk RESTful Interface"), ("res_stasis", "Stasis application support"),
        ("res_stasis_playback", "Stasis application playback support"), ("res_stasis_recording", "Stasis application recording support"),
        ("res_stasis_snoop", "Stasis application snoop support"), ("res_ari_channels", "RESTful API module - Channel resources"),
        ("res_ari_bridges", "RESTful API module - Bridge resources"), ("res_ari_recordings", "RESTful API module - Recording resources"),
        ("res_ari_playbacks", "RESTful API module - Playback control resources"), ("res_ari_events", "RESTful API module - WebSocket resource"),
        ("res_ari_applications", "RESTful API module - Stasis application resources"), ("res_ari_endpoints", "RESTful API module - Endpoint resources"),
        ("res_ari_asterisk", "RESTful API module - Asterisk resources"), ("res_ari_sounds", "RESTful API module - Sound resources"),
        ("app_stasis", "Stasis dialplan application"), ("chan_pjsip", "PJSIP Channel Driver"), ("bridge_simple", "Simple two channel bridging module"),
        ("bridge_softmix", "Multi-party software based channel mixing"), ("format_wav", "Microsoft WAV format (8kHz Signed Linear)"),
        ("res_http_websocket", "HTTP WebSocket Support"), ("res_musiconhold", "Music On Hold Resource"),
    ].map { Module(name: $0.0 + ".so", description: $0.1, useCount: 0, status: "Running", supportLevel: "core") }

    /// `GET /asterisk/modules/{name}` as Asterisk 22 answers it (res/ari/resource_asterisk.c): `ast_module_check`
    /// finds a loaded module with or without `.so` (else 404), but the module list is then searched by the exact
    /// name, which is `res_ari.so`, so a name without `.so` gets 409 "Module information could not be retrieved".
    func module(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let requested = params.path["moduleName"] ?? ""
        let bare = requested.hasSuffix(".so") ? String(requested.dropLast(3)) : requested
        guard Self.modules.contains(where: { $0.name == bare + ".so" }) else {
            throw SimulatorFailure(404, "Module could not be found in running modules")
        }
        guard let module = Self.modules.first(where: { $0.name == requested }) else {
            throw SimulatorFailure(409, "Module information could not be retrieved")
        }
        return .json(module)
    }

    func getGlobal(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = try params.required("variable", message: "Variable name is required")
        return .json(Variable(value: globalVariables[name] ?? ""))
    }

    func setGlobal(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = try params.required("variable", message: "Variable name is required")
        globalVariables[name] = params.query["value"] ?? ""
        return .noContent
    }

    // MARK: endpoints

    func endpointList(technology: String? = nil) -> [Endpoint] {
        phones.keys.sorted().filter { !$0.hasSuffix("@trunk") }.map { resource in
            Endpoint(technology: "PJSIP", resource: resource, state: phones[resource]?.mode == .offline ? "offline" : "online",
                     channelIds: channels.values.filter { $0.phoneResource == resource }.map(\.channel.id).sorted())
        } + [Endpoint(technology: "PJSIP", resource: "trunk", state: "online",
                      channelIds: channels.values.filter { $0.origin == .inbound }.map(\.channel.id).sorted())]
    }

    func listEndpoints(_ params: SimulatorParameters) throws -> SimulatorResponse {
        guard let tech = params.path["tech"] else { return .json(endpointList()) }
        guard tech.uppercased() == "PJSIP" else { throw SimulatorFailure(404, "No Endpoints found - invalid tech \(tech)") }
        return .json(endpointList())
    }

    func getEndpoint(_ params: SimulatorParameters) throws -> SimulatorResponse {
        guard params.path["tech"]?.uppercased() == "PJSIP",
              let endpoint = endpointList().first(where: { $0.resource == params.path["resource"] })
        else { throw SimulatorFailure(404, "Endpoint not found") }
        return .json(endpoint)
    }

    // MARK: applications

    func applicationModel(_ name: String) -> Application {
        let subscriptions = applications[name].map { Array($0.subscriptions.keys) } ?? []
        func ids(_ prefix: String) -> [String] {
            subscriptions.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
        }
        let owned = channels.values.filter { $0.app == name && $0.inStasis }.map(\.channel.id)
        return Application(name: name, channelIds: Array(Set(owned + ids("channel:"))).sorted(), bridgeIds: ids("bridge:"),
                           endpointIds: ids("endpoint:"), deviceNames: ids("deviceState:"),
                           eventsAllowed: applications[name]?.eventsAllowed ?? [],
                           eventsDisallowed: applications[name]?.eventsDisallowed ?? [])
    }

    /// `PUT /applications/{name}/eventFilter`, as `stasis_app_event_filter_set` in Asterisk's res/stasis/app.c:
    /// the whole body is the filter. No body or `{}` clears both lists; an object sets the lists it names
    /// (`allowed`, `disallowed`) and keeps the other; an array sets both; each entry needs a `type`.
    func eventFilter(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = params.path["applicationName"] ?? ""
        guard applications[name] != nil else { throw SimulatorFailure(404, "Application not found") }
        let invalid = SimulatorFailure(400, "Invalid format definition")
        let filter = try params.body.map { body -> JSONValue in
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else { throw invalid }
            return value
        }
        func list(_ key: String) throws -> [JSONValue]?? {
            var value = filter
            if case .object(let object)? = filter {
                if object.isEmpty {
                    value = nil
                } else {
                    guard let member = object[key] else { return .none } // not named: not updated
                    value = member
                }
            }
            guard let value else { return .some(nil) }
            guard case .array(let entries) = value else { throw invalid }
            for entry in entries {
                guard case .object(let object) = entry, case .string(let type)? = object["type"], !type.isEmpty else { throw invalid }
            }
            return .some(entries)
        }
        // Asterisk sets the disallowed list first and stops at the first invalid one.
        if case .some(let disallowed) = try list("disallowed") { applications[name]?.eventsDisallowed = disallowed }
        if case .some(let allowed) = try list("allowed") { applications[name]?.eventsAllowed = allowed }
        return .json(applicationModel(name))
    }

    func listApplications() -> SimulatorResponse {
        .json(applications.keys.sorted().map(applicationModel))
    }

    func getApplication(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = params.path["applicationName"] ?? ""
        guard applications[name] != nil else { throw SimulatorFailure(404, "Application not found") }
        return .json(applicationModel(name))
    }

    func subscription(_ params: SimulatorParameters, subscribe: Bool) throws -> SimulatorResponse {
        let name = params.path["applicationName"] ?? ""
        let sources = try params.required("eventSource", message: "Missing parameter eventSource").split(separator: ",").map(String.init)
        guard applications[name] != nil else { throw SimulatorFailure(404, "Application not found") }
        // Every source is checked before any is changed: one that does not exist leaves the others alone
        // (Asterisk 22.10.1: `bridge:b5,bridge:b4` with b5 missing subscribed neither).
        for source in sources {
            let parts = source.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SimulatorFailure(400, "Invalid event source URI scheme") }
            let exists: Bool
            switch parts[0] {
            case "channel": exists = channels[parts[1]] != nil
            case "bridge": exists = bridges[parts[1]] != nil
            case "endpoint": exists = endpointList().contains { "\($0.technology)/\($0.resource)" == parts[1] } || parts[1] == "PJSIP"
            case "deviceState": exists = true
            default: throw SimulatorFailure(400, "Invalid event source URI scheme")
            }
            if subscribe {
                guard exists else { throw SimulatorFailure(422, "Event source does not exist") }
            } else {
                // res/ari/resource_applications.c answers 422 here (the swagger file says 409).
                guard exists, applications[name]?.isSubscribed(source) == true else {
                    throw SimulatorFailure(422, "Event source was not subscribed to")
                }
            }
        }
        for source in sources {
            if subscribe { applications[name]?.subscribe(source) } else { _ = applications[name]?.unsubscribe(source) }
        }
        return .json(applicationModel(name))
    }

    // MARK: sounds

    func listSounds(_ params: SimulatorParameters) -> SimulatorResponse {
        var sounds = knownSounds()
        if let lang = params.query["lang"] {
            sounds = sounds.filter { $0.formats.contains { $0.language == lang } }
        }
        return .json(sounds)
    }

    func getSound(_ params: SimulatorParameters) throws -> SimulatorResponse {
        guard let sound = knownSounds().first(where: { $0.id == params.path["soundId"] }) else {
            throw SimulatorFailure(404, "Sound not found")
        }
        return .json(sound)
    }
}
