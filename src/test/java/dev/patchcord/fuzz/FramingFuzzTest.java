package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.EthernetFraming;
import dev.patchcord.core.IpFraming;
import dev.patchcord.core.l2.TapFrames;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a plain tunnel reads from its socket (tinyvpn's IP datagrams, tap2tap's Ethernet frames)
 * and what the TAP mode finds inside a decrypted WireGuard message (a length, then a frame).
 * Contract: the frames handed on lie inside the datagram, one after the other from its start;
 * whatever is not handed on is exactly one counted drop; nothing throws.
 */
class FramingFuzzTest {
    private static final int MTU = 1420;

    @FuzzTest
    void ipFraming(byte[] datagram) {
        Counters counters = new Counters();
        int[] next = {0};
        ByteBuffer buf = ByteBuffer.wrap(datagram);
        boolean delivered = new IpFraming(1500).splitIncoming(buf, datagram.length, (b, off, len) -> {
            assertThat(b).isSameAs(buf);
            assertThat(off).as("frames follow each other").isEqualTo(next[0]);
            assertThat(len).isPositive();
            assertThat(off + len).isLessThanOrEqualTo(datagram.length);
            int version = (datagram[off] & 0xff) >> 4;
            assertThat(version).isIn(4, 6);
            next[0] = off + len;
        }, counters);
        assertThat(delivered).isEqualTo(next[0] > 0);
        boolean whole = datagram.length > 0 && datagram.length <= 1500 && next[0] == datagram.length;
        assertThat(counters.droppedTotal()).as("a datagram not used whole is one drop").isEqualTo(whole ? 0 : 1);
    }

    @FuzzTest
    void ethernetFraming(byte[] datagram) {
        EthernetFraming framing = new EthernetFraming(MTU);
        Counters counters = new Counters();
        int[] frames = {0};
        boolean delivered = framing.splitIncoming(ByteBuffer.wrap(datagram), datagram.length, (b, off, len) -> {
            assertThat(off).isZero();
            assertThat(len).isEqualTo(datagram.length);
            frames[0]++;
        }, counters);
        boolean fits = datagram.length >= EthernetFraming.HEADER && datagram.length <= framing.maxFrame();
        assertThat(delivered).isEqualTo(fits);
        assertThat(frames[0]).isEqualTo(fits ? 1 : 0);
        assertThat(counters.droppedTotal()).isEqualTo(fits ? 0 : 1);
        // The same bounds hold for frames going out, with the same reason.
        Drop outgoing = framing.checkOutgoing(datagram.length);
        if (fits) {
            assertThat(outgoing).isNull();
        } else {
            assertThat(counters.dropped(outgoing)).isEqualTo(1);
        }
    }

    /** A decrypted TAP-mode plaintext (frame and WireGuard's zero padding to 16 bytes), at an offset. */
    @FuzzTest
    void tapFrames(byte[] plain) {
        int off = plain.length % 7;
        ByteBuffer buf = ByteBuffer.allocate(off + plain.length).put(off, plain);
        int n = TapFrames.frameLength(buf, off, plain.length);
        if (n < 0) {
            assertThat(Drop.values()[-n - 1]).isIn(Drop.RUNT, Drop.MALFORMED);
            return;
        }
        assertThat(n).isBetween(TapFrames.ETHERNET_HEADER, plain.length - TapFrames.PREFIX);
        // Round trip: the prefix written for that length reads back as the same length.
        ByteBuffer again = ByteBuffer.allocate(TapFrames.PREFIX + n);
        TapFrames.writePrefix(again, 0, n);
        assertThat(TapFrames.frameLength(again, 0, TapFrames.PREFIX + n)).isEqualTo(n);
    }
}
