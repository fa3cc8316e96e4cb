import Dispatch
import Foundation
import Generation
import Logging
import ModelStore
import Transformer

/// The engine thread's state and loop. Each turn: answer commands, admit waiting requests into
/// free slots, evaluate one chunk of one prompt, then one decode step for every running sequence
/// of each model in a single batch.
final class EngineLoop {
    let engine: Engine
    var hosts: [String: ModelHost] = [:]
    /// Models replaced by a swap while sequences were still running on them: stepped until those
    /// finish, then released (and their files unmapped).
    var retiring: [ModelHost] = []
    var wedged = false

    init(engine: Engine) { self.engine = engine }

    var options: EngineOptions { engine.options }
    /// Every model with sequences to step: the current ones and those being retired.
    var serving: [ModelHost] { Array(hosts.values) + retiring }
    var logger: Logger { engine.logger }

    func run() {
        while true {
            let (commands, stopped) = engine.mailbox.withLock { box in
                defer { box.commands.removeAll() }
                return (box.commands, box.stopped)
            }
            for command in commands { handle(command) }
            if wedged {
                while true { sleep(3600) }
            }
            if stopped {
                shutDown()
                return
            }
            admit()
            reap()
            let prefilled = prefillStep()
            let decoded = decodeStep()
            releaseRetired()
            publishRunning()
            if !prefilled && !decoded {
                unloadExpired()
                _ = engine.wake.wait(timeout: .now() + .seconds(1))
            }
        }
    }

    // MARK: Commands

    func handle(_ command: Engine.Command) {
        switch command {
        case let .load(name, keepAlive, c):
            do {
                let host = try load(name)
                if let keepAlive { host.keepAlive = keepAlive }
                host.lastUsed = .now
                c.resume(returning: host.handle)
            } catch {
                c.resume(throwing: error)
            }
        case let .unload(name, c):
            guard let host = hosts[name] else { return c.resume(returning: false) }
            if host.isIdle {
                hosts[name] = nil
                logger.info("model unloaded", metadata: ["model": "\(name)"])
            } else {
                // Busy: unload as soon as its sequences finish.
                host.keepAlive = .zero
            }
            updateResidentMetrics()
            c.resume(returning: true)
        case let .resident(c):
            c.resume(returning: hosts.values.sorted { $0.source.name < $1.source.name }.map { host in
                ResidentModel(name: host.source.name, description: host.handle.description, residentBytes: host.residentBytes,
                              activeSequences: host.activeCount, slots: host.slots.count, loadSeconds: host.loadSeconds,
                              expiresIn: host.keepAlive.map { $0 - (ContinuousClock.now - host.lastUsed) })
            })
        case let .swap(source, health, c):
            do {
                c.resume(returning: try swap(to: source, health: health))
            } catch {
                c.resume(throwing: error)
            }
        case let .liveness(passed):
            passed()
        case .wedge:
            logger.warning("engine wedged by the test hook")
            wedged = true
        }
    }

    func load(_ name: String) throws -> ModelHost {
        if let host = hosts[name] { return host }
        let source = try engine.registry.withLock { registry throws(EngineError) in try registry.resolve(name) }
        logger.info("loading model", metadata: ["model": "\(name)", "path": "\(source.path)"])
        let host = try ModelHost(source: source, options: options, budget: MemoryBudget(reserveBytes: options.memoryReserveBytes))
        hosts[name] = host
        engine.metrics.modelLoadSeconds.record(host.loadSeconds)
        updateResidentMetrics()
        logger.info("model ready", metadata: ["model": "\(name)", "seconds": "\(String(format: "%.2f", host.loadSeconds))",
                                               "resident_mib": "\(host.residentBytes >> 20)"])
        return host
    }

