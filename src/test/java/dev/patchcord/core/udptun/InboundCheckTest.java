package dev.patchcord.core.udptun;

import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class InboundCheckTest {
    private static Drop check(byte[] b) {
        return InboundCheck.check(ByteBuffer.wrap(Arrays.copyOf(b, b.length + 100)), b.length);
    }

    @Test
    void aWholeIpv4PacketIsAccepted() {
        assertThat(check(IcmpUnreachableTest.echo(56))).isNull();
        assertThat(check(IcmpUnreachableTest.echo(0))).isNull();
    }

    @Test
    void emptyAndShortDatagramsAreDropped() {
        assertThat(check(new byte[0])).isEqualTo(Drop.EMPTY);
        assertThat(check(Arrays.copyOf(IcmpUnreachableTest.echo(0), 19))).isEqualTo(Drop.RUNT);
    }

    @Test
    void theTotalLengthMustEqualTheDatagramLength() {
        byte[] p = IcmpUnreachableTest.echo(56);
        assertThat(check(Arrays.copyOf(p, p.length - 1))).isEqualTo(Drop.TRUNCATED);
        assertThat(check(Arrays.copyOf(p, p.length + 1))).isEqualTo(Drop.MALFORMED);
    }

    @Test
    void theVersionMustBeFour() {
        byte[] p = IcmpUnreachableTest.echo(56);
        p[0] = 0x65;
        assertThat(check(p)).isEqualTo(Drop.MALFORMED);
        byte[] v6 = new byte[48];
        v6[0] = 0x60;
        v6[5] = 8;
        assertThat(check(v6)).isEqualTo(Drop.MALFORMED);
    }
}
