import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopResults
import GallopVideo

/// The fuzz target: bytes → a file → `Scorer.score` with every default metric
/// → the row encoded as the results file writes it and read back. It must
/// never crash, hang or leak; a bad clip is an error row.
///
/// The input's last byte also picks the analysis settings (within what a config
/// accepts): bits 0–1 max_side native, 16, 17 or 33; bit 2 every 3rd frame;
/// bit 3 max_frames 5; bit 4 the clip as its own reference (adding the
/// full-reference metrics); bit 5 motion_side 32 instead of 128.
///
/// Built plainly, `gallop-fuzz FILE…` runs the target once on each file (to
/// reproduce a finding without the sanitizers' build) and `--write-seeds=DIR`
/// writes the seed clips. Built with `-sanitize=fuzzer` and
/// `-D GALLOP_LIBFUZZER` (see scripts/lib/verify/fuzz), libFuzzer's driver runs instead.
///
/// Small limits keep one input within seconds and megabytes: frames of at
/// most 1024×1024 pixels, 64 frames.
enum FuzzTarget {
    /// One folder per process (libFuzzer runs inputs one at a time), in memory where /dev/shm exists;
    /// it is also the reference folder, so the clip is its own reference.
    static let root: String = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(dir)/gallop-fuzz-\(getpid())"
    }()
    /// `.mkv`: Matroska has a content probe, so the name adds next to nothing to FFmpeg's guess of the format.
    static let relativePath = "fuzz/input-1.mkv"
    static var inputPath: String { root + "/" + relativePath }

    /// A scorer per settings byte, made on first use (inputs run one at a time).
    nonisolated(unsafe) static var scorers: [UInt8: Scorer] = [:]

    static func scorer(_ selector: UInt8) -> Scorer {
        let key = selector & 0x3f
        if let s = scorers[key] { return s }
        var limits = Scorer.Limits()
        limits.pixels = 1024 * 1024
        limits.frames = 64
        let config = RunConfig(metrics: [], maxSide: [nil, 16, 17, 33][Int(key & 3)], every: key & 4 != 0 ? 3 : 1,
                               maxFrames: key & 8 != 0 ? 5 : nil, motionSide: key & 32 != 0 ? 32 : 128,
                               reference: key & 16 != 0 ? root : nil)
        let s = try! Scorer(config: config, threads: 1, limits: limits)
        scorers[key] = s
        return s
    }

    @discardableResult
    static func run(_ bytes: UnsafeRawBufferPointer) -> ClipResult {
        try? FileManager.default.createDirectory(atPath: root + "/fuzz", withIntermediateDirectories: true)
        let fd = open(inputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "gallop-fuzz: cannot write \(inputPath)")
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "gallop-fuzz: cannot write \(inputPath)")
            done += n
        }
        close(fd)
        let scorer = scorer(bytes.last ?? 0)
        let row = scorer.score(path: inputPath, relativePath: relativePath, name: ClipName.parse(relativePath: relativePath))
        // The row as the results file stores it, read back: JSON without NaN or infinity, values that parse.
        let line = row.json.serialized()
        guard let parsed = try? JSONParser.parse(line), (try? ClipResult(json: parsed)) != nil else {
            fatalError("gallop-fuzz: the row does not read back: \(line)")
        }
        return row
    }

    static func cleanup() { try? FileManager.default.removeItem(atPath: root) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

#if GALLOP_LIBFUZZER
/// libFuzzer's driver (linked in by `-sanitize=fuzzer`), called from this main so that one
/// source builds both ways.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

@main
struct FuzzMain {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if let seeds = args.first(where: { $0.hasPrefix("--write-seeds=") }) {
            let dir = String(seeds.dropFirst("--write-seeds=".count))
            do {
                let n = try Seeds.write(to: dir)
                FileHandle.standardError.write("gallop-fuzz: wrote \(n) seed clips to \(dir)\n".data(using: .utf8)!)
                return
            } catch {
                FileHandle.standardError.write("gallop-fuzz: \(error)\n".data(using: .utf8)!)
                exit(1)
            }
        }
        // libFuzzer ends with exit(): the folder goes at exit, not at the end of main.
        atexit { FuzzTarget.cleanup() }
        #if GALLOP_LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))
        #else
        if args.isEmpty || args.contains(where: { $0.hasPrefix("-") }) {
            FileHandle.standardError.write("usage: gallop-fuzz FILE... | --write-seeds=DIR\n".data(using: .utf8)!)
            exit(2)
        }
        for path in args {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write("gallop-fuzz: \(path): cannot read the file\n".data(using: .utf8)!)
                exit(2)
            }
            let row = data.withUnsafeBytes { FuzzTarget.run($0) }
            print("\(path): " + (row.error.map { "error row: \($0)" } ?? "\(row.status.rawValue) row, \(row.frames) frames, \(row.width)x\(row.height)"))
        }
        #endif
    }
}
