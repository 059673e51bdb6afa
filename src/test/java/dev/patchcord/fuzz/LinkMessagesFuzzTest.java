package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.tun.LinkMessages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rtnetlink link notifications the MTU watch reads. Contract: {@link LinkMessages#mtu} never
 * throws, reads nothing outside the bytes it is given, and answers an MTU (not negative) or
 * {@link LinkMessages#NONE}.
 */
class LinkMessagesFuzzTest {

    @FuzzTest
    void mtu(byte[] bytes) {
        int off = bytes.length % 7;
        ByteBuffer buf = ByteBuffer.allocate(off + bytes.length).order(ByteOrder.nativeOrder());
        buf.put(off, bytes);
        int index = bytes.length > 24 ? buf.getInt(off + 20) : 1;
        int mtu = LinkMessages.mtu(buf, off, bytes.length, index);
        assertThat(mtu == LinkMessages.NONE || mtu >= 0).isTrue();
        // Bytes past the range must not matter: the same answer with garbage after it.
        ByteBuffer longer = ByteBuffer.allocate(off + bytes.length + 64).order(ByteOrder.nativeOrder());
        longer.put(off, bytes);
        for (int i = off + bytes.length; i < longer.limit(); i++) {
            longer.put(i, (byte) 0x41);
        }
        assertThat(LinkMessages.mtu(longer, off, bytes.length, index)).isEqualTo(mtu);
    }
}
