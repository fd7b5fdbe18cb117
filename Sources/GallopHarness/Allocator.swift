/// Process-wide allocator settings for scoring.
public enum Allocator {
    /// Per-frame analysis buffers (flow fields, gradients: ~0.6 MB each at the
    /// motion size) are above glibc's default mmap threshold, so every frame
    /// would map, fault in and unmap fresh pages: measured 0.5 s of system time
    /// on a 132-frame 720p clip with optical flow, 0.05 s with these settings.
    /// Keeping such blocks on the heap and not trimming it makes them reusable.
    public static func tuneForScoring() {
        #if os(Linux)
        // glibc's <malloc.h>, which the Glibc module does not export: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3.
        _ = glibcMallopt(-3, 64 << 20)
        _ = glibcMallopt(-1, 256 << 20)
        #endif
    }
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
