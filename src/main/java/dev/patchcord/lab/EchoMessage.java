package dev.patchcord.lab;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * One datagram of the lab's UDP echo ({@link Echo}): a request or the reply to it.
 *
 * <pre>
 * offset 0  4 bytes  magic "PCEC"
 *        4  1 byte   kind: 1 request, 2 reply
 *        5  4 bytes  session: random per probe run, so a probe never counts another run's replies
 *        9  4 bytes  sequence number
 * </pre>
 * All numbers are big-endian; a datagram of any other length is not an echo message. The server
 * answers only well-formed requests, so stray traffic gets no reply and cannot be reflected.
 */
public record EchoMessage(Kind kind, int session, int sequence) {
    public static final int LENGTH = 13;
    private static final int MAGIC = 0x50434543; // "PCEC"

    public enum Kind {
        REQUEST(1), REPLY(2);

        private final byte code;

        Kind(int code) {
            this.code = (byte) code;
        }

        static Optional<Kind> of(byte code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return Optional.of(k);
                }
            }
            return Optional.empty();
        }
    }

    public EchoMessage {
        if (kind == null) {
            throw new IllegalArgumentException("an echo message needs a kind");
        }
    }

    /** The reply a server sends to this request. */
    public EchoMessage reply() {
        return new EchoMessage(Kind.REPLY, session, sequence);
    }

    public byte[] encode() {
        return ByteBuffer.allocate(LENGTH).putInt(MAGIC).put(kind.code).putInt(session).putInt(sequence).array();
    }

    /** The message in {@code data[offset, offset + length)}, or empty if those bytes are not one. */
    public static Optional<EchoMessage> parse(byte[] data, int offset, int length) {
        if (length != LENGTH || offset < 0 || data.length - offset < LENGTH) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(data, offset, LENGTH);
        if (b.getInt() != MAGIC) {
            return Optional.empty();
        }
        Optional<Kind> kind = Kind.of(b.get());
        int session = b.getInt();
        int sequence = b.getInt();
        return kind.map(k -> new EchoMessage(k, session, sequence));
    }
}
