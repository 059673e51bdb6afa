package dev.patchcord.transport;

import dev.patchcord.sys.Linux;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

/** Reading and writing the source-address and segment-size control messages, byte for byte. */
class ControlMessagesTest {
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment control = arena.allocate(256, 8);
    private final MemorySegment endpoint = arena.allocate(Endpoint.SIZE, 8);

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    /** Lays one control message at {@code at} as the kernel would; returns the next one's offset. */
    private long put(long at, int level, int type, byte[] data) {
        control.set(JAVA_LONG, at, ControlMessages.HEADER + data.length);
        control.set(JAVA_INT, at + 8, level);
        control.set(JAVA_INT, at + 12, type);
        MemorySegment.copy(data, 0, control, JAVA_BYTE, at + ControlMessages.HEADER, data.length);
        return at + ControlMessages.space(data.length);
    }

    private static byte[] in6Pktinfo(String address, int ifindex) throws Exception {
        byte[] raw = InetAddress.getByName(address).getAddress();
        byte[] out = new byte[20];
        if (raw.length == 4) {
            out[10] = (byte) 0xff;
            out[11] = (byte) 0xff;
            System.arraycopy(raw, 0, out, 12, 4);
        } else {
            System.arraycopy(raw, 0, out, 0, 16);
        }
        MemorySegment.ofArray(out).set(JAVA_INT.withByteAlignment(1), 16, ifindex);
        return out;
    }

    private static byte[] inPktinfo(int ifindex, String specDst, String addr) throws Exception {
        byte[] out = new byte[12];
        MemorySegment.ofArray(out).set(JAVA_INT.withByteAlignment(1), 0, ifindex);
        System.arraycopy(InetAddress.getByName(specDst).getAddress(), 0, out, 4, 4);
        System.arraycopy(InetAddress.getByName(addr).getAddress(), 0, out, 8, 4);
        return out;
    }

    private static byte[] intData(int v) {
        byte[] out = new byte[4];
        MemorySegment.ofArray(out).set(JAVA_INT.withByteAlignment(1), 0, v);
        return out;
    }

    @Test
    void anIpv6DestinationBecomesTheSource() throws Exception {
        long used = put(0, Linux.IPPROTO_IPV6, Linux.IPV6_PKTINFO, in6Pktinfo("fd00:aa::2", 7));
        assertThat(ControlMessages.read(control, 0, used, endpoint)).as("no GRO").isZero();
        assertThat(Endpoint.source(endpoint)).isEqualTo(ip("fd00:aa::2"));
        assertThat(Endpoint.sourceIsV4(endpoint)).isFalse();
    }

    @Test
    void anIpv4MappedDestinationBecomesAnIpv4Source() throws Exception {
        long used = put(0, Linux.IPPROTO_IPV6, Linux.IPV6_PKTINFO, in6Pktinfo("10.9.0.2", 3));
        ControlMessages.read(control, 0, used, endpoint);
        assertThat(Endpoint.source(endpoint)).isEqualTo(ip("10.9.0.2"));
        assertThat(Endpoint.sourceIsV4(endpoint)).isTrue();
    }

    @Test
    void ipPktinfoGivesTheHeaderDestination() throws Exception {
        long used = put(0, Linux.SOL_IP, Linux.IP_PKTINFO, inPktinfo(3, "10.9.0.1", "10.9.0.2"));
        ControlMessages.read(control, 0, used, endpoint);
        assertThat(Endpoint.source(endpoint)).isEqualTo(ip("10.9.0.2"));
    }

    @Test
    void groAndSourceTogetherAreBothRead() throws Exception {
        long at = put(0, Linux.SOL_UDP, Linux.UDP_GRO, intData(1380));
        long used = put(at, Linux.IPPROTO_IPV6, Linux.IPV6_PKTINFO, in6Pktinfo("fd00:aa::1", 2));
        assertThat(ControlMessages.read(control, 0, used, endpoint)).isEqualTo(1380);
        assertThat(Endpoint.source(endpoint)).isEqualTo(ip("fd00:aa::1"));
        // The same at a slot's offset, other order.
        at = put(128, Linux.IPPROTO_IPV6, Linux.IPV6_PKTINFO, in6Pktinfo("10.1.2.3", 2));
        used = put(at, Linux.SOL_UDP, Linux.UDP_GRO, intData(1000)) - 128;
        assertThat(ControlMessages.read(control, 128, used, endpoint)).isEqualTo(1000);
        assertThat(Endpoint.source(endpoint)).isEqualTo(ip("10.1.2.3"));
    }

