import ArgumentParser
import Foundation
import ModelStore
import Systemd

/// The settings `pull` and `update` share. Each comes from its flag, else the configuration file,
/// else its default; only the store also listens to `$EDGELM_STORE` (between flag and file).
struct PullOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The configuration file (default: \(UpdateConfiguration.defaultPath), if it exists).",
                               valueName: "file"))
    var config: String?
    @OptionGroup var location: StoreLocation
    @Option(help: ArgumentHelp("The channel's base URL (http or https).", valueName: "url")) var channel: String?
    @Option(help: ArgumentHelp("The root metadata this device trusts (root.json).", valueName: "file")) var trust: String?
    @Option(name: .customLong("device-id"), help: "This device's id for staged rollouts (default: /etc/machine-id, else the host name).")
    var deviceID: String?
    @Option(name: .customLong("memory-budget-mb"), help: "Memory a model may use, in MiB (default: MemAvailable).")
    var memoryBudgetMB: UInt64?
    @Option(name: .customLong("stall-timeout"), help: "Seconds without data before a download fails (default: 30).")
    var stallTimeout: Double?
    @Option(name: .customLong("limit-rate"), help: "Download bandwidth limit in bytes per second.") var limitRate: UInt64?
    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Print no progress.") var quiet = false

    func validate() throws {
        if let s = stallTimeout, !(s > 0 && s.isFinite) { throw ValidationError("--stall-timeout must be positive") }
        if let m = memoryBudgetMB, m == 0 { throw ValidationError("--memory-budget-mb must be positive") }
        if let r = limitRate, r == 0 { throw ValidationError("--limit-rate must be positive") }
        if let c = channel, !UpdateConfiguration.isChannelURL(c) { throw ValidationError("--channel must be an http:// or https:// URL") }
    }

    var configSource: String { config ?? UpdateConfiguration.defaultPath }

    func loadConfiguration() throws -> UpdateConfiguration { try UpdateConfiguration.load(explicitPath: config) }

    /// Everything a pull needs, checked before the network is touched.
    func settings(_ file: UpdateConfiguration) throws -> PullSettings {
        var where_ = location
        let fromEnvironment = ProcessInfo.processInfo.environment["EDGELM_STORE"].map { !$0.isEmpty } ?? false
        if where_.store == nil, !fromEnvironment, let s = file.store { where_.store = s }
        guard let channel = channel ?? file.channel else {
            throw UpdateConfigurationError.missing(key: "channel", flag: "--channel", source: configSource)
        }
        guard let trust = trust ?? file.trust else {
            throw UpdateConfigurationError.missing(key: "trust", flag: "--trust", source: configSource)
        }
        guard let root = try? Data(contentsOf: URL(fileURLWithPath: trust)) else {
            throw PullError.badTrustState(path: trust, reason: "the trusted root cannot be read")
        }
        let budget = (memoryBudgetMB ?? file.memoryBudgetMB).map { $0 * 1_048_576 } ?? Pull.availableMemory() ?? UInt64.max
        return PullSettings(store: try where_.open(create: true), channel: channel, trustedRoot: root,
                            deviceID: deviceID ?? file.deviceID ?? Pull.defaultDeviceID(), memoryBudget: budget,
                            stallTimeout: stallTimeout ?? file.stallTimeout ?? 30, limitRate: limitRate ?? file.limitRate,
                            daemon: daemon.client(defaultSocket: file.daemonSocket), quiet: quiet)
    }
}

struct PullSettings {
    let store: Store
    let channel: String
    let trustedRoot: Data
    let deviceID: String
    let memoryBudget: UInt64
    let stallTimeout: Double
    let limitRate: UInt64?
    /// The running edgelmd that switches versions; nil: the store is switched directly.
    let daemon: DaemonClient?
    let quiet: Bool

    /// One model: verify, download (with progress on stderr unless quiet), import, activate.
    func pull(_ name: String) throws -> PullOutcome {
        let display = quiet ? nil : ProgressDisplay(label: name)
        let status = Notifier.isActive ? ServiceStatus(label: name) : nil
        status?.say("checking the channel for \(name)")
        var progress: (@Sendable (DownloadProgress) -> Void)? = nil
        if display != nil || status != nil {
            progress = { p in
                display?.update(p)
                status?.update(p)
            }
        }
        let options = Downloader.Options(stallTimeout: stallTimeout, bandwidthLimit: limitRate, progress: progress)
        var pull = Pull(store: store, channel: channel, trustedRoot: trustedRoot, deviceID: deviceID,
                        memoryBudget: memoryBudget, downloader: Downloader(options: options))
        if let daemon {
            pull.activation = .daemon(daemon)
            pull.onSwitch = { print($0) }
        }
        defer { display?.finish() }
        let configured = pull
        do {
            let outcome = try runBlocking { try await configured.run(name) }
            status?.say("\(outcome)")
            return outcome
        } catch {
            status?.say("\(name): \(error)")
            throw error
        }
    }
}

/// Under systemd (edgelm-update.service) progress also goes to the service manager as `STATUS=`,
/// so `systemctl status edgelm-update` shows what a long download is doing; once a second at most.
final class ServiceStatus: @unchecked Sendable {
    let label: String
    private let lock = NSLock()
    private var last: ContinuousClock.Instant?

    init(label: String) { self.label = label }

    func say(_ text: String) { _ = Notifier.notify(.status(text)) }

    func update(_ p: DownloadProgress) {
        let now = ContinuousClock.now
        let due = lock.withLock {
            if let last, last.duration(to: now) < .seconds(1), p.bytes < p.total { return false }
            last = now
            return true
        }
        guard due else { return }
        let percent = p.total > 0 ? Double(p.bytes) * 100 / Double(p.total) : 0
        say(String(format: "downloading %@: %.1f / %.1f MB (%.0f%%)", label, Double(p.bytes) / 1e6, Double(p.total) / 1e6, percent))
    }
}

/// `edgelm pull`: the newest version of a model that a signed channel offers this device.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download the newest version of a model from a signed channel into the store and activate it.")

    @Argument(help: "The model's name.") var name: String
    @OptionGroup var options: PullOptions

    func run() throws {
        try reportingErrors {
            let settings = try options.settings(try options.loadConfiguration())
            print(try settings.pull(name))
        }
    }
}

/// `edgelm update`: `pull` for every model the configuration lists (what the update timer runs).
struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Pull every model listed under `models` in the configuration file; fails if any pull failed.")

    @OptionGroup var options: PullOptions

    func run() throws {
        var failed: [String] = []
        try reportingErrors {
            let file = try options.loadConfiguration()
            guard !file.models.isEmpty else {
                standardError("nothing to update: \(options.configSource) lists no models\n")
                return
            }
            let settings = try options.settings(file)
            // Every model is tried: one failing channel entry must not hold back the others.
            for name in file.models {
                do {
                    print(try settings.pull(name))
                } catch {
                    standardError("error: \(name): \(error)\n")
                    failed.append(name)
                }
            }
            if !failed.isEmpty {
                standardError("error: \(failed.count) of \(file.models.count) updates failed: \(failed.joined(separator: ", "))\n")
            }
        }
        if !failed.isEmpty { throw ExitCode.failure }
    }
}