    func swap(to source: ModelSource, health: ChannelModel.HealthCheck?) throws -> SwapReport {
        logger.info("checking a new model file", metadata: ["model": "\(source.name)", "path": "\(source.path)"])
        let host = try ModelHost(source: source, options: options, budget: MemoryBudget(reserveBytes: options.memoryReserveBytes))
        var answer: String?
        if let health { answer = try host.healthCheck(health) }
        var finishing = 0
        if let old = hosts[source.name], !old.isIdle {
            finishing = old.activeCount
            host.keepAlive = old.keepAlive
            retiring.append(old)
        }
        hosts[source.name] = host
        engine.registry.withLock { $0.replace(source) }
        engine.metrics.modelLoadSeconds.record(host.loadSeconds)
        updateResidentMetrics()
        logger.info("model file swapped in", metadata: ["model": "\(source.name)", "path": "\(source.path)",
                                                        "finishing_on_previous": "\(finishing)"])
        return SwapReport(loadSeconds: host.loadSeconds, answer: answer, finishingOnPrevious: finishing)
    }

    func releaseRetired() {
        guard !retiring.isEmpty else { return }
        let done = retiring.filter(\.isIdle)
        guard !done.isEmpty else { return }
        retiring.removeAll { $0.isIdle }
        for host in done { logger.info("previous model file released", metadata: ["model": "\(host.source.name)", "path": "\(host.source.path)"]) }
        updateResidentMetrics()
    }

    func updateResidentMetrics() {
        engine.metrics.loadedModels.record(hosts.count)
        engine.metrics.residentBytes.record(serving.reduce(0) { $0 + $1.residentBytes })
    }

    func unloadExpired() {
        for (name, host) in hosts where host.isIdle {
            if let keep = host.keepAlive, ContinuousClock.now - host.lastUsed >= keep {
                hosts[name] = nil
                logger.info("idle model unloaded", metadata: ["model": "\(name)"])
                updateResidentMetrics()
            }
        }
    }

    // MARK: Admission

    /// Moves waiting requests into free slots, interactive before batch, each priority in order.
    func admit() {
        var admitted: [(GenerationJob, ModelHost)] = []
        var failed: [(GenerationJob, EngineError)] = []
        engine.mailbox.withLock { box in
            let order = box.waiting.indices.sorted { (box.waiting[$0].request.priority, $0) < (box.waiting[$1].request.priority, $1) }
            var taken = Set<Int>()
            var free: [String: Int] = [:]
            for i in order {
                let job = box.waiting[i]
                if job.isCancelled { taken.insert(i); failed.append((job, .internalError("cancelled"))); continue }
                let host: ModelHost
                do { host = try load(job.request.model) } catch {
                    taken.insert(i)
                    failed.append((job, error as? EngineError ?? .internalError("\(error)")))
                    continue
                }
                let available = free[job.request.model] ?? host.freeSlots
                guard available > 0 else { continue }
                free[job.request.model] = available - 1
                taken.insert(i)
                admitted.append((job, host))
            }
            box.waiting = box.waiting.enumerated().filter { !taken.contains($0.offset) }.map(\.element)
            engine.metrics.queueDepth.record(box.waiting.count)
        }
        for (job, error) in failed {
            if case .internalError("cancelled") = error {
                job.send(.finished(summary(of: nil, job: job, reason: .cancelled)))
            } else {
                job.send(.failed(error))
            }
        }
        for (job, host) in admitted { start(job, on: host) }
        if !admitted.isEmpty { publishRunning() }
    }

    func start(_ job: GenerationJob, on host: ModelHost) {
        let prompt = job.request.prompt
        guard !prompt.isEmpty else { return job.send(.failed(.internalError("the prompt is empty"))) }
        guard prompt.count < host.handle.context else {
            return job.send(.failed(.promptTooLong(tokens: prompt.count, context: host.handle.context)))
        }
        guard let (index, shared) = host.bestSlot(for: prompt) else { return }
        // Keep at least one prompt token to evaluate: its logits choose the first new token.
        let keep = min(shared, prompt.count - 1)
        host.slots[index].cache.truncate(to: keep)
        host.slots[index].tokens.removeSubrange(keep...)
        host.slots[index].sequence = ActiveSequence(job: job, tokenizer: host.handle.tokenizer, cachedTokens: keep)
        host.lastUsed = .now
        engine.metrics.promptTokens.increment(by: prompt.count)
        engine.metrics.cachedTokens.increment(by: keep)
    }

