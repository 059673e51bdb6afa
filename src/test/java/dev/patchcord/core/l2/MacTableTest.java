package dev.patchcord.core.l2;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

class MacTableTest {
    private static final long S = 1_000_000_000L;

    @Test
    void readsMacAddressesAndRecognisesGroupAddresses() {
        ByteBuffer b = ByteBuffer.wrap(new byte[]{0, 0x11, 0x22, 0x33, 0x44, 0x55, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x33, 0x33, 0, 0, 0, 1});
        assertThat(MacTable.mac(b, 0)).isEqualTo(0x001122334455L);
        assertThat(MacTable.isGroup(MacTable.mac(b, 0))).isFalse();
        assertThat(MacTable.isGroup(MacTable.mac(b, 6))).as("broadcast").isTrue();
        assertThat(MacTable.isGroup(MacTable.mac(b, 12))).as("IPv6 multicast 33:33:…").isTrue();
    }

    @Test
    void learnsLooksUpAndMoves() {
        MacTable<String> t = new MacTable<>(16, 300 * S);
        t.learn(0xa, "p1", 0);
        t.learn(0xb, "p2", 0);
        assertThat(t.lookup(0xa, S)).isEqualTo("p1");
        t.learn(0xa, "p2", 2 * S); // the station moved
        assertThat(t.lookup(0xa, 3 * S)).isEqualTo("p2");
        assertThat(t.lookup(0xc, 3 * S)).isNull();
        t.learn(0xffffffffffffL, "p1", 0);
        assertThat(t.lookup(0xffffffffffffL, 0)).as("broadcast is never learned").isNull();
    }

    @Test
    void movesCountAnAddressThatChangedPortOrWasPushedOutAndNothingElse() {
        MacTable<String> t = new MacTable<>(2, 300 * S);
        t.learn(0xa, "p1", 0);
        t.learn(0xa, "p1", S);
        t.learn(0xb, "p2", S);
        assertThat(t.moves()).as("new entries and refreshes are not moves").isZero();
        t.learn(0xa, "p2", 2 * S);
        assertThat(t.moves()).as("0xa moved to p2").isEqualTo(1);
        t.learn(0xc, "p1", 3 * S);
        assertThat(t.moves()).as("a full table pushed the eldest out").isEqualTo(2);
    }

    @Test
    void entriesAgeOutExactlyAtTheAgeingTime() {
        MacTable<String> t = new MacTable<>(16, 300 * S);
        t.learn(0xa, "p1", 10 * S);
        assertThat(t.lookup(0xa, 310 * S - 1)).isEqualTo("p1");
        assertThat(t.lookup(0xa, 310 * S)).isNull();
        assertThat(t.size()).isZero();
    }

    @Test
    void theTableIsBoundedAndEvictsTheLeastRecentlyRefreshed() {
        MacTable<String> t = new MacTable<>(3, 300 * S);
        t.learn(1, "p", 0);
        t.learn(2, "p", 0);
        t.learn(3, "p", 0);
        t.lookup(1, 0);
        t.learn(4, "p", 0);
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.lookup(2, 0)).as("least recently used goes first").isNull();
        assertThat(t.lookup(1, 0)).isEqualTo("p");
        assertThat(t.evictions()).isEqualTo(1);
        for (long mac = 100; mac < 10_000; mac++) {
            t.learn(mac, "flooder", 0);
        }
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.evictions()).as("every entry pushed out is counted").isEqualTo(1 + 9_900);
    }

    @Test
    void theDefaultTableHoldsItsCapacityUnderAFloodOfMadeUpAddresses() {
        MacTable<String> t = new MacTable<>(MacTable.DEFAULT_CAPACITY, MacTable.DEFAULT_AGEING);
        for (long mac = 2; mac < 4 * MacTable.DEFAULT_CAPACITY; mac += 2) { // bit 40 clear: unicast
            t.learn(mac << 8, "flooder", 0);
        }
        assertThat(t.size()).isEqualTo(MacTable.DEFAULT_CAPACITY);
        assertThat(t.evictions()).isEqualTo(2L * MacTable.DEFAULT_CAPACITY - 1 - MacTable.DEFAULT_CAPACITY);
    }

    @Test
    void forgettingAPortRemovesItsAddresses() {
        MacTable<String> t = new MacTable<>(16, 300 * S);
        t.learn(1, "p1", 0);
        t.learn(2, "p2", 0);
        t.forget("p1");
        assertThat(t.lookup(1, 0)).isNull();
        assertThat(t.lookup(2, 0)).isEqualTo("p2");
    }

    /** A restart hands the stations over: the next table answers the same, ages on, and evicts in the same order. */
    @Test
    void stationsHandedToAnotherTableKeepPortsAgesAndEvictionOrder() {
        MacTable<String> before = new MacTable<>(3, 300 * S);
        before.learn(0x0200_0000_0001L, "a", 0);
        before.learn(0x0200_0000_0002L, "b", 10 * S);
        before.learn(0x0200_0000_0003L, "a", 20 * S);
        before.lookup(0x0200_0000_0001L, 25 * S); // a lookup refreshes nothing but the access order
        before.learn(0x0200_0000_0004L, "c", 400 * S); // the first three are aged out by now...
        before.learn(0x0200_0000_0005L, "c", 410 * S);
        java.util.List<MacTable.Station<String>> stations = before.stations(415 * S);
        assertThat(stations).extracting(MacTable.Station::mac).containsExactly(0x0200_0000_0004L, 0x0200_0000_0005L);
        assertThat(stations).extracting(MacTable.Station::ageNanos).containsExactly(15 * S, 5 * S);
        // Another process, another clock base.
        MacTable<String> after = new MacTable<>(3, 300 * S);
        long base = 7_000 * S;
        stations.forEach(st -> after.restore(st, base));
        assertThat(after.lookup(0x0200_0000_0004L, base)).isEqualTo("c");
        assertThat(after.lookup(0x0200_0000_0005L, base + 294 * S)).isEqualTo("c");
        assertThat(after.lookup(0x0200_0000_0004L, base + 285 * S)).as("aged out on time").isNull();
        assertThat(after.stations(base)).hasSize(1);
    }
}
