package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.AddressMessage.Ack;
import dev.patchcord.core.assign.AddressMessage.Nak;
import dev.patchcord.core.assign.AddressMessage.Release;
import dev.patchcord.core.assign.AddressMessage.Renew;
import dev.patchcord.core.assign.AddressMessage.Request;
import dev.patchcord.core.wg.ControlMessages;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The byte layout of {@link AddressMessage}s, exactly as docs/protocol.md gives it: a 12-byte
 * header (marker 0x80, magic "PCA", version, type, length, request id) and a body per type. Every
 * integer is big-endian, whatever the buffer's own order; reads and writes are absolute and leave
 * the buffer's position alone.
 *
 * <p>Decoding is strict so that the encoding is canonical: reserved bits and bytes must be zero,
 * an absent address must be all zeros, a route's host bits must be clear. Then a message has one
 * encoding only, and a property test can check that whatever decodes re-encodes to the same bytes.
 * Structural checks (sizes, counts, flags) are made here; the records' constructors check the
 * rest (families, ranges, text), and their refusal becomes the decoder's problem text.
 */
public final class AddressMessages {
    private AddressMessages() {}

    /** The first byte: high nibble 8, which no IPv4 (4) or IPv6 (6) packet has. */
    public static final int MARKER = 0x80;
    /** Bytes 0-3: the marker and "PCA" (patchcord address assignment). */
    public static final int MAGIC = 0x80_50_43_41;
    public static final int VERSION = 1;

    public static final int TYPE_REQUEST = 1;
    public static final int TYPE_ACK = 2;
    public static final int TYPE_NAK = 3;
    public static final int TYPE_RENEW = 4;
    public static final int TYPE_RELEASE = 5;

    public static final int HEADER_SIZE = 12;
    public static final int OFF_VERSION = 4;
    public static final int OFF_TYPE = 5;
    public static final int OFF_LENGTH = 6;
    public static final int OFF_REQUEST_ID = 8;

    /** REQUEST and RENEW share one body: flags, three reserved bytes, an IPv4 and an IPv6 address. */
    public static final int OFF_FLAGS = 12;
    public static final int OFF_ADDR_V4 = 16;
    public static final int OFF_ADDR_V6 = 20;
    public static final int REQUEST_SIZE = 36;
    public static final int FLAG_V4 = 0x01;
    public static final int FLAG_V6 = 0x02;
    /** REQUEST only: fall back to any free address rather than refuse a requested one. */
    public static final int FLAG_ANY = 0x04;

    public static final int OFF_ACK_LEASE = 12;
    public static final int OFF_ACK_FLAGS = 16;
    public static final int OFF_ACK_PREFIX_V4 = 17;
    public static final int OFF_ACK_PREFIX_V6 = 18;
    public static final int OFF_ACK_ROUTE_COUNT = 19;
    public static final int OFF_ACK_V4 = 20;
    public static final int OFF_ACK_V6 = 24;
    public static final int OFF_ACK_ROUTES = 40;
    /** A route entry: family (4 or 6), prefix length, then 4 or 16 address bytes. */
    public static final int ROUTE_V4_SIZE = 6;
    public static final int ROUTE_V6_SIZE = 18;

    public static final int OFF_NAK_REASON = 12;
    public static final int OFF_NAK_TEXT_LENGTH = 13;
    public static final int OFF_NAK_TEXT = 16;

    /** The largest message: an ACK with {@link AddressMessage#MAX_ROUTES} IPv6 routes, 616 bytes. */
    public static final int MAX_SIZE = OFF_ACK_ROUTES + AddressMessage.MAX_ROUTES * ROUTE_V6_SIZE;
    /** WireGuard pads plaintext with zeros to a multiple of 16, so at most 15 bytes follow a message. */
    public static final int MAX_PADDING = 15;

    /** What {@link #read} found: a message, or null and a one-line problem. */
    public record Result(AddressMessage message, String problem) {
        static Result bad(String problem) {
            return new Result(null, problem);
        }
    }

    /** Address assignment as the protocol core sees it: which plaintexts are its messages. */
    public static final ControlMessages CONTROL = new ControlMessages() {
        @Override
        public boolean isControl(ByteBuffer buf, int off, int len) {
            return AddressMessages.isControl(buf, off, len);
        }

        @Override
        public boolean isWellFormed(ByteBuffer buf, int off, int len) {
            return read(buf, off, len).message() != null;
        }
    };

    /** See {@link AddressMessage#isControl}. */
    public static boolean isControl(ByteBuffer buf, int off, int len) {
        return len >= HEADER_SIZE && off >= 0 && off <= buf.limit() - len
                && (buf.get(off) & 0xff) == MARKER && be32(buf, off) == MAGIC;
    }