    /// Ends sequences whose client went away or whose time ran out.
    func reap() {
        for host in serving {
            for i in host.slots.indices {
                guard let seq = host.slots[i].sequence else { continue }
                if seq.job.isCancelled {
                    finish(host, i, reason: .cancelled)
                } else if seq.job.isExpired {
                    host.slots[i].sequence = nil
                    seq.job.send(.failed(.timedOut(seconds: seq.job.request.timeout?.seconds ?? 0)))
                }
            }
        }
    }

    func publishRunning() {
        let running = serving.reduce(0) { $0 + $1.activeCount }
        let free = Dictionary(uniqueKeysWithValues: hosts.map { ($0.key, $0.value.freeSlots) })
        engine.mailbox.withLock {
            $0.running = running
            $0.freeSlots = free
        }
    }

    // MARK: Evaluation

    /// Evaluates the next chunk of the oldest prompt still being read. Returns false if none.
    func prefillStep() -> Bool {
        var oldest: (ModelHost, Int, ContinuousClock.Instant)?
        for host in serving {
            for (i, slot) in host.slots.enumerated() {
                if let seq = slot.sequence, seq.isPrefilling, oldest == nil || seq.admitted < oldest!.2 {
                    oldest = (host, i, seq.admitted)
                }
            }
        }
        guard let (host, i, _) = oldest, var seq = host.slots[i].sequence else { return false }
        let chunk = Array(seq.remainingPrompt.prefix(options.prefillChunk))
        seq.remainingPrompt = seq.remainingPrompt.dropFirst(chunk.count)
        let last = seq.remainingPrompt.isEmpty
        var next: GeneratedToken?
        do {
            try host.model.forward(chunk, cache: host.slots[i].cache, outputs: last ? .last : .range(0..<0)) { _, logits in
                next = pick(logits, &seq)
            }
        } catch {
            host.slots[i].sequence = nil
            host.slots[i].tokens = []
            host.slots[i].cache.clear()
            seq.job.send(.failed(.internalError("\(error)")))
            return true
        }
        host.slots[i].tokens += chunk
        host.slots[i].sequence = seq
        if let next { accept(next, host, i) }
        return true
    }

    /// One decode step for every sequence with a token to feed, per model in one batch.
    func decodeStep() -> Bool {
        var any = false
        for host in serving {
            let ready = host.slots.indices.filter { i in
                guard let seq = host.slots[i].sequence, seq.pending != nil else { return false }
                return seq.job.unreadCount < options.maxUnreadEvents
            }
            guard !ready.isEmpty else { continue }
            any = true
            engine.metrics.batchSize.record(ready.count)
            let steps = ready.map { (token: host.slots[$0].sequence!.pending!.id, cache: host.slots[$0].cache) }
            var sampled: [GeneratedToken?] = Array(repeating: nil, count: ready.count)
            do {
                try host.model.decode(steps) { k, logits in
                    sampled[k] = pick(logits, &host.slots[ready[k]].sequence!)
                }
            } catch {
                for i in ready { fail(host, i, .internalError("\(error)")) }
                continue
            }
            for (k, i) in ready.enumerated() {
                host.slots[i].tokens.append(steps[k].token)
                host.slots[i].sequence!.sampler.accept(steps[k].token)
                host.slots[i].sequence!.pending = nil
                if let token = sampled[k] { accept(token, host, i) }
            }
            host.lastUsed = .now
        }
        return any
    }

