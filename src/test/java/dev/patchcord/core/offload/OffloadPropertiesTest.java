package dev.patchcord.core.offload;

import dev.patchcord.core.offload.GroCoalescerTest.Mutation;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.patchcord.core.offload.GroCoalescerTest.OFF;
import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Whole-batch properties: whatever mix of flows, damage and reordering a batch holds, coalescing
 * loses, invents and reorders nothing within a flow; and no input makes either direction throw.
 */
class OffloadPropertiesTest {
    private final GroCoalescer gro = new GroCoalescer(MAX_SLOTS);
    private final int[] lengths = new int[MAX_SLOTS];

    record Labeled(int flow, byte[] packet) {}

    /**
     * A batch of up to three TCP flows (IPv4 or IPv6, with or without options) and some UDP,
     * interleaved, with some segments damaged, dropped, duplicated or swapped.
     */
    static List<Labeled> batch(Random r) {
        int flows = 1 + r.nextInt(3);
        List<List<byte[]>> perFlow = new ArrayList<>();
        for (int f = 0; f < flows; f++) {
            Spec s = r.nextBoolean() ? new Spec().v6() : new Spec();
            s.sport = 1000 + f;
            s.seq = r.nextInt();
            s.id = r.nextInt(0x10000);
            s.options = r.nextBoolean() ? new byte[0] : payload(4 * (1 + r.nextInt(3)), f);
            int gso = 100 + r.nextInt(1900);
            int count = 1 + r.nextInt(60);
            perFlow.add(new ArrayList<>(GroCoalescerTest.flow(s, gso, count, 1 + r.nextInt(gso))));
        }
        List<Labeled> out = new ArrayList<>();
        int[] next = new int[flows];
        int left = perFlow.stream().mapToInt(List::size).sum();
        while (left > 0) {
            int f = r.nextInt(flows);
            if (next[f] == perFlow.get(f).size()) {
                continue;
            }
            byte[] p = perFlow.get(f).get(next[f]++).clone();
            left--;
            int dice = r.nextInt(100);
            Mutation[] ms = Mutation.values();
            if (dice < 12) {
                Mutation m = ms[1 + r.nextInt(ms.length - 1)];
                p = m.apply(p);
                // A changed port or address makes it a packet of another flow, with its own order.
                int label = m == Mutation.SPORT ? f + 10 : m == Mutation.DST ? f + 20 : f;
                out.add(new Labeled(label, p));
                continue;
            } else if (dice < 14) {
                continue; // lost
            } else if (dice < 16) {
                out.add(new Labeled(f, p.clone())); // duplicated
            } else if (dice < 19 && !out.isEmpty() && out.getLast().flow() == f) {
                out.add(out.size() - 1, new Labeled(f, p)); // overtook its predecessor
                continue;
            }
            out.add(new Labeled(f, p));
            if (r.nextInt(20) == 0) {
                Spec u = new Spec();
                u.udp = true;
                u.payload = payload(r.nextInt(300), r.nextInt());
                out.add(new Labeled(100 + out.size(), build(u)));
            }
        }
        return out.size() > MAX_SLOTS ? out.subList(0, MAX_SLOTS) : out;
    }

    @Property(tries = 300)
    @StatisticsReport(StatisticsReport.StatisticsReportMode.OFF)
    void coalesceThenSplitGivesEveryFlowBackInOrder(@ForAll long seed, @ForAll boolean littleEndian) {
        List<Labeled> in = batch(new Random(seed));
        ByteBuffer[] bufs = slots(littleEndian);
        for (int i = 0; i < in.size(); i++) {
            bufs[i].put(OFF, in.get(i).packet());
            assertThat(gro.add(bufs[i], OFF, in.get(i).packet().length)).isTrue();
        }
        int n = gro.flush();
        // Each flow's packets, in the order they came; every output must continue one of them.
        int[] cursor = new int[in.stream().mapToInt(Labeled::flow).max().orElse(0) + 1];
        ByteBuffer[] resplit = slots(!littleEndian);
        int merged = 0;
        for (int o = 0; o < n; o++) {
            ByteBuffer b = gro.buffer(o);
            int m = TsoSplitter.split(b, gro.offset(o), gro.length(o), resplit, OFF, lengths);
            assertThat(m).isEqualTo(gro.segments(o));
            if (m == 1) {
                assertThat(VirtioNetHdr.flags(b, gro.offset(o))).isZero();
                assertThat(VirtioNetHdr.gsoType(b, gro.offset(o))).isZero();
            } else {
                merged++;
                assertThat(gro.length(o)).isLessThanOrEqualTo(VirtioNetHdr.SIZE + 65535);
            }
            int flow = -1;
            for (int k = 0; k < m; k++) {
                byte[] got = read(resplit[k], OFF, lengths[k]);
                if (k == 0) {
                    flow = flowWhoseNextIs(in, cursor, got);
                    assertThat(flow).as("output %d is nobody's next packet", o).isNotNegative();
                } else {
                    assertThat(nextOf(in, cursor, flow)).as("output %d segment %d", o, k).isEqualTo(got);
                }
                advance(in, cursor, flow);
            }
        }
        for (int f = 0; f < cursor.length; f++) {
            assertThat(nextOf(in, cursor, f)).as("flow %d not all delivered", f).isNull();
        }
        // The property is only worth something if most batches did merge something.
        Statistics.collect(merged > 0 ? "merged" : "nothing merged");
        Statistics.coverage(c -> c.check("merged").percentage(p -> p > 60));
    }