    /**
     * Decodes the {@code len} bytes at {@code off}; never throws, whatever they are, and reads
     * nothing outside them.
     */
    public static Result read(ByteBuffer buf, int off, int len) {
        if (buf == null || off < 0 || len < 0 || off > buf.limit() - len) {
            return Result.bad("no such bytes in the buffer");
        }
        if (len < HEADER_SIZE) {
            return Result.bad(len + " bytes are shorter than the " + HEADER_SIZE + "-byte header");
        }
        if (be32(buf, off) != MAGIC) {
            return Result.bad(String.format("no control message magic (starts 0x%08x)", be32(buf, off)));
        }
        int version = u8(buf, off + OFF_VERSION);
        if (version != VERSION) {
            return Result.bad("unsupported version " + version);
        }
        int length = be16(buf, off + OFF_LENGTH);
        if (length < HEADER_SIZE || length > len) {
            return Result.bad("length field " + length + " does not fit the " + len + " bytes received");
        }
        if (len - length > MAX_PADDING) {
            return Result.bad((len - length) + " bytes after the message are more than padding");
        }
        for (int i = off + length; i < off + len; i++) {
            if (buf.get(i) != 0) {
                return Result.bad("non-zero byte after the message at offset " + (i - off));
            }
        }
        int type = u8(buf, off + OFF_TYPE);
        int id = be32(buf, off + OFF_REQUEST_ID);
        try {
            return switch (type) {
                case TYPE_REQUEST, TYPE_RENEW -> readRequest(buf, off, length, type, id);
                case TYPE_ACK -> readAck(buf, off, length, id);
                case TYPE_NAK -> readNak(buf, off, length, id);
                case TYPE_RELEASE -> length == HEADER_SIZE ? new Result(new Release(id), null)
                        : Result.bad("RELEASE of " + length + " bytes, not " + HEADER_SIZE);
                default -> Result.bad("unknown message type " + type);
            };
        } catch (IllegalArgumentException e) {
            return Result.bad(e.getMessage()); // a record refused the values: wrong family, bad text, …
        }
    }

    private static Result readRequest(ByteBuffer buf, int off, int length, int type, int id) {
        String name = type == TYPE_REQUEST ? "REQUEST" : "RENEW";
        if (length != REQUEST_SIZE) {
            return Result.bad(name + " of " + length + " bytes, not " + REQUEST_SIZE);
        }
        int flags = u8(buf, off + OFF_FLAGS);
        int allowed = type == TYPE_REQUEST ? FLAG_V4 | FLAG_V6 | FLAG_ANY : FLAG_V4 | FLAG_V6;
        if ((flags & ~allowed) != 0 || u8(buf, off + 13) != 0 || be16(buf, off + 14) != 0) {
            return Result.bad(String.format("%s with reserved bits set (flags 0x%02x)", name, flags));
        }
        Optional<InetAddress> v4 = optionalAddress(buf, off + OFF_ADDR_V4, 4);
        Optional<InetAddress> v6 = optionalAddress(buf, off + OFF_ADDR_V6, 16);
        if (type == TYPE_RENEW) {
            if (v4.isPresent() != ((flags & FLAG_V4) != 0) || v6.isPresent() != ((flags & FLAG_V6) != 0)) {
                return Result.bad("RENEW flags do not match the addresses present");
            }
            return new Result(new Renew(id, v4, v6), null);
        }
        return new Result(new Request(id, (flags & FLAG_V4) != 0, (flags & FLAG_V6) != 0, v4, v6,
                (flags & FLAG_ANY) != 0), null);
    }

