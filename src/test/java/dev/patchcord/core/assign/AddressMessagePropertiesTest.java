package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.AddressMessage.Ack;
import dev.patchcord.core.assign.AddressMessage.Nak;
import dev.patchcord.core.assign.AddressMessage.Release;
import dev.patchcord.core.assign.AddressMessage.Renew;
import dev.patchcord.core.assign.AddressMessage.Request;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whatever bytes arrive, the decoder answers null or a valid message and never throws; and the
 * encoding is canonical, so whatever decodes re-encodes to exactly the bytes it came from.
 */
class AddressMessagePropertiesTest {

    @Property(tries = 1000)
    void everyValidMessageSurvivesARoundTrip(@ForAll("messages") AddressMessage m) {
        byte[] bytes = AddressMessages.toBytes(m);
        assertThat(bytes.length).isBetween(AddressMessages.HEADER_SIZE, AddressMessages.MAX_SIZE);
        assertThat(AddressMessage.decode(ByteBuffer.wrap(bytes), 0, bytes.length)).isEqualTo(m);
    }

    @Property(tries = 2000)
    void randomBytesNeverThrow(@ForAll @Size(max = 700) byte[] bytes) {
        assertDecodesCanonicallyOrNull(bytes);
    }

    @Property(tries = 3000)
    void randomBodiesBehindAValidHeaderNeverThrow(@ForAll @Size(min = 12, max = 700) byte[] bytes,
                                                  @ForAll @IntRange(min = 0, max = 6) int type,
                                                  @ForAll @IntRange(min = 0, max = 15) int padding,
                                                  @ForAll boolean sparse) {
        if (sparse) {
            // mostly zeros, so that flags, prefixes and counts are often in range and decoding goes deep
            for (int i = 12; i < bytes.length; i++) {
                if (bytes[i] % 4 != 0) {
                    bytes[i] = 0;
                }
            }
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        b.putInt(0, AddressMessages.MAGIC).put(4, (byte) 1).put(5, (byte) type);
        int length = Math.max(12, bytes.length - padding);
        b.putShort(6, (short) length);
        Arrays.fill(bytes, length, bytes.length, (byte) 0);
        assertDecodesCanonicallyOrNull(bytes);
    }

    @Property(tries = 3000)
    void aMutatedMessageDecodesToAValidOneOrToNull(@ForAll("messages") AddressMessage m,
                                                   @ForAll @IntRange(min = 0, max = 10_000) int position,
                                                   @ForAll @IntRange(min = 1, max = 255) int flip) {
        byte[] bytes = AddressMessages.toBytes(m);
        bytes[position % bytes.length] ^= (byte) flip;
        assertDecodesCanonicallyOrNull(bytes);
    }

    @Property(tries = 1000)
    void aCutOrExtendedMessageDecodesToAValidOneOrToNull(@ForAll("messages") AddressMessage m,
                                                         @ForAll @IntRange(min = -40, max = 40) int change,
                                                         @ForAll byte fill) {
        byte[] bytes = AddressMessages.toBytes(m);
        byte[] changed = Arrays.copyOf(bytes, Math.max(0, bytes.length + change));
        if (change > 0) {
            Arrays.fill(changed, bytes.length, changed.length, fill);
        }
        AddressMessage decoded = assertDecodesCanonicallyOrNull(changed);
        if (change > 0 && change <= AddressMessages.MAX_PADDING && fill == 0) {
            assertThat(decoded).isEqualTo(m); // WireGuard's zero padding
        }
    }

    /** Null, or a message whose encoding is exactly the input without its zero padding. */
    static AddressMessage assertDecodesCanonicallyOrNull(byte[] bytes) {
        AddressMessages.Result r = AddressMessages.read(ByteBuffer.wrap(bytes), 0, bytes.length);
        if (r.message() == null) {
            assertThat(r.problem()).isNotBlank();
            return null;
        }
        assertThat(r.problem()).isNull();
        byte[] again = AddressMessages.toBytes(r.message());
        assertThat(bytes.length - again.length).isBetween(0, AddressMessages.MAX_PADDING);
        assertThat(Arrays.copyOf(bytes, again.length)).isEqualTo(again);
        for (int i = again.length; i < bytes.length; i++) {
            assertThat(bytes[i]).isZero();
        }
        return r.message();
    }

    @Provide
    static Arbitrary<AddressMessage> messages() {
        return Arbitraries.oneOf(requests(), acks(), naks(), renews(), releases());
    }

    static Arbitrary<Request> requests() {
        return Combinators.combine(Arbitraries.integers(), Arbitraries.of(true, false), Arbitraries.of(true, false),
                        v4().optional(0.5), v6().optional(0.5), Arbitraries.of(true, false))
                .as((id, w4, w6, a4, a6, any) -> {
                    boolean want4 = w4 || a4.isPresent() || !(w6 || a6.isPresent());
                    return new Request(id, want4, w6 || a6.isPresent(), a4, a6, any);
                });
    }

    static Arbitrary<Ack> acks() {
        Arbitrary<Cidr> c4 = Combinators.combine(v4(), Arbitraries.integers().between(1, 32)).as(Cidr::new);
        Arbitrary<Cidr> c6 = Combinators.combine(v6(), Arbitraries.integers().between(1, 128)).as(Cidr::new);
        return Combinators.combine(Arbitraries.integers(), c4.optional(0.7), c6.optional(0.7),
                        Arbitraries.longs().between(1, 0xffff_ffffL),
                        routes().list().ofMaxSize(AddressMessage.MAX_ROUTES))
                .as((id, a4, a6, lease, routes) -> new Ack(id,
                        a4.isEmpty() && a6.isEmpty() ? Optional.of(Cidr.parse("10.9.0.2/24")) : a4, a6, lease, routes));
    }

    static Arbitrary<Nak> naks() {
        return Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(1, 255),
                        Arbitraries.strings().all().ofMaxLength(120))
                .as((id, code, text) -> new Nak(id, code, Nak.of(id, NakReason.OTHER, text).text()));
    }

    static Arbitrary<Renew> renews() {
        return Combinators.combine(Arbitraries.integers(), v4().optional(0.7), v6().optional(0.5))
                .as((id, a4, a6) -> new Renew(id, a4.isEmpty() && a6.isEmpty() ? Optional.of(Cidr.parseAddress("10.9.0.2")) : a4, a6));
    }

    static Arbitrary<Release> releases() {
        return Arbitraries.integers().map(Release::new);
    }

    static Arbitrary<Cidr> routes() {
        Arbitrary<Cidr> r4 = Combinators.combine(bytes(4), Arbitraries.integers().between(0, 32))
                .as((b, p) -> new Cidr(AddressMessages.address(b), p).network());
        Arbitrary<Cidr> r6 = Combinators.combine(bytes(16), Arbitraries.integers().between(0, 128))
                .as((b, p) -> new Cidr(AddressMessages.address(b), p).network());
        return Arbitraries.oneOf(r4, r6);
    }

    static Arbitrary<InetAddress> v4() {
        return bytes(4).filter(AddressMessagePropertiesTest::nonZero).map(AddressMessages::address);
    }

    static Arbitrary<InetAddress> v6() {
        return bytes(16).filter(AddressMessagePropertiesTest::nonZero).map(AddressMessages::address);
    }

    static Arbitrary<byte[]> bytes(int n) {
        return Arbitraries.bytes().array(byte[].class).ofSize(n);
    }

    static boolean nonZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return true;
            }
        }
        return false;
    }
}