    private static int flowWhoseNextIs(List<Labeled> in, int[] cursor, byte[] packet) {
        for (int f = 0; f < cursor.length; f++) {
            if (Arrays.equals(nextOf(in, cursor, f), packet)) {
                return f;
            }
        }
        return -1;
    }

    /** The next not yet delivered packet of flow {@code f}, or null. */
    private static byte[] nextOf(List<Labeled> in, int[] cursor, int f) {
        for (int i = cursor[f]; i < in.size(); i++) {
            if (in.get(i).flow() == f) {
                return in.get(i).packet();
            }
        }
        return null;
    }

    private static void advance(List<Labeled> in, int[] cursor, int f) {
        int i = cursor[f];
        while (in.get(i).flow() != f) {
            i++;
        }
        cursor[f] = i + 1;
    }

    @Property(tries = 500)
    void splitterSurvivesGarbage(@ForAll @Size(max = 400) byte[] raw, @ForAll @IntRange(max = 6) int type,
                                 @ForAll boolean ip4, @ForAll @IntRange(max = 3) int slots) {
        if (raw.length > 12) {
            raw[1] = (byte) type;
            raw[10] = (byte) (ip4 ? 0x45 : 0x60);
        }
        checkSplit(raw, slots);
    }

    @Property(tries = 500)
    void splitterSurvivesDamagedSuperPackets(@ForAll boolean v6, @ForAll boolean udp, @ForAll @IntRange(max = 5000) int len,
                                            @ForAll @IntRange(min = 1, max = 1500) int gso,
                                            @ForAll @IntRange(max = 100) int position, @ForAll @IntRange(min = 1, max = 255) int flip,
                                            @ForAll @IntRange(max = 8) int cut) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = udp;
        s.payload = payload(len, len);
        byte[] raw = superPacket(s, gso);
        raw[position % raw.length] ^= (byte) flip;
        checkSplit(Arrays.copyOf(raw, raw.length - cut), MAX_SLOTS);
    }

    private void checkSplit(byte[] raw, int slots) {
        ByteBuffer in = ByteBuffer.wrap(raw);
        ByteBuffer[] out = Arrays.copyOf(slots(false), slots);
        int n = TsoSplitter.split(in, 0, raw.length, out, OFF, lengths);
        assertThat(n).isBetween(TsoSplitter.NO_ROOM, slots);
        assertThat(n).isNotZero();
        for (int i = 0; i < n; i++) {
            assertThat(lengths[i]).isBetween(1, raw.length);
        }
    }

    @Property(tries = 300)
    void coalescerSurvivesGarbage(@ForAll @Size(max = 40) List<@Size(max = 120) byte[]> packets,
                                  @ForAll boolean tcp, @ForAll boolean littleEndian) {
        ByteBuffer[] bufs = slots(littleEndian);
        for (int i = 0; i < packets.size(); i++) {
            byte[] p = packets.get(i);
            if (tcp && p.length > 20) {
                p[0] = (byte) (i % 2 == 0 ? 0x45 : 0x60);
                p[9] = 6;
                p[6] = 6;
            }
            bufs[i].put(OFF, p);
            assertThat(gro.add(bufs[i], OFF, p.length)).isTrue();
        }
        int n = gro.flush();
        assertThat(n).isBetween(0, packets.size());
        int segments = 0;
        for (int o = 0; o < n; o++) {
            segments += gro.segments(o);
            assertThat(gro.length(o)).isBetween(VirtioNetHdr.SIZE, VirtioNetHdr.SIZE + 65535);
        }
        assertThat(segments).isEqualTo(packets.size());
    }

    @Test
    void neitherDirectionHangsOnRandomInput() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Random r = new Random(42);
            ByteBuffer[] out = slots(true);
            byte[] raw = new byte[2000];
            for (int i = 0; i < 20_000; i++) {
                r.nextBytes(raw);
                raw[1] = (byte) r.nextInt(7);
                raw[10] = (byte) (r.nextBoolean() ? 0x45 : 0x60);
                int len = r.nextInt(raw.length);
                TsoSplitter.split(ByteBuffer.wrap(raw), 0, len, out, OFF, lengths);
                for (int k = 0; k < 8; k++) {
                    out[k].put(OFF, raw, 10 + k * 200, 200);
                    gro.add(out[k], OFF, r.nextInt(200));
                }
                gro.flush();
            }
        });
    }
}
