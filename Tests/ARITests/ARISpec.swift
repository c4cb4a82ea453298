import Foundation

/// Asterisk's own swagger files (copied from shared/ari-spec, Asterisk 22.10.1), read for conformance tests.
struct ARISpec {
    struct Parameter {
        var name: String
        var paramType: String
        var required: Bool
        var dataType: String
        var allowedValues: [String]?
        var allowMultiple: Bool
    }
    struct Operation {
        var method: String
        var path: String
        var parameters: [Parameter]
    }
    struct Property {
        var type: String
        var required: Bool
    }

    var operations: [Operation] = []
    /// Model name → property name → property; events inherit Event's and Message's properties.
    var models: [String: [String: Property]] = [:]
    var eventModels: Set<String> = []

    static func resources() -> URL {
        Bundle.module.url(forResource: "Resources", withExtension: nil) ?? Bundle.module.bundleURL.appendingPathComponent("Resources")
    }

    static func load() throws -> ARISpec {
        var spec = ARISpec()
        let directory = resources()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") && $0 != "resources.json" }
        var extends: [String: String] = [:]
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            for api in root["apis"] as? [[String: Any]] ?? [] {
                for op in api["operations"] as? [[String: Any]] ?? [] {
                    let parameters = (op["parameters"] as? [[String: Any]] ?? []).map { p in
                        Parameter(name: p["name"] as! String, paramType: p["paramType"] as! String,
                                  required: p["required"] as? Bool ?? false, dataType: p["dataType"] as? String ?? "",
                                  allowedValues: (p["allowableValues"] as? [String: Any])?["values"] as? [String],
                                  allowMultiple: p["allowMultiple"] as? Bool ?? false)
                    }
                    spec.operations.append(Operation(method: op["httpMethod"] as! String, path: api["path"] as! String, parameters: parameters))
                }
            }
            for (name, model) in root["models"] as? [String: [String: Any]] ?? [:] {
                var properties: [String: Property] = [:]
                for (key, value) in model["properties"] as? [String: [String: Any]] ?? [:] {
                    properties[key] = Property(type: value["type"] as! String, required: value["required"] as? Bool ?? false)
                }
                spec.models[name] = properties
                if let parent = model["extends"] as? String { extends[name] = parent }
                for child in model["subTypes"] as? [String] ?? [] { extends[child] = name }
                if file == "events.json" { spec.eventModels.insert(name) }
            }
        }
        for name in spec.models.keys {
            var parent = extends[name]
            while let p = parent {
                spec.models[name]!.merge(spec.models[p] ?? [:]) { mine, _ in mine }
                parent = extends[p]
            }
        }
        return spec
    }

    /// A JSON value with every property of `type` filled in, as Asterisk could send it.
    func sample(_ type: String, eventName: String? = nil, depth: Int = 0) -> Any {
        switch type {
        case "string": return "s"
        case "Date": return "2026-11-25T10:00:00.000+0500"
        case "int", "long": return 7
        case "double": return 1.5
        case "boolean": return true
        case "object": return [String: Any]()
        default: break
        }
        if type.hasPrefix("List[") {
            return [sample(String(type.dropFirst(5).dropLast()), depth: depth + 1)]
        }
        guard let properties = models[type], depth < 6 else { return [String: Any]() }
        var object: [String: Any] = [:]
        for (name, property) in properties {
            object[name] = sample(property.type, depth: depth + 1)
        }
        if let eventName { object["type"] = eventName }
        return object
    }
}
