import Logging
import Server
import XCTest

final class UpdateEventsTests: XCTestCase {
    let events = UpdateEvents(logger: Logger(label: "test"))

    func testLatestIsKeptPerModelAndStampedWithTheTime() {
        events.publish(UpdateEvent(model: "b", version: 2, phase: .downloading, bytes: 1, total: 10))
        events.publish(UpdateEvent(model: "a", phase: .checking))
        events.publish(UpdateEvent(model: "b", version: 2, phase: .staged))
        let latest = events.latest()
        XCTAssertEqual(latest.map(\.model), ["a", "b"])
        XCTAssertEqual(latest.map(\.phase), [.checking, .staged])
        XCTAssertTrue(latest.allSatisfy { $0.time?.hasPrefix("20") ?? false }, "\(latest)")
    }

    func testASubscriberGetsTheLatestFirstThenEveryEvent() async {
        events.publish(UpdateEvent(model: "m", version: 1, phase: .committed))
        let stream = events.subscribe()
        events.publish(UpdateEvent(model: "m", version: 2, phase: .checking))
        events.publish(UpdateEvent(model: "m", version: 2, phase: .downloading, bytes: 5, total: 5))
        events.finish()
        var seen: [String] = []
        for await e in stream { seen.append("\(e.version ?? 0) \(e.phase.rawValue)") }
        XCTAssertEqual(seen, ["1 committed", "2 checking", "2 downloading"])
    }

    func testASubscriberThatDoesNotReadKeepsOnlyTheNewestEvents() async {
        let stream = events.subscribe()
        for i in 0..<(UpdateEvents.subscriberBuffer * 4) {
            events.publish(UpdateEvent(model: "m", phase: .downloading, bytes: UInt64(i), total: 1 << 20))
        }
        events.finish()
        var bytes: [UInt64] = []
        for await e in stream { bytes.append(e.bytes ?? 0) }
        XCTAssertEqual(bytes.count, UpdateEvents.subscriberBuffer)
        XCTAssertEqual(bytes.last, UInt64(UpdateEvents.subscriberBuffer * 4 - 1))
    }

    func testModelsTrackedAreBounded() {
        for i in 0..<(UpdateEvents.maxModels + 10) { events.publish(UpdateEvent(model: "m\(i)", phase: .checking)) }
        XCTAssertEqual(events.latest().count, UpdateEvents.maxModels)
    }
}
