import Foundation

/// 8 kHz, mono, 16-bit PCM WAV — what Asterisk writes for `format=wav`.
public enum WAVFile {
    static let sampleRate = 8000

    /// One second of a quiet 440 Hz tone: a whole number of periods, so seconds repeat seamlessly.
    static let oneSecond: [UInt8] = {
        var bytes = [UInt8]()
        bytes.reserveCapacity(sampleRate * 2)
        for i in 0..<sampleRate {
            let value = UInt16(bitPattern: Int16(1200 * sin(2 * Double.pi * 440 * Double(i) / Double(sampleRate))))
            bytes.append(UInt8(value & 0xff))
            bytes.append(UInt8(value >> 8))
        }
        return bytes
    }()

    /// A quiet 440 Hz tone of the given length, so players show a real waveform.
    static func tone(seconds: Double) -> Data {
        let count = max(0, Int(seconds * Double(sampleRate))) * 2
        var file = header(dataSize: count)
        file.reserveCapacity(file.count + count)
        let second = oneSecond
        var left = count
        while left > 0 {
            let chunk = min(left, second.count)
            second.withUnsafeBufferPointer { file.append(UnsafeBufferPointer(rebasing: $0[0..<chunk])) }
            left -= chunk
        }
        return file
    }

    /// The 44-byte header of an 8 kHz mono 16-bit PCM file with `dataSize` bytes of samples.
    public static func header(dataSize: Int) -> Data {
        var data = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + dataSize))
        data.append(contentsOf: Array("WAVE".utf8))
        data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1)
        u32(UInt32(sampleRate)); u32(UInt32(sampleRate * 2)); u16(2); u16(16)
        data.append(contentsOf: Array("data".utf8)); u32(UInt32(dataSize))
        return data
    }

    /// Length in seconds of a PCM WAV file, read from its header; nil if it is not one.
    static func duration(of url: URL) -> Double? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 44), head.count == 44,
              head.prefix(4) == Data("RIFF".utf8) else { return nil }
        let byteRate = head[28..<32].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 44
        guard byteRate > 0 else { return nil }
        return Double(size - 44) / Double(byteRate)
    }
}
