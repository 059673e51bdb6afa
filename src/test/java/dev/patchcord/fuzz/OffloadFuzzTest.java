package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.core.IpPackets;
import dev.patchcord.core.offload.EthernetHeader;
import dev.patchcord.core.offload.GroCoalescer;
import dev.patchcord.core.offload.TsoSplitter;
import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.testing.TestPackets;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The offload code between the TUN device and the tunnel: {@link VirtioNetHdr} and
 * {@link TsoSplitter} on what a TUN read returns (header and packet, attacker-shaped when a local
 * program writes it), and {@link GroCoalescer} on decrypted packets from the peer. Contract: the
 * splitter returns a documented error or segments that are whole IP packets with valid checksums;
 * the coalescer never loses or invents a packet, passes what it does not merge unchanged, and what
 * it merges splits back into exactly the segments it was made of.
 */
class OffloadFuzzTest {
    private static final int OFF = VirtioNetHdr.SIZE;
    private static final int SLOTS = 64;
    private static final int SLOT = 66_000;
    /** Reused between inputs: allocating 4 MiB per input would be all the fuzzer measures. */
    private static final ByteBuffer[] OUT = slots();
    private static final ByteBuffer[] IN = slots();
    private static final int[] LENGTHS = new int[SLOTS];
    /** With UDP merging, as a TUN that took USO gets: TCP and UDP flows both. */
    private static final GroCoalescer GRO = new GroCoalescer(SLOTS, true);

    private static ByteBuffer[] slots() {
        ByteBuffer[] b = new ByteBuffer[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            b[i] = ByteBuffer.allocate(SLOT);
        }
        return b;
    }

    private static ByteBuffer[] cleared(ByteBuffer[] slots) {
        for (ByteBuffer b : slots) {
            b.clear();
        }
        return slots;
    }

    /** Whatever a TUN read holds: a documented error, or whole IP packets inside their slots. */
    @FuzzTest
    void split(byte[] read) {
        int slots = 1 + read.length % 8;
        ByteBuffer[] out = Arrays.copyOf(cleared(OUT), slots);
        int n = TsoSplitter.split(ByteBuffer.wrap(read), 0, read.length, out, OFF, LENGTHS);
        if (n < 0) {
            assertThat(n).isIn(TsoSplitter.MALFORMED, TsoSplitter.UNSUPPORTED, TsoSplitter.TOO_MANY_SEGMENTS,
                    TsoSplitter.NO_ROOM);
            return;
        }
        assertThat(n).isBetween(1, slots);
        ByteBuffer header = ByteBuffer.wrap(read);
        if (VirtioNetHdr.gsoType(header, 0) == VirtioNetHdr.GSO_NONE) {
            // One packet, as long as its IP header says, unchanged but for a checksum completed on
            // request. The field held the pseudo-header sum (CHECKSUM_PARTIAL); completed, the
            // range [csum_start, end) and that sum add up to 0xffff, whatever the protocol.
            assertThat(n).isEqualTo(1);
            byte[] in = Arrays.copyOfRange(read, OFF, OFF + IpPackets.length(header, OFF, read.length - OFF));
            byte[] p = bytes(out[0], OFF, LENGTHS[0]);
            assertThat(p).hasSameSizeAs(in);
            if ((VirtioNetHdr.flags(header, 0) & VirtioNetHdr.NEEDS_CSUM) != 0) {
                int start = VirtioNetHdr.csumStart(header, 0);
                int field = start + VirtioNetHdr.csumOffset(header, 0);
                int partial = TestPackets.get16(in, field);
                assertThat(TestPackets.fold(TestPackets.sum(p, start, p.length - start) + partial)).isEqualTo(0xffff);
                in[field] = p[field];
                in[field + 1] = p[field + 1];
            }
            assertThat(p).isEqualTo(in);
            return;
        }
        for (int i = 0; i < n; i++) {
            byte[] p = bytes(out[i], OFF, LENGTHS[i]);
            assertThat(p.length).isBetween(20, read.length - OFF + (n - 1) * 120);
            int version = (p[0] & 0xff) >> 4;
            assertThat(version).isIn(4, 6);
            int claimed = version == 4 ? TestPackets.get16(p, 2) : 40 + TestPackets.get16(p, 4);
            assertThat(claimed).as("segment %d's IP length", i).isEqualTo(p.length);
            // Cut here: every segment's headers and checksums were written here, so must be right.
            assertThat(TestPackets.checksumsValid(p)).as("segment %d of %d: checksums", i, n).isTrue();
        }
    }

