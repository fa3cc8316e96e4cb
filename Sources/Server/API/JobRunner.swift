import Generation
import Logging

/// Reads a job's events on behalf of a route: counts each one as consumed (so the engine can
/// pause a sequence whose client stopped reading), and cancels the job when the client goes away
/// or the handler's task is cancelled.
struct JobRunner {
    let job: GenerationJob
    let isConnected: @Sendable () -> Bool
    /// Set only when the configuration asks for completions in the log.
    var logger: Logger?

    /// Calls `body` for each event until the job ends; `body` throws when writing fails.
    func run(_ body: (GenerationEvent) async throws -> Void) async throws {
        var completion = ""
        defer {
            if let logger { logger.info("completion", metadata: ["job": "\(job.id)", "text": "\(completion)"]) }
        }
        try await withTaskCancellationHandler {
            do {
                for await event in job.events {
                    job.consumed()
                    if logger != nil {
                        switch event {
                        case let .token(t): completion += t.text
                        case let .finished(s): completion += s.tail
                        case .failed: break
                        }
                    }
                    guard isConnected() else {
                        job.cancel()
                        return
                    }
                    try await body(event)
                }
            } catch {
                job.cancel()
                throw error
            }
        } onCancel: {
            job.cancel()
        }
    }
}