    func pick(_ logits: UnsafeBufferPointer<Float>, _ seq: inout ActiveSequence) -> GeneratedToken {
        let id = seq.sampler.sample(logits)
        let wantsTop = seq.job.request.topLogprobs
        guard seq.job.request.logprobs || wantsTop > 0 else { return GeneratedToken(id: id, logprob: 0, top: []) }
        let logZ = TokenProbabilities.logSumExp(logits)
        let top = wantsTop > 0 ? TokenProbabilities.top(logits, n: wantsTop, logSumExp: logZ) : []
        return GeneratedToken(id: id, logprob: Double(logits[Int(id)]) - logZ, top: top)
    }

    /// A token was chosen for slot `i`: emit it, or end the sequence.
    func accept(_ token: GeneratedToken, _ host: ModelHost, _ i: Int) {
        guard var seq = host.slots[i].sequence else { return }
        let now = ContinuousClock.now
        if host.handle.tokenizer.isEndOfGeneration(token.id) {
            host.slots[i].sequence = seq
            return finish(host, i, reason: .stop)
        }
        if let last = seq.lastToken {
            engine.metrics.interTokenLatency.recordNanoseconds(Int64((now - last).seconds * 1e9))
        } else {
            seq.firstToken = now
            engine.metrics.timeToFirstToken.recordNanoseconds(Int64((now - seq.job.submitted).seconds * 1e9))
        }
        seq.lastToken = now
        seq.produced += 1
        engine.metrics.generatedTokens.increment()
        let (text, stopped) = seq.stops.push(seq.decoder.append(token.id))
        seq.job.send(.token(TokenEvent(id: token.id, text: text, logprob: token.logprob, top: token.top)))
        host.slots[i].sequence = seq
        if stopped { return finish(host, i, reason: .stop, stoppedByString: true) }
        if seq.produced >= seq.job.request.maxTokens || host.slots[i].cache.count >= host.slots[i].cache.capacity {
            return finish(host, i, reason: .length)
        }
        host.slots[i].sequence!.pending = token
    }

    func finish(_ host: ModelHost, _ i: Int, reason: FinishReason, stoppedByString: Bool = false) {
        guard var seq = host.slots[i].sequence else { return }
        host.slots[i].sequence = nil
        var tail = ""
        if !stoppedByString && reason != .cancelled {
            tail = seq.stops.push(seq.decoder.flush()).text + seq.stops.flush()
        }
        var s = summary(of: seq, job: seq.job, reason: reason)
        s.tail = tail
        seq.job.send(.finished(s))
    }

    func fail(_ host: ModelHost, _ i: Int, _ error: EngineError) {
        guard let seq = host.slots[i].sequence else { return }
        host.slots[i].sequence = nil
        host.slots[i].tokens = []
        host.slots[i].cache.clear()
        seq.job.send(.failed(error))
    }

    func summary(of seq: ActiveSequence?, job: GenerationJob, reason: FinishReason) -> GenerationSummary {
        let now = ContinuousClock.now
        let admitted = seq?.admitted ?? now
        let first = seq?.firstToken ?? now
        return GenerationSummary(
            finishReason: reason, promptTokens: job.request.prompt.count, cachedTokens: seq?.cachedTokens ?? 0,
            completionTokens: seq?.produced ?? 0, queueSeconds: (admitted - job.submitted).seconds,
            promptSeconds: (first - admitted).seconds, generationSeconds: seq?.firstToken.map { (now - $0).seconds } ?? 0,
            tail: "")
    }

    // MARK: Shutdown

    func shutDown() {
        for host in serving {
            for i in host.slots.indices where host.slots[i].sequence != nil { fail(host, i, .shuttingDown) }
        }
        let waiting = engine.mailbox.withLock { box in
            defer { box.waiting.removeAll() }
            return box.waiting
        }
        for job in waiting { job.send(.failed(.shuttingDown)) }
        publishRunning()
        hosts.removeAll()
        retiring.removeAll()
        engine.mailbox.withLock { $0.finished = true }
    }
}
