import Foundation
import Generation
import Transformer

let path = CommandLine.arguments[1]
let ids = CommandLine.arguments[2].split(separator: ",").map { Int32($0)! }
let model = try Model(path: path, threads: Int(ProcessInfo.processInfo.environment["T"] ?? "2")!, context: 512)
let cache = try model.makeCache()
var sampler = Sampler(.greedy)
var out: [Int32] = []
let t0 = Date()
var tFirst = Date()
try TokenGenerator(model: model).generate(prompt: ids, cache: cache, sampler: &sampler, maxTokens: 32, isEndOfGeneration: { _ in false }) {
    if out.isEmpty { tFirst = Date() }
    out.append($0.id); return true
}
let t1 = Date()
print(out.map(String.init).joined(separator: ","))
print("prefill \(tFirst.timeIntervalSince(t0))s decode \(Double(out.count - 1) / t1.timeIntervalSince(tFirst)) tok/s")
