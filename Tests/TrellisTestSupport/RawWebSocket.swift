import Foundation

/// A deliberately low-level TCP and WebSocket client for tests that must send what a real
/// client never would: garbage, bad frames, half-finished messages, or nothing at all.
public final class RawSocket: @unchecked Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds.
    /// `receiveBuffer` shrinks the kernel's buffer (and so the TCP window) before connecting.
    public init(port: Int, timeout: Double = 5, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError("socket failed") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw RawSocketError("connect to port \(port) failed")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private var isOpen = true

    deinit { if isOpen { close(fd) } }

    /// Drops the connection abruptly: a TCP reset, no close handshake.
    public func reset() {
        guard isOpen else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
        isOpen = false
    }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawSocketError("send failed") }
            sent += n
        }
    }

    /// Up to `max` bytes; empty at end of stream; nil on timeout or error.
    public func receive(max: Int = 65536) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        return n < 0 ? nil : Array(buf.prefix(n))
    }

    /// Exactly `count` bytes, or nil when the stream ends or times out first.
    public func receive(exactly count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        while out.count < count {
            guard let chunk = receive(max: count - out.count), !chunk.isEmpty else { return nil }
            out += chunk
        }
        return out
    }

    /// True when the peer closes the stream within the read timeout (data before that is read and dropped).
    public func closedByPeer() -> Bool {
        while let chunk = receive() {
            if chunk.isEmpty { return true }
        }
        return false
    }

    // MARK: WebSocket

    /// Sends the HTTP upgrade for `path` and reads the response head; true on 101.
    public func upgrade(path: String = "/sync") throws -> Bool {
        try send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard let byte = receive(max: 1), !byte.isEmpty else { return false }
            head += byte
        }
        return String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101")
    }

    /// One client frame, masked as RFC 6455 requires.
    public func sendFrame(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try send(frame)
    }

    public func sendBinary(_ payload: [UInt8]) throws { try sendFrame(opcode: 2, payload) }

    /// The next data or close frame from the server (pings answered); nil when the stream ends.
    public func readFrame() -> (opcode: UInt8, payload: [UInt8], fin: Bool)? {
        while true {
            guard let head = receive(exactly: 2) else { return nil }
            var length = Int(head[1] & 0x7f)
            if length == 126 {
                guard let ext = receive(exactly: 2) else { return nil }
                length = Int(ext[0]) << 8 | Int(ext[1])
            } else if length == 127 {
                guard let ext = receive(exactly: 8) else { return nil }
                length = ext.reduce(0) { $0 << 8 | Int($1) }
            }
            guard let payload = length == 0 ? [] : receive(exactly: length) else { return nil }
            let opcode = head[0] & 0x0f
            if opcode == 9 {
                try? sendFrame(opcode: 10, payload)
                continue
            }
            return (opcode, payload, head[0] & 0x80 != 0)
        }
    }

    /// The next whole binary message, joining continuation frames; nil at a close or the end.
    public func readMessage() -> [UInt8]? {
        var message: [UInt8] = []
        while let (opcode, payload, fin) = readFrame() {
            guard opcode == 0 || opcode == 2 else { return nil }
            message += payload
            if fin { return message }
        }
        return nil
    }
}

public struct RawSocketError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs blocking socket work on a thread of its own: blocking a Swift concurrency thread would
/// starve an in-process server of the few threads it has.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
