import ArgumentParser
import Foundation
import ModelStore

/// `edgelm pull`: the newest version of a model that a signed channel offers this device.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download the newest version of a model from a signed channel into the store and activate it.")

    @Argument(help: "The model's name.") var name: String
    @OptionGroup var location: StoreLocation
    @Option(help: ArgumentHelp("The channel's base URL (http or https).", valueName: "url")) var channel: String
    @Option(help: ArgumentHelp("The root metadata this device trusts (root.json).", valueName: "file")) var trust: String
    @Option(name: .customLong("device-id"), help: "This device's id for staged rollouts (default: /etc/machine-id, else the host name).")
    var deviceID: String?
    @Option(name: .customLong("memory-budget-mb"), help: "Memory a model may use, in MiB (default: MemAvailable).")
    var memoryBudgetMB: UInt64?
    @Option(name: .customLong("stall-timeout"), help: "Seconds without data before a download fails.") var stallTimeout: Double = 30
    @Option(name: .customLong("limit-rate"), help: "Download bandwidth limit in bytes per second.") var limitRate: UInt64?
    @Flag(help: "Print no progress.") var quiet = false

    func validate() throws {
        guard stallTimeout > 0 else { throw ValidationError("--stall-timeout must be positive") }
        if let m = memoryBudgetMB, m == 0 { throw ValidationError("--memory-budget-mb must be positive") }
    }

    func run() throws {
        try reportingErrors { try pull() }
    }

    private func pull() throws {
        let store = try location.open(create: true)
        guard let root = try? Data(contentsOf: URL(fileURLWithPath: trust)) else {
            throw PullError.badTrustState(path: trust, reason: "the trusted root cannot be read")
        }
        var budget: UInt64 = Pull.availableMemory() ?? UInt64.max
        if let mb = memoryBudgetMB { budget = mb * 1_048_576 }
        var progress: (@Sendable (DownloadProgress) -> Void)? = nil
        if !quiet {
            progress = { (p: DownloadProgress) in
                let pct: Double = p.total > 0 ? Double(p.bytes) * 100 / Double(p.total) : 0
                standardError(String(format: "\r%.1f / %.1f MB (%.0f%%)", Double(p.bytes) / 1e6, Double(p.total) / 1e6, pct))
            }
        }
        let options = Downloader.Options(stallTimeout: stallTimeout, bandwidthLimit: limitRate, progress: progress)
        let pull = Pull(store: store, channel: channel, trustedRoot: root, deviceID: deviceID ?? Pull.defaultDeviceID(),
                        memoryBudget: budget, downloader: Downloader(options: options))
        let name = self.name
        let outcome: PullOutcome = try runBlocking { try await pull.run(name) }
        if !quiet, case .installed = outcome { standardError("\n") }
        print(outcome)
    }
}
