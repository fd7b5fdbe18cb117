import Foundation
import GallopLearned

// gallop-embed: raw little-endian arrays through the learned encoders (see EmbedCommand for the commands), and
// raw RGB frames through VBench's preprocessing (PreprocessCommand).
// Prints the model's resolved layout and architecture on stderr; an error is one sentence on stderr, exit 1.
func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] {
    print(EmbedCommand.usage)
    print(PreprocessCommand.usage)
    exit(arguments.isEmpty ? 1 : 0)
}
do {
    if arguments.first == "preprocess" {
        printError(try PreprocessCommand.parse(Array(arguments.dropFirst())).run())
    } else {
        printError(try EmbedCommand.parse(arguments).run())
    }
} catch {
    printError("gallop-embed: \(error)")
    exit(1)
}
