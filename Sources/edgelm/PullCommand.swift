import ArgumentParser
import Foundation
import ModelStore
import Synchronization
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

    /// Everything a pull needs, checked before the network is touched. `withoutDaemon` is what
    /// becomes of a new version when no daemon listens.
    func settings(_ file: UpdateConfiguration, withoutDaemon: Pull.Activation = .store) throws -> PullSettings {
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
                            daemon: daemon.client(defaultSocket: file.daemonSocket),
                            withoutDaemon: daemon.noDaemon ? .store : withoutDaemon, quiet: quiet)
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
    /// The running edgelmd that switches versions; nil: `withoutDaemon` says what happens.
    let daemon: DaemonClient?
    let withoutDaemon: Pull.Activation
    let quiet: Bool

    /// One model: verify, download (with progress on stderr unless quiet, to systemd under it,
    /// and to the daemon), stage, switch.
    func pull(_ name: String) throws -> PullOutcome {
        let display = quiet ? nil : ProgressDisplay(label: name)
        let status = Notifier.isActive ? ServiceStatus(label: name) : nil
        let reporter = daemon.map { DaemonReporter(client: $0, name: name) }
        status?.say("checking the channel for \(name)")
        reporter?.send(UpdateReport(phase: "checking"))
        var progress: (@Sendable (DownloadProgress) -> Void)? = nil
        if display != nil || status != nil || reporter != nil {
            progress = { p in
                display?.update(p)
                status?.update(p)
                reporter?.update(p)
            }
        }
        let options = Downloader.Options(stallTimeout: stallTimeout, bandwidthLimit: limitRate, progress: progress)
        var pull = Pull(store: store, channel: channel, trustedRoot: trustedRoot, deviceID: deviceID,
                        memoryBudget: memoryBudget, downloader: Downloader(options: options))
        pull.activation = daemon.map { .daemon($0) } ?? withoutDaemon
        pull.onStaged = { m in
            display?.finish()
            reporter?.send(UpdateReport(phase: "staged", version: m.version, message: "verified against the signed metadata"))
            // The daemon hears of the staging before it is asked to switch.
            await reporter?.flush()
        }
        // What the switch says goes on stdout after the pull's own line.
        let switched = Mutex<String?>(nil)
        pull.onSwitch = { text in switched.withLock { $0 = text } }
        defer {
            display?.finish()
            if let reporter { _ = try? runBlocking { await reporter.finish() } }
        }
        let configured = pull
        do {
            let outcome = try runBlocking { try await configured.run(name) }
            status?.say("\(outcome)")
            print(outcome)
            if let text = switched.withLock({ $0 }) { print(text) }
            return outcome
        } catch {
            status?.say("\(name): \(error)")
            reporter?.send(UpdateReport(phase: "failed", message: String("\(error)".prefix(1000))))
            throw error
        }
    }
}

/// Sends a pull's progress to edgelmd, which shows it as update events and metrics: the phases
/// as they come, downloads once a second at most. Reports go one at a time in the background, so
/// a slow or absent daemon never holds up the download; while reports are waiting, download
/// figures are skipped rather than queued.
final class DaemonReporter: Sendable {
    private enum Item: Sendable {
        case report(UpdateReport)
        case flush(CheckedContinuation<Void, Never>)
    }

    private let continuation: AsyncStream<Item>.Continuation
    private let task: Task<Void, Never>
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    /// Reports queued and not yet delivered (shared with the sending task).
    private final class Pending: Sendable { let count = Atomic<Int>(0) }
    private let waiting = Pending()

    init(client: DaemonClient, name: String) {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
        self.continuation = continuation
        task = Task { [waiting] in
            for await item in stream {
                switch item {
                case let .report(report):
                    try? await client.report(name, report)
                    waiting.count.subtract(1, ordering: .relaxed)
                case let .flush(done):
                    done.resume()
                }
            }
        }
    }

    func send(_ report: UpdateReport) {
        waiting.count.add(1, ordering: .relaxed)
        continuation.yield(.report(report))
    }

    func update(_ p: DownloadProgress) {
        let now = ContinuousClock.now
        let due = last.withLock { last in
            if let l = last, l.duration(to: now) < .seconds(1), p.bytes < p.total { return false }
            last = now
            return true
        }
        if due, p.bytes == p.total || waiting.count.load(ordering: .relaxed) < 2 {
            send(UpdateReport(phase: "downloading", bytes: p.bytes, total: p.total))
        }
    }

    /// Returns once every report sent so far has been delivered (or refused).
    func flush() async {
        await withCheckedContinuation { done in
            if case .terminated = continuation.yield(.flush(done)) { done.resume() }
        }
    }

    /// Waits until every queued report was sent, then stops.
    func finish() async {
        continuation.finish()
        await task.value
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
            _ = try settings.pull(name)
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
            // The update service writes only the staging area: without a daemon to move a new
            // version in, it waits there for edgelmd's next start.
            let settings = try options.settings(file, withoutDaemon: .later)
            // Every model is tried: one failing channel entry must not hold back the others.
            for name in file.models {
                do {
                    _ = try settings.pull(name)
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
