import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension UUID {
    /// A random (version 4) UUID from a 4 KiB buffer of the kernel's random bytes, refilled by one `read` of a
    /// `/dev/urandom` kept open. Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom` for
    /// every id: three system calls on the call flow's thread for every call.
    public static func random() -> UUID {
        RandomBytes.shared.withLock { $0.uuid() }
    }
}

struct RandomBytes: ~Copyable {
    static let shared = Mutex(RandomBytes())

    private var buffer: [UInt8] = []
    private var used = 0
    private var descriptor: Int32 = -1
    /// Buffers read so far (tests).
    private(set) var refills = 0

    mutating func uuid() -> UUID {
        if used + 16 > buffer.count, !refill() {
            return UUID() // no /dev/urandom: Foundation's own way
        }
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { target in
            buffer.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[used..<used + 16]))
            }
        }
        used += 16
        bytes.6 = (bytes.6 & 0x0F) | 0x40 // version 4
        bytes.8 = (bytes.8 & 0x3F) | 0x80 // RFC 4122 variant
        return UUID(uuid: bytes)
    }

    /// Reads a new buffer; false when the kernel's random source cannot be read.
    private mutating func refill() -> Bool {
        if descriptor < 0 {
            descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { return false }
        }
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 4096) }
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress! + filled, raw.count - filled)
            }
            if count > 0 {
                filled += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                close(descriptor)
                descriptor = -1
                return false
            }
        }
        used = 0
        refills += 1
        return true
    }
}
