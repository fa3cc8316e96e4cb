@testable import Server
import XCTest

final class EventChannelTests: XCTestCase {
    func token(_ id: Int32) -> GenerationEvent { .token(TokenEvent(id: id, text: "t\(id)", logprob: 0, top: [])) }

    func ids(_ events: [GenerationEvent]) -> [Int32] {
        events.map { if case let .token(t) = $0 { t.id } else { -1 } }
    }

    func testEventsSentBeforeReadingArriveInOrderAndTheLastEndsTheSequence() async {
        let channel = EventChannel()
        for id in 0..<100 { channel.send(token(Int32(id)), last: false) }
        channel.send(.failed(.shuttingDown), last: true)
        channel.send(token(999), last: false)   // after the last one: dropped
        var seen: [GenerationEvent] = []
        for await e in channel { seen.append(e) }
        XCTAssertEqual(ids(seen), Array(0..<100) + [-1])
        guard case .failed(.shuttingDown) = seen.last else { return XCTFail("the last event was \(String(describing: seen.last))") }
        let again = await channel.next()
        XCTAssertNil(again, "a closed channel stays closed")
    }

    func testAWaitingReaderIsWokenByEachSend() async {
        let channel = EventChannel()
        let reader = Task {
            var seen: [GenerationEvent] = []
            for await e in channel { seen.append(e) }
            return seen
        }
        for id in 0..<50 {
            channel.send(token(Int32(id)), last: false)
            if id % 7 == 0 { try? await Task.sleep(for: .milliseconds(2)) }   // let the reader catch up and wait
        }
        channel.send(token(50), last: true)
        let seen = await reader.value
        XCTAssertEqual(ids(seen), Array(0...50))
    }

    func testCancellingTheReaderEndsItsIterationAndLaterSendsAreDropped() async throws {
        let channel = EventChannel()
        let started = expectation(description: "the reader took the first event")
        let reader = Task {
            var count = 0
            for await _ in channel {
                count += 1
                if count == 1 { started.fulfill() }
            }
            return count
        }
        channel.send(token(1), last: false)
        await fulfillment(of: [started], timeout: 10)
        try await Task.sleep(for: .milliseconds(20))   // the reader is now waiting for the next event
        reader.cancel()
        let count = await reader.value
        XCTAssertEqual(count, 1)
        channel.send(token(2), last: false)
        let next = await channel.next()
        XCTAssertNil(next, "a channel whose reader went away delivers nothing more")
    }
}