    /**
     * A well-formed super-packet of any shape: cut into the segments a NIC would send, each with
     * valid checksums; coalesced again, and cut again, the segments come back byte for byte.
     */
    @FuzzTest
    void splitThenCoalesce(FuzzedDataProvider data) {
        TestPackets.Spec shape = Packets.shape(data);
        int headers = shape.ipHeader() + shape.l4Header();
        int gso = data.consumeInt(1, 1500);
        int payloadLength = data.consumeInt(0, Math.min(SLOTS * gso, 65535 - headers));
        byte[] payload = data.consumeBytes(payloadLength);
        payload = Arrays.copyOf(payload, payloadLength);
        shape.payload = payload;
        byte[] superPacket = TestPackets.superPacket(shape, gso);
        int expected = Math.max(1, (payloadLength + gso - 1) / gso);
        int n = TsoSplitter.split(ByteBuffer.wrap(superPacket), 0, superPacket.length, cleared(OUT), OFF, LENGTHS);
        boolean synOrRst = shape.protocol() == TestPackets.TCP && (shape.flags & 0x06) != 0;
        if (synOrRst && expected > 1) {
            assertThat(n).isEqualTo(TsoSplitter.MALFORMED);
            return;
        }
        assertThat(n).as(TsoSplitter.describe(n)).isEqualTo(expected);
        List<byte[]> segments = new ArrayList<>();
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            byte[] p = bytes(OUT[i], OFF, LENGTHS[i]);
            assertThat(TestPackets.checksumsValid(p)).as("segment %d of %d: checksums", i, n).isTrue();
            assertThat(p.length).isLessThanOrEqualTo(headers + gso);
            joined.write(p, headers, p.length - headers);
            segments.add(p);
        }
        assertThat(joined.toByteArray()).as("the payload, in order").isEqualTo(payload);
        assertThat(hex(resplit(coalesce(segments)))).isEqualTo(hex(segments));
    }

    /**
     * Arbitrary packets, some forced to look like TCP or UDP: none is lost or invented, one that is not
     * merged goes through as it came, and a merged one splits back into as many valid segments.
     */
    @FuzzTest
    void coalesce(FuzzedDataProvider data) {
        int count = data.consumeInt(1, 24);
        List<byte[]> packets = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] p = data.consumeBytes(data.consumeInt(0, 300));
            if (p.length >= 40 && data.consumeBoolean()) {
                // Shaped as TCP or UDP, so the fuzzer need not find the version and protocol
                // bytes first.
                boolean v4 = data.consumeBoolean();
                p[0] = (byte) (v4 ? 0x45 : 0x60);
                p[v4 ? 9 : 6] = (byte) (data.consumeBoolean() ? TestPackets.TCP : TestPackets.UDP);
            }
            packets.add(p);
        }
        List<Output> outputs = coalesce(packets);
        int segments = 0;
        for (Output o : outputs) {
            segments += o.segments();
            assertThat(o.bytes().length).isBetween(OFF, OFF + 65535);
            ByteBuffer b = ByteBuffer.wrap(o.bytes());
            if (o.segments() == 1) {
                assertThat(VirtioNetHdr.flags(b, 0)).isZero();
                assertThat(VirtioNetHdr.gsoType(b, 0)).isZero();
                byte[] packet = Arrays.copyOfRange(o.bytes(), OFF, o.bytes().length);
                assertThat(packets).as("an unmerged packet goes through unchanged")
                        .anySatisfy(p -> assertThat(p).isEqualTo(packet));
            } else {
                List<byte[]> pieces = resplit(List.of(o));
                assertThat(pieces).hasSize(o.segments());
                for (byte[] piece : pieces) {
                    assertThat(TestPackets.checksumsValid(piece)).isTrue();
                }
            }
        }
        assertThat(segments).as("packets in = packets out").isEqualTo(count);
    }

    record Output(byte[] bytes, int segments) {}

    private static List<Output> coalesce(List<byte[]> packets) {
        ByteBuffer[] in = cleared(IN);
        for (int i = 0; i < packets.size(); i++) {
            in[i].put(OFF, packets.get(i));
            assertThat(GRO.add(in[i], OFF, packets.get(i).length)).isTrue();
        }
        int n = GRO.flush();
        assertThat(n).isBetween(packets.isEmpty() ? 0 : 1, packets.size());
        List<Output> outputs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            outputs.add(new Output(bytes(GRO.buffer(i), GRO.offset(i), GRO.length(i)), GRO.segments(i)));
        }
        GRO.clear();
        return outputs;
    }

    private static List<byte[]> resplit(List<Output> outputs) {
        List<byte[]> pieces = new ArrayList<>();
        for (Output o : outputs) {
            int n = TsoSplitter.split(ByteBuffer.wrap(o.bytes()), 0, o.bytes().length, cleared(OUT), OFF, LENGTHS);
            assertThat(n).as("re-splitting an output of %d segments: %s", o.segments(), TsoSplitter.describe(n))
                    .isEqualTo(o.segments());
            for (int i = 0; i < n; i++) {
                pieces.add(bytes(OUT[i], OFF, LENGTHS[i]));
            }
        }
        return pieces;
    }

    private static List<String> hex(List<byte[]> packets) {
        return packets.stream().map(HexFormat.of()::formatHex).toList();
    }

    /**
     * Whatever a TAP read holds: a documented error, the frame whole (no segmentation), or frames
     * that each start with the read's own link header and carry a whole IP packet with valid
     * checksums.
     */
    @FuzzTest
    void splitFrame(byte[] read) {
        int slots = 1 + read.length % 8;
        ByteBuffer[] out = Arrays.copyOf(cleared(OUT), slots);
        int n = TsoSplitter.splitFrame(ByteBuffer.wrap(read), 0, read.length, out, OFF, LENGTHS);
        if (n < 0) {
            assertThat(n).isIn(TsoSplitter.MALFORMED, TsoSplitter.UNSUPPORTED, TsoSplitter.TOO_MANY_SEGMENTS,
                    TsoSplitter.NO_ROOM);
            return;
        }
        assertThat(n).isBetween(1, slots);
        if (VirtioNetHdr.gsoType(ByteBuffer.wrap(read), 0) == VirtioNetHdr.GSO_NONE) {
            assertThat(n).isEqualTo(1);
            assertThat(LENGTHS[0]).isEqualTo(read.length - OFF);
            return;
        }
        int link = EthernetHeader.ipOffset(ByteBuffer.wrap(read), OFF, read.length - OFF);
        assertThat(link).isIn(EthernetHeader.UNTAGGED, EthernetHeader.TAGGED);
        for (int i = 0; i < n; i++) {
            byte[] f = bytes(out[i], OFF, LENGTHS[i]);
            assertThat(Arrays.copyOf(f, link)).isEqualTo(Arrays.copyOfRange(read, OFF, OFF + link));
            byte[] p = Arrays.copyOfRange(f, link, f.length);
            int version = (p[0] & 0xff) >> 4;
            int claimed = version == 4 ? TestPackets.get16(p, 2) : 40 + TestPackets.get16(p, 4);
            assertThat(claimed).as("segment %d's IP length", i).isEqualTo(p.length);
            assertThat(TestPackets.checksumsValid(p)).as("segment %d of %d: checksums", i, n).isTrue();
        }
    }

    /** Any frames to a TAP: none lost or invented, and whatever is not merged goes through unchanged. */
    @FuzzTest
    void coalesceFrames(FuzzedDataProvider data) {
        int count = data.consumeInt(1, SLOTS);
        List<byte[]> frames = new ArrayList<>();
        ByteBuffer[] in = cleared(IN);
        for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
            byte[] f = data.consumeBytes(data.consumeInt(0, 3000));
            frames.add(f);
            in[i].put(OFF, f);
            assertThat(GRO.addFrame(in[i], OFF, f.length)).isTrue();
        }
        int outputs = GRO.flush();
        int segments = 0;
        for (int i = 0; i < outputs; i++) {
            segments += GRO.segments(i);
            if (GRO.segments(i) == 1) {
                byte[] all = bytes(GRO.buffer(i), GRO.offset(i) + VirtioNetHdr.SIZE, GRO.length(i) - VirtioNetHdr.SIZE);
                assertThat(frames).anySatisfy(f -> assertThat(f).isEqualTo(all));
            }
        }
        assertThat(segments).isEqualTo(frames.size());
        GRO.clear();
    }

    private static byte[] bytes(ByteBuffer b, int off, int len) {
        byte[] p = new byte[len];
        b.get(off, p);
        return p;
    }
}
