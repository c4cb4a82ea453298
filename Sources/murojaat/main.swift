import ArgumentParser
import MurojaatApp

do {
    var command = try MurojaatCommand.parseAsRoot()
    if let asyncCommand = command as? any AsyncCommand {
        try await asyncCommand.runAsync()
    } else {
        try command.run()
    }
} catch {
    MurojaatCommand.exit(withError: error)
}
