import ArgumentParser
import Foundation
import ModelStore

/// Who switches a model's version: a running edgelmd (it maps the new file, runs the health check
/// and commits or rolls back, while it keeps serving), or, with no daemon, the store directly.
struct DaemonOptions: ParsableArguments {
    static let defaultSocket = "/run/edgelm/edgelm.sock"

    @Option(name: .customLong("daemon"), help: ArgumentHelp(
        "edgelmd's socket; it switches versions (default: \(DaemonOptions.defaultSocket) when edgelmd listens there).",
        valueName: "socket"))
    var socket: String?
    @Flag(name: .customLong("no-daemon"), help: "Switch versions in the store itself, even if edgelmd is running.")
    var noDaemon = false

    func validate() throws {
        if noDaemon && socket != nil { throw ValidationError("--daemon and --no-daemon exclude each other") }
    }

    /// The daemon to ask: the one named (which must answer), else the default one if it listens.
    func client(defaultSocket: String = DaemonOptions.defaultSocket) -> DaemonClient? {
        if noDaemon { return nil }
        if let socket { return DaemonClient(socket: socket) }
        let daemon = DaemonClient(socket: defaultSocket)
        return daemon.isListening ? daemon : nil
    }
}

/// Makes `name:version` active, through the daemon when there is one. Returns what to print.
func switchVersion(_ store: Store, _ name: String, _ version: Int, daemon: DaemonClient?) throws -> String {
    guard let daemon else {
        try store.activate(name, version)
        return "\(name):\(version) (active)"
    }
    let answer = try runBlocking { try await daemon.activate(name, version: version) }
    return answer.description
}
