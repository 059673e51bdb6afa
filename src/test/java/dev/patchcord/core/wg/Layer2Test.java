package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.TapFrames;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** TAP mode at the core: any Ethernet frame survives WireGuard's padding exactly, and bad framing is refused. */
class Layer2Test {

    private static Pair tapPair() {
        Pair p = new Pair();
        p.handshake(); // an IP packet, before the nodes switch to frames
        p.a.setLayer2(true);
        p.b.setLayer2(true);
        return p;
    }

    private static byte[] frame(int length, int etherType) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 31 + 7);
        }
        f[12] = (byte) (etherType >> 8);
        f[13] = (byte) etherType;
        return f;
    }

    private static byte[] prefixed(byte[] frame) {
        byte[] plain = new byte[frame.length + TapFrames.PREFIX];
        plain[0] = (byte) (frame.length >> 8);
        plain[1] = (byte) frame.length;
        System.arraycopy(frame, 0, plain, TapFrames.PREFIX, frame.length);
        return plain;
    }

    @Property(tries = 200)
    void framesOfEveryLengthAndTypeArriveExactly(@ForAll @IntRange(min = 14, max = 1418) int length,
                                                 @ForAll @IntRange(min = 0, max = 0xffff) int etherType) {
        Pair p = tapPair();
        byte[] frame = frame(length, etherType);
        byte[] msg = p.seal(p.bAtA, prefixed(frame));
        int sealed = msg.length - 32;
        assertThat(sealed % 16 == 0 || sealed == p.a.mtu()).as("padded to 16, never past the MTU: %d", sealed).isTrue();
        assertThat(p.receive(p.b, msg)).isEqualTo(frame);
    }

    @Test
    void aLengthBeyondThePlaintextOrBelowAHeaderIsRefused() {
        Pair p = tapPair();
        byte[] plain = prefixed(frame(60, 0x0806));
        plain[0] = 0x7f; // claims more than was sent
        assertThat(p.receive(p.b, p.seal(p.bAtA, plain))).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.MALFORMED);

        byte[] tooShort = prefixed(frame(14, 0x0800));
        tooShort[1] = 13;
        assertThat(p.receive(p.b, p.seal(p.bAtA, tooShort))).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.MALFORMED);

        // Seven bytes arrive padded to sixteen: long enough, but the length is below a header.
        assertThat(p.receive(p.b, p.seal(p.bAtA, new byte[]{0, 5, 1, 2, 3, 4, 5}))).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.MALFORMED);
    }

    @Test
    void framesAreNotSubjectToIpCryptokeyRouting() {
        Pair p = tapPair();
        // An IPv4 frame whose inner source is not in A's allowed IPs at B: fine at layer 2.
        byte[] frame = frame(14 + 28, 0x0800);
        frame[14] = 0x45;
        frame[14 + 12] = 10;
        frame[14 + 15] = 77;
        assertThat(p.receive(p.b, p.seal(p.bAtA, prefixed(frame)))).isEqualTo(frame);
    }
}
