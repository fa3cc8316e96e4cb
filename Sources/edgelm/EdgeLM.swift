import ArgumentParser

@main
struct EdgeLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgelm",
        abstract: "Run small open-weight language models on this machine.",
        subcommands: [RunCommand.self, BenchCommand.self, TokenizeCommand.self, PerplexityCommand.self,
                      PackCommand.self, ImportCommand.self, ListCommand.self, ActivateCommand.self, RemoveCommand.self,
                      RollbackCommand.self, GCCommand.self, KeygenCommand.self, DiffCommand.self, PublishCommand.self, PullCommand.self,
                      UpdateCommand.self])
}
