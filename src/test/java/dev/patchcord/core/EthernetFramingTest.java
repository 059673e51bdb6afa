package dev.patchcord.core;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import static dev.patchcord.core.IpFramingTest.split;
import static org.assertj.core.api.Assertions.assertThat;

class EthernetFramingTest {
    private final EthernetFraming framing = new EthernetFraming(1458);

    @Test
    void runtArpReplyIsAccepted() {
        // tap2tap does not pad frames: an ARP reply crosses as 42 bytes.
        assertThat(split(framing, new byte[42]).frames()).hasSize(1);
        assertThat(split(framing, new byte[14]).frames()).hasSize(1);
    }

    @Test
    void shorterThanAnEthernetHeaderIsARunt() {
        Counters c = split(framing, new byte[13]).counters();
        assertThat(c.dropped(Drop.RUNT)).isEqualTo(1);
        assertThat(split(framing, new byte[0]).counters().dropped(Drop.EMPTY)).isEqualTo(1);
    }

    @Test
    void oversizeFramesAreDroppedWholeNotTruncated() {
        assertThat(framing.maxFrame()).isEqualTo(1458 + 14 + 4);
        assertThat(split(framing, new byte[1476]).frames()).hasSize(1);
        IpFramingTest.Split s = split(framing, new byte[1477]);
        assertThat(s.frames()).isEmpty();
        assertThat(s.counters().dropped(Drop.OVERSIZE)).isEqualTo(1);
        assertThat(framing.checkOutgoing(1477)).isEqualTo(Drop.OVERSIZE);
    }

    @Property(tries = 300)
    void everyLengthIsDeliveredWholeOrCountedOnce(@ForAll @IntRange(max = 1600) int len) {
        IpFramingTest.Split s = split(framing, new byte[len]);
        boolean valid = len >= 14 && len <= framing.maxFrame();
        assertThat(s.frames()).hasSize(valid ? 1 : 0);
        assertThat(s.counters().droppedTotal()).isEqualTo(valid ? 0 : 1);
        if (valid) {
            assertThat(s.frames().getFirst()).hasSize(len);
        }
    }
}
