#if canImport(Glibc)
import TrellisMalloc
#endif

/// How the process asks glibc's allocator to keep memory it has freed.
///
/// By default glibc hands the free top of its heap back to the kernel as soon as 128 KiB lie
/// there, and serves each block over 128 KiB with a mapping of its own. A command that builds
/// and drops large arrays again and again (a text merge of a 2,000-line file allocates a few
/// hundred KiB per merge) then takes fresh zeroed pages from the kernel every time: in
/// `trellis bench text-merge` that page faulting was 40% of the run. Keeping up to 64 MiB of
/// freed heap, and mapping only blocks of 32 MiB and more, removes it; the cost is that a
/// process's resident size falls back more slowly after a peak (docs/architecture.md).
enum Allocator {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_TRIM_THRESHOLD, 64 << 20)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        #endif
    }
}
