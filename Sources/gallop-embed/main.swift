import Foundation
import GallopLearned

// gallop-embed: raw little-endian arrays through the learned encoders (see EmbedCommand for the commands).
// Prints the model's resolved layout and architecture on stderr; an error is one sentence on stderr, exit 1.
func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] {
    print(EmbedCommand.usage)
    exit(arguments.isEmpty ? 1 : 0)
}
do {
    let command = try EmbedCommand.parse(arguments)
    printError(try command.run())
} catch {
    printError("gallop-embed: \(error)")
    exit(1)
}