    private static Result readAck(ByteBuffer buf, int off, int length, int id) {
        if (length < OFF_ACK_ROUTES) {
            return Result.bad("ACK of " + length + " bytes is shorter than " + OFF_ACK_ROUTES);
        }
        long lease = be32(buf, off + OFF_ACK_LEASE) & 0xffff_ffffL;
        int flags = u8(buf, off + OFF_ACK_FLAGS);
        if ((flags & ~(FLAG_V4 | FLAG_V6)) != 0) {
            return Result.bad(String.format("ACK with reserved bits set (flags 0x%02x)", flags));
        }
        int prefix4 = u8(buf, off + OFF_ACK_PREFIX_V4);
        int prefix6 = u8(buf, off + OFF_ACK_PREFIX_V6);
        Optional<InetAddress> a4 = optionalAddress(buf, off + OFF_ACK_V4, 4);
        Optional<InetAddress> a6 = optionalAddress(buf, off + OFF_ACK_V6, 16);
        if ((flags & FLAG_V4) == 0 && (prefix4 != 0 || a4.isPresent())
                || (flags & FLAG_V6) == 0 && (prefix6 != 0 || a6.isPresent())) {
            return Result.bad("ACK carries an address or prefix its flags say is absent");
        }
        if ((flags & FLAG_V4) != 0 && (a4.isEmpty() || prefix4 > 32)
                || (flags & FLAG_V6) != 0 && (a6.isEmpty() || prefix6 > 128)) {
            return Result.bad("ACK flags an address that is missing or has an impossible prefix");
        }
        int count = u8(buf, off + OFF_ACK_ROUTE_COUNT);
        if (count > AddressMessage.MAX_ROUTES) {
            return Result.bad(count + " routes are more than " + AddressMessage.MAX_ROUTES);
        }
        List<Cidr> routes = new ArrayList<>(count);
        int pos = OFF_ACK_ROUTES;
        for (int i = 0; i < count; i++) {
            if (pos + 2 > length) {
                return Result.bad("route " + (i + 1) + " of " + count + " is cut short");
            }
            int family = u8(buf, off + pos);
            int size = family == 4 ? 4 : family == 6 ? 16 : -1;
            if (size < 0) {
                return Result.bad("route " + (i + 1) + " has unknown family " + family);
            }
            int prefix = u8(buf, off + pos + 1);
            if (pos + 2 + size > length) {
                return Result.bad("route " + (i + 1) + " of " + count + " is cut short");
            }
            if (prefix > size * 8) {
                return Result.bad("route " + (i + 1) + " has prefix " + prefix + " longer than its address");
            }
            routes.add(new Cidr(address(bytes(buf, off + pos + 2, size)), prefix));
            pos += 2 + size;
        }
        if (pos != length) {
            return Result.bad((length - pos) + " bytes after the last route of the ACK");
        }
        return new Result(new Ack(id, a4.map(a -> new Cidr(a, prefix4)), a6.map(a -> new Cidr(a, prefix6)),
                lease, routes), null);
    }