    @Test
    void noControlDataOrABrokenListLeavesNoSource() throws Exception {
        Endpoint.setSource(endpoint, ip("10.0.0.1"));
        assertThat(ControlMessages.read(control, 0, 0, endpoint)).isZero();
        assertThat(Endpoint.hasSource(endpoint)).as("an old source is cleared").isFalse();

        long used = put(0, Linux.IPPROTO_IPV6, Linux.IPV6_PKTINFO, in6Pktinfo("fd00::5", 1));
        ControlMessages.read(control, 0, used - 8, endpoint);
        assertThat(Endpoint.hasSource(endpoint)).as("cut short (MSG_CTRUNC)").isFalse();

        control.set(JAVA_LONG, 0, 4L); // shorter than a header: the walk stops
        ControlMessages.read(control, 0, used, endpoint);
        assertThat(Endpoint.hasSource(endpoint)).isFalse();

        put(0, Linux.IPPROTO_IPV6, Linux.IPV6_RECVPKTINFO, in6Pktinfo("fd00::5", 1));
        ControlMessages.read(control, 0, used, endpoint);
        assertThat(Endpoint.hasSource(endpoint)).as("another type").isFalse();
    }

    @Test
    void anIpv4SourceIsWrittenAsIpPktinfoWithoutAnInterface() throws Exception {
        Endpoint.setSource(endpoint, ip("10.9.0.2"));
        control.fill((byte) 0x5a);
        long n = ControlMessages.writeSource(control, 8, endpoint);
        assertThat(n).isEqualTo(32); // CMSG_SPACE(sizeof(struct in_pktinfo))
        assertThat(control.get(JAVA_LONG, 8)).isEqualTo(28L); // CMSG_LEN
        assertThat(control.get(JAVA_INT, 16)).isEqualTo(Linux.SOL_IP);
        assertThat(control.get(JAVA_INT, 20)).isEqualTo(Linux.IP_PKTINFO);
        assertThat(control.get(JAVA_INT, 24)).as("ipi_ifindex: routing picks the interface").isZero();
        assertThat(control.asSlice(28, 4).toArray(JAVA_BYTE)).as("ipi_spec_dst").isEqualTo(ip("10.9.0.2").getAddress());
        assertThat(control.asSlice(32, 4).toArray(JAVA_BYTE)).as("ipi_addr (ignored on send)").isEqualTo(ip("10.9.0.2").getAddress());
        assertThat(control.get(JAVA_INT, 36)).as("padding").isZero();
    }

    @Test
    void anIpv6SourceIsWrittenAsIpv6Pktinfo() throws Exception {
        Endpoint.setSource(endpoint, ip("fd00:aa::2"));
        control.fill((byte) 0x5a);
        long n = ControlMessages.writeSource(control, 0, endpoint);
        assertThat(n).isEqualTo(40); // CMSG_SPACE(sizeof(struct in6_pktinfo))
        assertThat(control.get(JAVA_LONG, 0)).isEqualTo(36L);
        assertThat(control.get(JAVA_INT, 8)).isEqualTo(Linux.IPPROTO_IPV6);
        assertThat(control.get(JAVA_INT, 12)).isEqualTo(Linux.IPV6_PKTINFO);
        assertThat(control.asSlice(16, 16).toArray(JAVA_BYTE)).isEqualTo(ip("fd00:aa::2").getAddress());
        assertThat(control.get(JAVA_INT, 32)).as("ipi6_ifindex").isZero();
        assertThat(control.get(JAVA_INT, 36)).as("padding").isZero();
    }

    @Test
    void aSegmentSizeIsWrittenAsUdpSegment() {
        control.fill((byte) 0x5a);
        assertThat(ControlMessages.writeSegment(control, 40, 1372)).isEqualTo(24);
        assertThat(control.get(JAVA_LONG, 40)).isEqualTo(18L);
        assertThat(control.get(JAVA_INT, 48)).isEqualTo(Linux.SOL_UDP);
        assertThat(control.get(JAVA_INT, 52)).isEqualTo(Linux.UDP_SEGMENT);
        assertThat(control.get(JAVA_SHORT, 56)).isEqualTo((short) 1372);
        assertThat(control.get(JAVA_SHORT, 58)).as("padding").isZero();
    }

    @Test
    void whatWasWrittenReadsBack() throws Exception {
        for (String a : new String[]{"192.0.2.44", "2001:db8::44"}) {
            Endpoint.setSource(endpoint, ip(a));
            long used = ControlMessages.writeSource(control, 0, endpoint);
            MemorySegment back = arena.allocate(Endpoint.SIZE, 8);
            ControlMessages.read(control, 0, used, back);
            assertThat(Endpoint.source(back)).isEqualTo(ip(a));
        }
    }

    @Test
    void onlyErrorsASourceCanCauseAreRetriedWithoutIt() {
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.EINVAL)).isTrue();
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.EADDRNOTAVAIL)).isTrue();
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.ENETUNREACH)).isTrue();
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.EMSGSIZE)).isFalse();
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.EAGAIN)).isFalse();
        assertThat(ControlMessages.sourceMayBeAtFault(-Linux.EPERM)).isFalse();
    }
}
