package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import static dev.patchcord.core.wg.Pair.ipv4;
import static org.assertj.core.api.Assertions.assertThat;

/** Whatever arrives, the node answers with a counted drop or a legitimate result, and never throws. */
class FuzzPropertiesTest {

    @Property(tries = 500)
    void randomDatagramsAreDroppedAndCounted(@ForAll @Size(max = 300) byte[] datagram, @ForAll @IntRange(min = 1, max = 4) int type) {
        Pair p = new Pair();
        p.handshake();
        if (datagram.length >= 4) {
            datagram[0] = (byte) type; // aim at every message type, not just garbage types
            datagram[1] = datagram[2] = datagram[3] = 0;
        }
        long before = p.b.counters().droppedTotal();
        assertThat(p.receive(p.b, datagram)).isNull();
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.b.counters().droppedTotal()).isEqualTo(before + 1);
    }

    @Property(tries = 300)
    void anyMutationOfAValidTransportMessageIsRefused(@ForAll @IntRange(min = 0, max = 10_000) int position,
                                                      @ForAll @IntRange(min = 1, max = 255) int flip) {
        Pair p = new Pair();
        p.handshake();
        byte[] msg = p.seal(p.bAtA, ipv4(1, 2, 100));
        int i = position % msg.length;
        msg[i] ^= (byte) flip;
        assertThat(p.receive(p.b, msg)).isNull();
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
    }

    @Property(tries = 200)
    void anyMutationOfAnInitiationIsRefused(@ForAll @IntRange(min = 0, max = 147) int position,
                                            @ForAll @IntRange(min = 1, max = 255) int flip) {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 10));
        byte[] msg = p.poll(p.bAtA);
        msg[position] ^= (byte) flip;
        p.receive(p.b, msg);
        // mac2 is not checked when not under load, so flipping it alone is harmless by design.
        boolean inMac2 = position >= Protocol.INIT_MAC2;
        if (!inMac2) {
            assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
            // A flipped type byte makes it another message type: refused by size, or (as transport) by index.
            assertThat(p.out.drop()).isIn(Drop.BAD_MESSAGE, Drop.BAD_MAC, Drop.BAD_AUTH, Drop.UNKNOWN_PEER,
                    Drop.UNKNOWN_INDEX);
        }
    }

    @Property(tries = 200)
    void anyMutationOfAResponseIsRefused(@ForAll @IntRange(min = 0, max = 75) int position,
                                         @ForAll @IntRange(min = 1, max = 255) int flip) {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 10));
        p.receive(p.b, p.poll(p.bAtA));
        byte[] response = p.out.reply().clone();
        response[position] ^= (byte) flip;
        p.receive(p.a, response);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.bAtA.hasSession(p.now)).isFalse();
        // The genuine response still works after the forgery.
        p.receive(p.a, unflipped(response, position, flip));
        assertThat(p.bAtA.hasSession(p.now)).isTrue();
    }

    private static byte[] unflipped(byte[] msg, int position, int flip) {
        byte[] m = msg.clone();
        m[position] ^= (byte) flip;
        return m;
    }
}
