package dev.patchcord.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CountersTest {
    @Test
    void summaryNamesEveryNonZeroReason() {
        Counters c = new Counters();
        c.sent(100);
        c.sent(50);
        c.received(84);
        c.drop(Drop.RUNT);
        c.drop(Drop.OVERSIZE);
        c.drop(Drop.OVERSIZE);
        assertThat(c.summary()).isEqualTo(
                "rx 1 packets 84 bytes, tx 2 packets 150 bytes, dropped 3 (runt 1, oversize 2)");
    }

    @Test
    void summaryWithoutDrops() {
        assertThat(new Counters().summary()).isEqualTo("rx 0 packets 0 bytes, tx 0 packets 0 bytes, dropped 0");
    }
}
