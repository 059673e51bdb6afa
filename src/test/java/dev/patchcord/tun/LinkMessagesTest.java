package dev.patchcord.tun;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LinkMessagesTest {
    private static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, NLMSG_DONE = 3;
    private static final int IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_TXQLEN = 13, IFLA_LINKINFO = 18;

    /** Builds netlink messages as the kernel lays them out, in the host's byte order. */
    private static final class Datagram {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Datagram link(int type, int index, byte[]... attributes) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(buf(16).put(0, (byte) 0).putShort(2, (short) 65534).putInt(4, index)
                    .putInt(8, 0x1043).putInt(12, 0).array());
            for (byte[] a : attributes) {
                body.writeBytes(a);
            }
            return message(type, body.toByteArray());
        }

        Datagram message(int type, byte[] body) {
            int len = 16 + body.length;
            bytes.writeBytes(buf(16).putInt(0, len).putShort(4, (short) type).putShort(6, (short) 0)
                    .putInt(8, 0).putInt(12, 0).array());
            bytes.writeBytes(body);
            bytes.writeBytes(new byte[pad(len)]);
            return this;
        }

        ByteBuffer buffer() {
            byte[] b = bytes.toByteArray();
            return ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
        }
    }

    private static ByteBuffer buf(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.nativeOrder());
    }

    private static int pad(int len) {
        return (4 - (len & 3)) & 3;
    }

    private static byte[] attr(int type, byte[] value) {
        int len = 4 + value.length;
        ByteBuffer b = buf(len + pad(len));
        b.putShort(0, (short) len).putShort(2, (short) type).put(4, value);
        return b.array();
    }

    private static byte[] u32(int type, int value) {
        return attr(type, buf(4).putInt(0, value).array());
    }

    private static byte[] name(String ifname) {
        byte[] s = (ifname + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return attr(IFLA_IFNAME, s);
    }

    private static int mtu(ByteBuffer b, int index) {
        return LinkMessages.mtu(b, 0, b.limit(), index);
    }

    @Test
    void readsTheMtuOfANewLinkMessageForTheInterface() {
        ByteBuffer b = new Datagram().link(RTM_NEWLINK, 7, name("wg0"), u32(IFLA_TXQLEN, 500), u32(IFLA_MTU, 34736))
                .buffer();
        assertThat(mtu(b, 7)).isEqualTo(34736);
    }

    @Test
    void ignoresOtherInterfacesAndOtherMessageTypes() {
        ByteBuffer b = new Datagram()
                .link(RTM_NEWLINK, 3, u32(IFLA_MTU, 9000))
                .link(RTM_DELLINK, 7, u32(IFLA_MTU, 1280))
                .message(NLMSG_DONE, new byte[4])
                .buffer();
        assertThat(mtu(b, 7)).isEqualTo(LinkMessages.NONE);
        assertThat(mtu(b, 3)).isEqualTo(9000);
    }

    @Test
    void theLastOfSeveralMessagesInOneDatagramWins() {
        ByteBuffer b = new Datagram()
                .link(RTM_NEWLINK, 7, name("wg0"), u32(IFLA_MTU, 1500))
                .link(RTM_NEWLINK, 9, u32(IFLA_MTU, 1400))
                .link(RTM_NEWLINK, 7, name("x"), u32(IFLA_MTU, 1300))
                .buffer();
        assertThat(mtu(b, 7)).isEqualTo(1300);
    }

    @Test
    void aMessageWithoutAnMtuTellsNothing() {
        ByteBuffer b = new Datagram()
                .link(RTM_NEWLINK, 7, u32(IFLA_MTU, 1500))
                .link(RTM_NEWLINK, 7, name("wg0"))
                .buffer();
        assertThat(mtu(b, 7)).isEqualTo(1500);
        assertThat(mtu(new Datagram().link(RTM_NEWLINK, 7, name("wg0")).buffer(), 7)).isEqualTo(LinkMessages.NONE);
    }

    @Test
    void attributeTypeFlagsAreMaskedAndNestedAttributesSkipped() {
        byte[] nested = attr(IFLA_LINKINFO | 0x8000, attr(1, "tun\0".getBytes()));
        ByteBuffer b = new Datagram().link(RTM_NEWLINK, 7, nested, u32(IFLA_MTU | 0x8000, 1380)).buffer();
        assertThat(mtu(b, 7)).isEqualTo(1380);
    }

    @Test
    void contradictoryLengthsEndTheReadingWithoutThrowing() {
        ByteBuffer good = new Datagram().link(RTM_NEWLINK, 7, u32(IFLA_MTU, 1500)).buffer();
        int len = good.limit();
        // A message longer than the datagram: nothing is read from it.
        ByteBuffer longer = ByteBuffer.wrap(good.array().clone()).order(ByteOrder.nativeOrder());
        longer.putInt(0, len + 4);
        assertThat(mtu(longer, 7)).isEqualTo(LinkMessages.NONE);
        // A message shorter than its header would loop forever if taken at its word.
        ByteBuffer zero = ByteBuffer.wrap(good.array().clone()).order(ByteOrder.nativeOrder());
        zero.putInt(0, 0);
        assertThat(mtu(zero, 7)).isEqualTo(LinkMessages.NONE);
        // An attribute of length 0 or past its message ends that message's attributes.
        ByteBuffer badAttr = ByteBuffer.wrap(good.array().clone()).order(ByteOrder.nativeOrder());
        badAttr.putShort(32, (short) 0);
        assertThat(mtu(badAttr, 7)).isEqualTo(LinkMessages.NONE);
        badAttr.putShort(32, (short) 200);
        assertThat(mtu(badAttr, 7)).isEqualTo(LinkMessages.NONE);
        // An MTU attribute too short for its value.
        ByteBuffer shortMtu = ByteBuffer.wrap(good.array().clone()).order(ByteOrder.nativeOrder());
        shortMtu.putShort(32, (short) 6);
        assertThat(mtu(shortMtu, 7)).isEqualTo(LinkMessages.NONE);
        // Every prefix of a good datagram: no exception, and the MTU only once the attribute is whole.
        for (int n = 0; n <= len; n++) {
            assertThat(LinkMessages.mtu(good, 0, n, 7)).isEqualTo(n == len ? 1500 : LinkMessages.NONE);
        }
    }

    @Test
    void readsOnlyTheGivenRange() {
        ByteBuffer inner = new Datagram().link(RTM_NEWLINK, 7, u32(IFLA_MTU, 1500)).buffer();
        ByteBuffer outer = buf(5 + inner.limit() + 8);
        outer.put(5, inner, 0, inner.limit());
        assertThat(LinkMessages.mtu(outer, 5, inner.limit(), 7)).isEqualTo(1500);
        assertThat(LinkMessages.mtu(outer, 5, inner.limit() + 100, 7)).isEqualTo(LinkMessages.NONE);
        assertThat(LinkMessages.mtu(outer, -1, 4, 7)).isEqualTo(LinkMessages.NONE);
    }

    @Test
    void refusesABufferInTheWrongByteOrder() {
        ByteBuffer b = new Datagram().link(RTM_NEWLINK, 7, u32(IFLA_MTU, 1500)).buffer();
        ByteOrder other = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
        assertThatThrownBy(() -> LinkMessages.mtu(b.order(other), 0, b.limit(), 7))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
