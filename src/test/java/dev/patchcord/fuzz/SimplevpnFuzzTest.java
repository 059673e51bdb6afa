package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.core.Counters;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.StreamSplitter;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * simplevpn's TCP stream (raw IP packets and 20-byte control messages back to back, no framing)
 * and its control messages. Contract for the stream: every item handed on is a whole IPv4 or IPv6
 * packet whose own length field gives its length, or a control message (total length 0); how TCP
 * cut the stream into reads changes nothing; garbage stops the stream with exactly one counted
 * drop. For control messages: what is encoded decodes to the same addresses and kind.
 */
class SimplevpnFuzzTest {
    /** Small limits, so that compaction and the oversize check are reached by short inputs. */
    private static final int MAX_PACKET = 1500;
    private static final int STORAGE = 4000;

    record Item(boolean control, byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Item i && i.control == control && Arrays.equals(i.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return (control ? "control " : "packet ") + bytes.length;
        }
    }

    record Run(List<Item> items, boolean inStep, Counters counters) {}

    /** Input: the stream, then (from the back of the input) the sizes of the reads it arrives in. */
    @FuzzTest
    void stream(FuzzedDataProvider data) {
        byte[] stream = data.consumeBytes(data.remainingBytes() * 3 / 4);
        List<Integer> reads = new ArrayList<>();
        while (data.remainingBytes() > 0) {
            reads.add(data.consumeInt(1, 2 * MAX_PACKET));
        }
        Run whole = run(stream, List.of(stream.length));
        Run pieces = run(stream, reads);
        assertThat(pieces.items()).as("cut into reads of %s", reads).isEqualTo(whole.items());
        assertThat(pieces.inStep()).isEqualTo(whole.inStep());
        for (Item item : whole.items()) {
            ByteBuffer b = ByteBuffer.wrap(item.bytes());
            if (item.control()) {
                assertThat(item.bytes()).hasSize(ControlMessage.SIZE);
                assertThat(ControlMessage.isControl(b, 0)).isTrue();
                assertThat(ControlMessage.kind(b, 0)).isNotNull();
            } else {
                int version = (item.bytes()[0] & 0xff) >> 4;
                int claimed = version == 4 ? be16(item.bytes(), 2) : 40 + be16(item.bytes(), 4);
                assertThat(version).isIn(4, 6);
                assertThat(item.bytes()).hasSize(claimed);
                assertThat(claimed).isBetween(20, MAX_PACKET);
            }
        }
        assertThat(whole.counters().droppedTotal()).isEqualTo(whole.inStep() ? 0 : 1);
    }

    private static Run run(byte[] stream, List<Integer> reads) {
        StreamSplitter splitter = new StreamSplitter(ByteBuffer.allocate(STORAGE), MAX_PACKET);
        Counters counters = new Counters();
        List<Item> items = new ArrayList<>();
        StreamSplitter.Sink sink = new StreamSplitter.Sink() {
            @Override
            public void packet(ByteBuffer buf, int off, int len) {
                byte[] p = new byte[len];
                buf.get(off, p);
                items.add(new Item(false, p));
            }

            @Override
            public void control(ByteBuffer buf, int off) {
                byte[] c = new byte[ControlMessage.SIZE];
                buf.get(off, c);
                items.add(new Item(true, c));
            }
        };
        int off = 0;
        boolean inStep = true;
        for (int i = 0; off < stream.length && inStep; i++) {
            int n = Math.min(stream.length - off, i < reads.size() ? reads.get(i) : stream.length);
            inStep = splitter.feed(stream, off, n, sink, counters);
            off += n;
        }
        assertThat(splitter.desynchronised()).isEqualTo(!inStep);
        assertThat(splitter.pending()).isBetween(0, MAX_PACKET);
        return new Run(items, inStep, counters);
    }

    private static int be16(byte[] b, int i) {
        return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
    }

    /** Any 20 bytes have a kind; encoded addresses read back unchanged, with the kind they stand for. */
    @FuzzTest
    void controlMessage(FuzzedDataProvider data) {
        byte[] any = data.consumeBytes(ControlMessage.SIZE);
        if (any.length == ControlMessage.SIZE) {
            ByteBuffer b = ByteBuffer.wrap(any);
            ControlMessage.isControl(b, 0);
            assertThat(ControlMessage.kind(b, 0))
                    .isEqualTo(ControlMessage.kind(ControlMessage.source(b, 0), ControlMessage.destination(b, 0)));
        }
        int src = data.consumeInt();
        int dst = data.consumeInt();
        int off = data.consumeInt(0, 64);
        ByteBuffer out = ByteBuffer.allocate(off + ControlMessage.SIZE);
        ControlMessage.encode(out, off, src, dst);
        assertThat(ControlMessage.isControl(out, off)).isTrue();
        assertThat(ControlMessage.source(out, off)).isEqualTo(src);
        assertThat(ControlMessage.destination(out, off)).isEqualTo(dst);
        assertThat(ControlMessage.kind(out, off)).isEqualTo(ControlMessage.kind(src, dst));
        assertThat(ControlMessage.fromBytes(ControlMessage.toBytes(src))).isEqualTo(src);
        byte[] bytes = ControlMessage.bytes(src, dst);
        assertThat(bytes).isEqualTo(Arrays.copyOfRange(out.array(), off, off + ControlMessage.SIZE));
        // What the splitter sees in a stream is what was encoded.
        List<Item> items = run(bytes, List.of(bytes.length)).items();
        assertThat(items).containsExactly(new Item(true, bytes));
    }
}
