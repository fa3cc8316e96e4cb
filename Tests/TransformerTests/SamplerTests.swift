import XCTest
import Generation

final class SamplerTests: XCTestCase {
    func sample(_ logits: [Float], _ p: SamplingParameters, history: [Int32] = [], times: Int = 1) -> [Int32] {
        var s = Sampler(p)
        history.forEach { s.accept($0) }
        return (0..<times).map { _ in logits.withUnsafeBufferPointer { s.sample($0) } }
    }

    func parameters(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0, seed: UInt64 = 42) -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature; p.topK = topK; p.topP = topP; p.minP = minP; p.seed = seed
        return p
    }

    func testGreedyPicksTheLargestLogitAndTheFirstOnTies() {
        XCTAssertEqual(sample([0.1, 3, -2, 3], .greedy), [1])
    }

    func testSameSeedSameTokensDifferentSeedDifferentTokens() {
        let logits = (0..<50).map { Float($0 % 7) * 0.3 }
        let a = sample(logits, parameters(seed: 7), times: 40)
        XCTAssertEqual(a, sample(logits, parameters(seed: 7), times: 40))
        XCTAssertNotEqual(a, sample(logits, parameters(seed: 8), times: 40))
    }

    func testTopKKeepsOnlyTheKMostLikely() {
        let logits: [Float] = [5, 4, 3, 2, 1, 0]
        let drawn = Set(sample(logits, parameters(temperature: 5, topK: 2), times: 300))
        XCTAssertEqual(drawn, [0, 1])
    }

    func testTopPKeepsTheSmallestSetReachingP() {
        // Probabilities ≈ 0.64, 0.24, 0.09, 0.03: p = 0.8 keeps the first two.
        let logits: [Float] = [3, 2, 1, 0]
        XCTAssertEqual(Set(sample(logits, parameters(topP: 0.8), times: 400)), [0, 1])
    }

    func testMinPDropsUnlikelyTokens() {
        // Relative to the best: 1, 0.37, 0.14, 0.05 → min-p 0.2 keeps two.
        let logits: [Float] = [3, 2, 1, 0]
        XCTAssertEqual(Set(sample(logits, parameters(minP: 0.2), times: 400)), [0, 1])
    }

    func testRepeatPenaltyTurnsGreedyAwayFromRecentTokens() {
        var p = SamplingParameters.greedy
        p.repeatPenalty = 2
        XCTAssertEqual(sample([2.0, 1.5, 0], p, history: [0]), [1])
        p.repeatPenalty = 1
        p.frequencyPenalty = 0.3
        XCTAssertEqual(sample([2.0, 1.5, 0], p, history: [0, 0]), [1])
        p.frequencyPenalty = 0
        p.presencePenalty = 0.6
        XCTAssertEqual(sample([2.0, 1.5, 0], p, history: [0]), [1])
    }

    func testBadParametersAreRefusedByName() {
        var p = SamplingParameters()
        p.topP = 0
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("top_p")) }
        p = SamplingParameters()
        p.temperature = .nan
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("temperature")) }
    }
}

final class StopStringTests: XCTestCase {
    func testHoldsBackAPossibleStopAndCutsAtIt() {
        var m = StopStringMatcher(["</end>"])
        XCTAssertEqual(m.push("hello <").text, "hello ")
        XCTAssertEqual(m.push("/e").text, "")
        let r = m.push("nd> tail")
        XCTAssertEqual(r.text, "")
        XCTAssertTrue(r.stopped)
    }

    func testReleasesHeldTextThatTurnsOutNotToStop() {
        var m = StopStringMatcher(["STOP"])
        XCTAssertEqual(m.push("ST").text, "")
        XCTAssertEqual(m.push("ART").text, "START")
        XCTAssertEqual(m.push("S").text, "")
        XCTAssertEqual(m.flush(), "S")
    }

    func testEarliestOfSeveralStops() {
        var m = StopStringMatcher(["b", "abc"])
        let r = m.push("xxabcd")
        XCTAssertEqual(r.text, "xx", "\"abc\" starts before \"b\"")
        XCTAssertTrue(r.stopped)
    }
}