    private static Result readNak(ByteBuffer buf, int off, int length, int id) {
        if (length < OFF_NAK_TEXT) {
            return Result.bad("NAK of " + length + " bytes is shorter than " + OFF_NAK_TEXT);
        }
        int textLength = u8(buf, off + OFF_NAK_TEXT_LENGTH);
        if (be16(buf, off + 14) != 0) {
            return Result.bad("NAK with reserved bytes set");
        }
        if (textLength > AddressMessage.MAX_TEXT || OFF_NAK_TEXT + textLength != length) {
            return Result.bad("NAK text of " + textLength + " bytes does not fit a " + length + "-byte NAK");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes(buf, off + OFF_NAK_TEXT, textLength)))
                    .toString();
        } catch (CharacterCodingException e) {
            return Result.bad("NAK text is not valid UTF-8");
        }
        return new Result(new Nak(id, u8(buf, off + OFF_NAK_REASON), text), null);
    }

    /** The encoded length of {@code m}, 12 to {@link #MAX_SIZE} bytes. */
    public static int size(AddressMessage m) {
        return switch (m) {
            case Request r -> REQUEST_SIZE;
            case Renew r -> REQUEST_SIZE;
            case Release r -> HEADER_SIZE;
            case Nak n -> OFF_NAK_TEXT + n.text().getBytes(StandardCharsets.UTF_8).length;
            case Ack a -> OFF_ACK_ROUTES + a.routes().stream()
                    .mapToInt(c -> c.isIpv4() ? ROUTE_V4_SIZE : ROUTE_V6_SIZE).sum();
        };
    }

    /** See {@link AddressMessage#encode}. */
    public static int write(AddressMessage m, ByteBuffer buf, int off) {
        int size = size(m);
        if (off < 0 || off > buf.limit() - size) {
            throw new IndexOutOfBoundsException("no room for a " + size + "-byte control message at " + off
                    + " in a buffer of " + buf.limit());
        }
        for (int i = 0; i < size; i++) {
            buf.put(off + i, (byte) 0);
        }
        be32(buf, off, MAGIC);
        buf.put(off + OFF_VERSION, (byte) VERSION);
        be16(buf, off + OFF_LENGTH, size);
        be32(buf, off + OFF_REQUEST_ID, m.requestId());
        switch (m) {
            case Request r -> {
                buf.put(off + OFF_TYPE, (byte) TYPE_REQUEST);
                buf.put(off + OFF_FLAGS, (byte) ((r.wantV4() ? FLAG_V4 : 0) | (r.wantV6() ? FLAG_V6 : 0)
                        | (r.any() ? FLAG_ANY : 0)));
                r.v4().ifPresent(a -> buf.put(off + OFF_ADDR_V4, a.getAddress()));
                r.v6().ifPresent(a -> buf.put(off + OFF_ADDR_V6, a.getAddress()));
            }
            case Renew r -> {
                buf.put(off + OFF_TYPE, (byte) TYPE_RENEW);
                buf.put(off + OFF_FLAGS, (byte) ((r.v4().isPresent() ? FLAG_V4 : 0) | (r.v6().isPresent() ? FLAG_V6 : 0)));
                r.v4().ifPresent(a -> buf.put(off + OFF_ADDR_V4, a.getAddress()));
                r.v6().ifPresent(a -> buf.put(off + OFF_ADDR_V6, a.getAddress()));
            }
            case Release r -> buf.put(off + OFF_TYPE, (byte) TYPE_RELEASE);
            case Nak n -> {
                byte[] text = n.text().getBytes(StandardCharsets.UTF_8);
                buf.put(off + OFF_TYPE, (byte) TYPE_NAK);
                buf.put(off + OFF_NAK_REASON, (byte) n.code());
                buf.put(off + OFF_NAK_TEXT_LENGTH, (byte) text.length);
                buf.put(off + OFF_NAK_TEXT, text);
            }
            case Ack a -> {
                buf.put(off + OFF_TYPE, (byte) TYPE_ACK);
                be32(buf, off + OFF_ACK_LEASE, (int) a.leaseSeconds());
                buf.put(off + OFF_ACK_FLAGS, (byte) ((a.v4().isPresent() ? FLAG_V4 : 0) | (a.v6().isPresent() ? FLAG_V6 : 0)));
                a.v4().ifPresent(c -> {
                    buf.put(off + OFF_ACK_PREFIX_V4, (byte) c.prefix());
                    buf.put(off + OFF_ACK_V4, c.address().getAddress());
                });
                a.v6().ifPresent(c -> {
                    buf.put(off + OFF_ACK_PREFIX_V6, (byte) c.prefix());
                    buf.put(off + OFF_ACK_V6, c.address().getAddress());
                });
                buf.put(off + OFF_ACK_ROUTE_COUNT, (byte) a.routes().size());
                int pos = off + OFF_ACK_ROUTES;
                for (Cidr route : a.routes()) {
                    buf.put(pos, (byte) (route.isIpv4() ? 4 : 6));
                    buf.put(pos + 1, (byte) route.prefix());
                    buf.put(pos + 2, route.address().getAddress());
                    pos += route.isIpv4() ? ROUTE_V4_SIZE : ROUTE_V6_SIZE;
                }
            }
        }
        return size;
    }

    /** {@code m} encoded into a new array of exactly its size. */
    public static byte[] toBytes(AddressMessage m) {
        byte[] out = new byte[size(m)];
        write(m, ByteBuffer.wrap(out), 0);
        return out;
    }

    /** Empty for an all-zero field (no address), else the address. */
    private static Optional<InetAddress> optionalAddress(ByteBuffer buf, int at, int size) {
        byte[] b = bytes(buf, at, size);
        for (byte x : b) {
            if (x != 0) {
                return Optional.of(address(b));
            }
        }
        return Optional.empty();
    }

    /** 4 bytes give IPv4; 16 bytes always stay IPv6 (IPv4-mapped ones too), as in {@link Cidr}. */
    static InetAddress address(byte[] b) {
        try {
            return b.length == 4 ? InetAddress.getByAddress(b) : Inet6Address.getByAddress(null, b, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("address of " + b.length + " bytes", e);
        }
    }

    private static byte[] bytes(ByteBuffer buf, int at, int size) {
        byte[] b = new byte[size];
        buf.get(at, b);
        return b;
    }

    private static int u8(ByteBuffer buf, int at) {
        return buf.get(at) & 0xff;
    }

    private static int be16(ByteBuffer buf, int at) {
        return (buf.get(at) & 0xff) << 8 | (buf.get(at + 1) & 0xff);
    }

    private static int be32(ByteBuffer buf, int at) {
        return be16(buf, at) << 16 | be16(buf, at + 2);
    }

    private static void be16(ByteBuffer buf, int at, int v) {
        buf.put(at, (byte) (v >>> 8)).put(at + 1, (byte) v);
    }

    private static void be32(ByteBuffer buf, int at, int v) {
        be16(buf, at, v >>> 16);
        be16(buf, at + 2, v);
    }
}
