// RivuletBench: throughput figures for Rivulet's hot paths.
//
//   RivuletBench [--output PATH] [--only GROUP[,GROUP...]] [--min-time SECONDS] [--list]
//
// Each benchmark group (see BenchmarkRegistry) writes one markdown section; with
// --output, the sections in PATH are replaced in place (or appended), so groups can
// be rerun one at a time and prose around the sections survives.
import Foundation

var outputPath: String?
var only: Set<String>?
var minimumTime = 0.5
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--output": outputPath = arguments.popFirst()
    case "--only": only = Set((arguments.popFirst() ?? "").split(separator: ",").map(String.init))
    case "--min-time": minimumTime = Double(arguments.popFirst() ?? "") ?? minimumTime
    case "--list":
        for group in BenchmarkRegistry.groups { print("\(group.name)\t\(group.title)") }
        exit(0)
    default:
        FileHandle.standardError.write(Data("usage: RivuletBench [--output PATH] [--only GROUP,...] [--min-time SECONDS] [--list]\n".utf8))
        exit(2)
    }
}

#if DEBUG
print("warning: this is a debug build; figures are not representative (use -c release)")
#endif

let machine = MachineInfo.current()
var sections: [(name: String, markdown: String)] = [("machine", machine.markdown)]
print(machine.markdown)
let context = BenchmarkContext(minimumTime: minimumTime)
for group in BenchmarkRegistry.groups where only?.contains(group.name) ?? true {
    FileHandle.standardError.write(Data("running \(group.name)…\n".utf8))
    let markdown = try group.run(context)
    print(markdown)
    sections.append((group.name, markdown))
}
if let outputPath {
    try MarkdownReport.update(path: outputPath, sections: sections)
    print("updated \(outputPath)")
}
